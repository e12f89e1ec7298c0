import type { Node } from '@nibble/ir';
import { clampOnGrid, type CodesGrid } from '@nibble/quant';
import { type CompileContext, type PlannedValue, sizeOf } from '../plan';
import { dequantized as dequantizedFor } from './layer';
import { defineTable } from './table';

/**
 * max(lo, min(hi, x)). On codes, exact when each channel's clamped levels
 * land on a level (@nibble/quant clampOnGrid): then it is a clamp of the codes (Relu: the zero point;
 * ReLU6 on a range that ends at or below 6: nothing above). Otherwise, and
 * on real values, a float64 clamp.
 */
export function clampValue(ctx: CompileContext, node: Node, given: PlannedValue, lo: number, hi: number): PlannedValue {
  const k = ctx.k;
  const n = sizeOf(given.shape);
  const name = node.outputs[0].name;
  // A table value (table.ts): clamped in the table, in float32 (bounds as float32 constants).
  if (given.table) {
    const t = given.table;
    const [l, h] = [Math.fround(lo), Math.fround(hi)];
    return defineTable(ctx, name, given.shape, { source: t.source, channels: t.channels, values: t.values.map((v) => Math.min(h, Math.max(l, v))) });
  }
  const x = given;
  const onGrid = x.kind === 'codes' ? clampOnGrid(x as CodesGrid, lo, hi) : undefined;
  if (onGrid) {
    const C = x.channels;
    const { lo: newLo, hi: newHi } = onGrid;
    const unchanged = newLo.every((v, c) => v === x.lo![c]) && newHi.every((v, c) => v === x.hi![c]);
    // Every level already inside [lo, hi]: the same bytes, no step.
    if (unchanged) return ctx.define(name, { ...x, asCodes: false, buffer: x.buffer });
    const y = ctx.define(name, { ...x, lo: newLo, hi: newHi, asCodes: false, buffer: undefined });
    const pLo = ctx.constant(newLo);
    const pHi = ctx.constant(newHi);
    ctx.emit(node, 'clampCodes', () => k.clampCodes(x.buffer.offset, y.buffer.offset, C, x.inner, pLo, pHi));
    return y;
  }
  const src = x.kind === 'codes' ? dequantizedFor(ctx, node, x) : x;
  const y = ctx.define(name, { kind: 'real', shape: x.shape, channels: x.channels, inner: x.inner, f32: x.f32 });
  ctx.emit(node, 'clipReal', () => k.clipReal(src.buffer.offset, y.buffer.offset, n, lo, hi));
  return y;
}
