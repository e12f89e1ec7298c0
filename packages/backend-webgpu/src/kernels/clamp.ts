import type { Node } from '@nibble/ir';
import { clampOnGrid, type CodesGrid } from '@nibble/quant';
import { type CompileContext, elementGroups, type PlannedValue, sizeOf } from '../plan';
import { MAP_SHADER } from '../wgsl';
import { mapReal, realOfCodes } from './real';
import { defineTable } from './table';

/**
 * max(lo, min(hi, x)), decided as the wasm plan's clampValue: on a table
 * value (table.ts), the table clamped in float32 (bounds as float32
 * constants, as onnxruntime's Clip); on codes whose
 * clamped levels land on levels (@nibble/quant clampOnGrid), a clamp of the codes (a table per channel,
 * or nothing when no level moves); otherwise the float64 clip of the value,
 * which stays a function of the same integers (real.ts) until a
 * QuantizeLinear tabulates it.
 */
export function clampValue(ctx: CompileContext, node: Node, x: PlannedValue, lo: number, hi: number): PlannedValue {
  const name = node.outputs[0].name;
  if (x.clamp) return ctx.fail(node, 'its input is a pending clamp');
  if (x.table) {
    const [l, h] = [Math.fround(lo), Math.fround(hi)];
    return defineTable(ctx, name, x.shape, { ...x.table, values: x.table.values.map((v) => Math.min(h, Math.max(l, v))) });
  }
  const onGrid = x.kind === 'codes' ? clampOnGrid(x as CodesGrid, lo, hi) : undefined;
  if (onGrid) {
    const C = x.channels;
    const unchanged = onGrid.lo.every((v, c) => v === x.lo![c]) && onGrid.hi.every((v, c) => v === x.hi![c]);
    if (unchanged) return ctx.define(name, { ...x, asCodes: false, buffer: x.buffer });
    const y = ctx.define(name, { ...x, lo: onGrid.lo, hi: onGrid.hi, asCodes: false, buffer: undefined });
    const lut = new Uint32Array(C * 256);
    for (let c = 0; c < C; c++) for (let q = 0; q < 256; q++) lut[c * 256 + q] = Math.min(onGrid.hi[c], Math.max(onGrid.lo[c], q));
    const n = sizeOf(x.shape);
    ctx.emit(node, 'clampCodes', () => ({ key: 'map', wgsl: () => MAP_SHADER, bindings: [{ buf: x.buffer }, { data: lut }, { write: y.buffer }], params: [n, x.inner, C], groups: elementGroups(n) }));
    return y;
  }
  const real = x.kind === 'codes' ? realOfCodes(x) : x;
  return ctx.define(name, { ...mapReal(real, (v) => Math.min(hi, Math.max(lo, v))), buffer: real.buffer });
}
