import type { Node } from '@nibble/ir';
import { type CompileContext, type PlannedValue, sizeOf } from '../plan';
import { dequantized as dequantizedFor } from './layer';

/**
 * max(lo, min(hi, x)). On codes, exact when each channel's clamped levels
 * land on a level: then it is a clamp of the codes (Relu: the zero point;
 * ReLU6 on a range that ends at or below 6: nothing above). Otherwise, and
 * on real values, a float64 clamp.
 */
export function clampValue(ctx: CompileContext, node: Node, x: PlannedValue, lo: number, hi: number): PlannedValue {
  const k = ctx.k;
  const n = sizeOf(x.shape);
  const name = node.outputs[0].name;
  if (x.kind === 'codes') {
    const C = x.channels;
    const newLo = new Int32Array(C);
    const newHi = new Int32Array(C);
    let exact = true;
    for (let c = 0; c < C && exact; c++) {
      // A level's value as DequantizeLinear gives it (float32, ONNX's semantics): with a ReLU6 grid
      // of scale f32(0.4), 15 levels are 6.0000000894 in float64 but 6 in float32, so Clip(0, 6)
      // keeps the codes. (The float64 reference clips that level to 6 exactly: 9e-8 apart.)
      const value = (q: number): number => Math.fround((q - x.zeroPoint![c]) * x.scale![c]);
      let l = x.lo![c];
      let h = x.hi![c];
      while (l <= h && value(l) < lo) l++;
      while (h >= l && value(h) > hi) h--;
      // Levels below lo become lo: exact only if lo is the level l itself (likewise hi).
      if (l > x.lo![c] && !(l <= h && value(l) === lo)) exact = false;
      if (h < x.hi![c] && !(h >= l && value(h) === hi)) exact = false;
      newLo[c] = l;
      newHi[c] = h;
    }
    if (exact) {
      const unchanged = newLo.every((v, c) => v === x.lo![c]) && newHi.every((v, c) => v === x.hi![c]);
      // Every level already inside [lo, hi]: the same bytes, no step.
      if (unchanged) return ctx.define(name, { ...x, asCodes: false, buffer: x.buffer });
      const y = ctx.define(name, { ...x, lo: newLo, hi: newHi, asCodes: false, buffer: undefined });
      const pLo = ctx.constant(newLo);
      const pHi = ctx.constant(newHi);
      ctx.emit(node, 'clampCodes', () => k.clampCodes(x.buffer.offset, y.buffer.offset, C, x.inner, pLo, pHi));
      return y;
    }
  }
  const src = x.kind === 'codes' ? dequantizedFor(ctx, node, x) : x;
  const y = ctx.define(name, { kind: 'real', shape: x.shape, channels: x.channels, inner: x.inner });
  ctx.emit(node, 'clipReal', () => k.clipReal(src.buffer.offset, y.buffer.offset, n, lo, hi));
  return y;
}
