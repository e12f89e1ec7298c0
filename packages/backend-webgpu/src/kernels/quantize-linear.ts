import type { Node } from '@nibble/ir';
import { clampedCodeBounds, codesOntoGrid, type CodesGrid, fusableQuantize, tableOntoGrid } from '@nibble/quant';
import { type CompileContext, elementGroups, type PlannedValue, sizeOf } from '../plan';
import { registerKernel } from '../registry';
import { MAP_SHADER } from '../wgsl';
import { quantParams } from './params';
import { emitQuantizeReal, realOfCodes } from './real';

/** Codes onto another grid: the wasm plan's table of what each code becomes (@nibble/quant codesOntoGrid), or the same buffer when every code that occurs maps to itself. */
function mapOrAlias(node: Node, ctx: CompileContext, x: PlannedValue): boolean {
  const p = quantParams(node, ctx, x.shape);
  const n = sizeOf(x.shape);
  const map = codesOntoGrid(x as CodesGrid, p, n);
  if (!map) return false;
  const { L, lo, hi, identity } = map;
  const init = { kind: 'codes' as const, shape: x.shape, channels: p.channels, inner: n / p.channels, scale: p.scale, zeroPoint: p.zeroPoint, lo, hi, container: p.container, asCodes: true };
  if (identity) {
    ctx.define(node.outputs[0].name, { ...init, buffer: x.buffer });
    return true;
  }
  const y = ctx.define(node.outputs[0].name, init);
  const lut = Uint32Array.from(map.lut);
  ctx.emit(node, 'mapCodes', () => ({ key: 'map', wgsl: () => MAP_SHADER, bindings: [{ buf: x.buffer }, { data: lut }, { write: y.buffer }], params: [n, n / L, L], groups: elementGroups(n) }));
  return true;
}

/**
 * A table value (table.ts), behind the lowering's clamp or not, onto the grid: the wasm plan's
 * codes of each source code (@nibble/quant tableOntoGrid: float32 division, as onnxruntime), one
 * map of the source codes. False when the channel layouts do not line up.
 */
function quantizeTable(node: Node, ctx: CompileContext, x: PlannedValue): boolean {
  const t = (x.clamp ? x.clamp.source : x).table!;
  const codes = t.source;
  const p = quantParams(node, ctx, x.shape);
  const map = tableOntoGrid(t, { channels: codes.channels, lo: codes.lo!, hi: codes.hi! }, p, x.clamp, x.shape);
  if (!map) return false;
  const n = sizeOf(x.shape);
  const y = ctx.define(node.outputs[0].name, { kind: 'codes', shape: x.shape, channels: p.channels, inner: n / p.channels, scale: p.scale, zeroPoint: p.zeroPoint, lo: map.lo, hi: map.hi, container: p.container, asCodes: true });
  const lut = Uint32Array.from(map.lut);
  ctx.emit(node, 'mapCodes', () => ({ key: 'map', wgsl: () => MAP_SHADER, bindings: [{ buf: codes.buffer }, { data: lut }, { write: y.buffer }], params: [n, n / map.L, map.L], groups: elementGroups(n) }));
  return true;
}

registerKernel({
  opType: 'QuantizeLinear',
  compile(node, ctx) {
    const given = ctx.input(node, 0);
    if ((given.clamp ? given.clamp.source : given).table && quantizeTable(node, ctx, given)) return;
    if (given.kind === 'codes' && mapOrAlias(node, ctx, given)) return;
    const x = given.kind === 'codes' ? realOfCodes(given) : given;
    const p = quantParams(node, ctx, x.shape);
    const n = sizeOf(x.shape);
    const src = x.clamp ? x.clamp.source : x;
    const { lo, hi } = clampedCodeBounds(p, x.clamp ?? {}, (m, h) => ctx.fail(node, m, h));
    const y = ctx.define(node.outputs[0].name, { kind: 'codes', shape: x.shape, channels: p.channels, inner: n / p.channels, scale: p.scale, zeroPoint: p.zeroPoint, lo, hi, container: p.container, asCodes: true });
    const grid = { channels: p.channels, scale: p.scale, zeroPoint: p.zeroPoint, lo, hi };
    // The integer kernel that made `src` writes these codes itself: no step here.
    if (src.fuseQuantize && fusableQuantize(node, ctx.keep) && src.fuseQuantize(grid, y.buffer)) return;
    emitQuantizeReal(ctx, node, src, grid, y);
  },
});
