import type { Node } from '@nibble/ir';
import { convShape, type Geometry, requantizeFloatParams, type ResolvedWeight } from '@nibble/quant';
import { type Buf, channelParams, type CompileContext, intThresholds, type OutputGrid, packThresholds, type PlannedValue, roundedClamped } from '../plan';
import { convKey, convShader } from '../wgsl';
import { emitLayerF64 } from './layer-f64';

/**
 * Weight levels [O][R] as unsigned 4- or 8-bit numbers above a per-output offset, packed into
 * words for the conv shader (wgsl.ts: in a 4-bit word, taps 0-3 in the low nibbles of bytes 0-3,
 * taps 4-7 in the high nibbles). 4 bits whenever each output's levels span at most 16 values, as
 * 4-bit weights always do.
 */
export function packWeights(levels: Float64Array, O: number, R: number, lanes: number): { words: Uint32Array; offsets: Int32Array; wbits: 4 | 8; perOutput: number } | undefined {
  const offsets = new Int32Array(O);
  let span = 0;
  for (let o = 0; o < O; o++) {
    let lo = Infinity, hi = -Infinity;
    for (let r = 0; r < R; r++) {
      lo = Math.min(lo, levels[o * R + r]);
      hi = Math.max(hi, levels[o * R + r]);
    }
    offsets[o] = lo;
    span = Math.max(span, hi - lo);
  }
  if (span > 255) return undefined;
  const wbits = span <= 15 ? 4 : 8;
  const taps = wbits === 4 ? 8 : 4;
  const perOutput = Math.ceil(R / taps);
  const words = new Uint32Array(Math.ceil(O / lanes) * lanes * perOutput);
  for (let o = 0; o < O; o++) {
    for (let r = 0; r < R; r++) {
      const n = levels[o * R + r] - offsets[o];
      const j = r % taps;
      const shift = wbits === 4 ? 8 * (j % 4) + 4 * Math.floor(j / 4) : 8 * j;
      words[o * perOutput + Math.floor(r / taps)] |= n << shift;
    }
  }
  return { words, offsets, wbits, perOutput };
}

/**
 * A conv layer on codes, as the wasm plan decides it (kernels/layer.ts there):
 *  - one input scale per group and no bias-correction shift, depthwise or
 *    group 1: the integer kernels, whose float64 epilogue is t = A * m + c
 *    with m = sx * sw / so and c = bias / so when a QuantizeLinear is fused
 *    (then the codes clamp(round(t) + zo, lo, hi)), else m = sx * sw,
 *    c = bias (the real output);
 *  - one input scale per group otherwise (grouped convs): convCodes with one
 *    segment per group, value ((A * sx) * sw) + bias;
 * both a monotone function of the int32 A, so the shader's A and a
 * threshold table (plan.ts) reproduce them exactly. Per-channel input scales
 * within a group (several segments summed in float64), a float input and a
 * bias-correction shift need float64 sums of several terms: those run the
 * wasm kernels' float64 operations in emulated binary64 (layer-f64.ts).
 */
export function emitLayer(ctx: CompileContext, node: Node, x: PlannedValue, w: ResolvedWeight, bias: Float64Array | undefined, geo: Geometry, outShape?: number[]): PlannedValue {
  const { C, H, W, O, Cg, KH, KW, OH, OW } = convShape(x.shape, w.shape, geo, (m, h) => ctx.fail(node, m, h));
  const G = geo.group;
  // The wasm plan's general kernels (float64 sums of several terms): emulated binary64 on the GPU (layer-f64.ts).
  const general = (): PlannedValue => {
    const y = emitLayerF64(ctx, node, x, w, bias, geo, { C, H, W, O, OH, OW, Cg, KH, KW }, outShape);
    if (y) return y;
    return ctx.fail(node, 'its input is a function of a float64 value (a pending clamp, a sum, a pooled or elementwise value), which the float64 conv does not read', 'run this model with --backend wasm, or quantize it with --target wasm');
  };
  if (x.kind !== 'codes' || !w.integer || x.clamp || w.shift) return general();
  const { scale, zeroPoint } = channelParams(x, C);
  const Og = O / G;
  const R = Cg * KH * KW;
  const depthwise = G === C && O === C && Cg === 1 && geo.dh === 1 && geo.dw === 1 && geo.sh <= 2 && geo.sw <= 2;
  const single = G === 1 && scale.every((s) => s === scale[0]);
  const perGroup = scale.every((s, c) => s === scale[Math.floor(c / Cg) * Cg]);
  if (!perGroup) return general();
  const integer = depthwise || single;
  // Eight (or four) output channels per invocation, sharing each input tap, where a group's outputs come in
  // eights (fours), or there is one group (its weights padded to whole lanes); one otherwise (depthwise).
  // On SwiftShader 16 lanes were no faster than 8, 8 about 1.4x faster than 4 (ResNet-20).
  const lanes: 1 | 4 | 8 = G === 1 || Og % 8 === 0 ? 8 : Og % 4 === 0 ? 4 : 1;
  const packed = packWeights(w.levels, O, R, lanes);
  if (!packed) return ctx.fail(node, 'weight levels span more than 256 values');
  const corr = new Int32Array(O);
  for (let o = 0; o < O; o++) {
    const c0 = Math.floor(o / Og) * Cg;
    let s = 0;
    for (let r = 0; r < R; r++) s += zeroPoint[c0 + Math.floor(r / (KH * KW))] * w.levels[o * R + r];
    corr[o] = s;
  }
  const sx = Float64Array.from({ length: O }, (_, o) => scale[Math.floor(o / Og) * Cg]);
  const b = (o: number): number => (bias ? bias[o] : 0);
  // The real output, a function of A per output channel (the wasm kernels' operations, in their order).
  const value = integer
    ? (o: number, A: number): number => { const { m, c } = requantizeFloatParams(sx[o], w.scale[o], b(o), 1); return A * m + c; }
    : (o: number, A: number): number => (0 + A * sx[o]) * w.scale[o] + b(o);
  const y = ctx.define(node.outputs[0].name, { kind: 'real', base: 'i32', value, shape: outShape ?? [O, OH, OW], channels: O, inner: OH * OW });
  const mode: { out: Buf; q?: OutputGrid } = { out: y.buffer };
  const stepIndex = ctx.steps.length;
  if (integer) {
    y.fuseQuantize = (q, into) => {
      mode.out = into;
      mode.q = q;
      into.def = stepIndex;
      y.buffer.words = 0;
      return true;
    };
  }
  ctx.emit(node, depthwise ? 'convDepthwise' : integer ? 'convGemm' : 'convCodes', () => {
    const q = mode.q;
    const chan = new Int32Array(4 * Math.ceil(O / lanes) * lanes);
    let thr: Int32Array | Float32Array = new Int32Array(1);
    let tmax = 0;
    if (q) {
      const tables = Array.from({ length: O }, (_, o) => {
        const ch = q.channels > 1 ? o : 0;
        const { m, c } = requantizeFloatParams(sx[o], w.scale[o], b(o), q.scale[ch]);
        const zo = q.zeroPoint[ch], lo = q.lo[ch], hi = q.hi[ch];
        return intThresholds((A) => Math.min(hi, Math.max(lo, roundedClamped(A * m + c) + zo)));
      });
      const t = packThresholds(tables, false);
      thr = t.thr;
      tmax = t.tmax;
      for (let o = 0; o < O; o++) {
        chan[4 * o + 2] = t.meta[2 * o];
        chan[4 * o + 3] = t.meta[2 * o + 1];
      }
    }
    for (let o = 0; o < O; o++) {
      chan[4 * o] = packed.offsets[o];
      chan[4 * o + 1] = corr[o];
    }
    const variant = { wbits: packed.wbits, dot4: ctx.dot4, codes: q !== undefined, lanes };
    return {
      key: convKey(variant),
      wgsl: () => convShader(variant),
      bindings: [{ buf: x.buffer }, { data: zeroPoint }, { data: packed.words }, { data: chan }, { data: thr }, { write: mode.out }],
      params: [C, H, W, O, OH, OW, KH, KW, geo.sh, geo.sw, geo.pt, geo.pl, geo.dh, geo.dw, Cg, Og, R, packed.perOutput, tmax],
      groups: [Math.ceil((OH * OW) / 64), Math.ceil(O / lanes)],
    };
  });
  return y;
}
