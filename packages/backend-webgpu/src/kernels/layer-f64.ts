import type { Node } from '@nibble/ir';
import type { Geometry, ResolvedWeight } from '@nibble/quant';
import { f64Words } from '../f64';
import { channelParams, type CompileContext, IDENTITY, type PlannedValue, sizeOf } from '../plan';
import { CONV_F64_SHADER, F64_INPUT } from '../wgsl-f64';

interface Dims { C: number; H: number; W: number; O: number; OH: number; OW: number; Cg: number; KH: number; KW: number }

/**
 * The wasm plan's general conv kernels, whose float64 sums have no integer form:
 *  - convCodes (codes, integer weights) with several input scales in a group, or a bias-correction
 *    shift: float64 sums of per-segment int32 sums and of the per-channel input sums;
 *  - convReal (the float input, or codes with float weights dequantized in float64): a float64
 *    dot product per output.
 * The GPU performs those float64 operations in the kernels' order with emulated binary64 (f64.ts),
 * so the output is the wasm backend's float64 value bit for bit; it is held as a float64 value
 * (two words per element), and a QuantizeLinear of it is a table of float64 thresholds (real.ts).
 * Undefined when the input is none of those (the caller fails with its reason).
 */
export function emitLayerF64(ctx: CompileContext, node: Node, x: PlannedValue, w: ResolvedWeight, bias: Float64Array | undefined, geo: Geometry, d: Dims, outShape?: number[]): PlannedValue | undefined {
  const { C, H, W, O, OH, OW, Cg, KH, KW } = d;
  if (x.clamp) return undefined;
  const kind = x.kind === 'codes' ? (w.integer ? F64_INPUT.codes : F64_INPUT.dequantized) : x.base === 'f32' ? F64_INPUT.f32 : x.base === 'f64' ? F64_INPUT.f64 : undefined;
  if (kind === undefined) return undefined;
  // A real input is read as it is held: the network input or a float64 value itself, not a function of it (a Relu of it, say).
  if ((kind === F64_INPUT.f32 || kind === F64_INPUT.f64) && x.value !== IDENTITY) return undefined;
  const R = Cg * KH * KW;
  const codes = x.kind === 'codes' ? channelParams(x, C) : { scale: new Float64Array(C), zeroPoint: new Int32Array(C) };
  const segEnd = Uint32Array.from({ length: C }, (_, c) => ((c + 1) % Cg === 0 || codes.scale[c + 1] !== codes.scale[c] ? 1 : 0));
  const weights = kind === F64_INPUT.codes ? Int32Array.from(w.levels) : f64Words(w.levels);
  const chan = new Float64Array(3 * O);
  for (let o = 0; o < O; o++) {
    chan[3 * o] = w.scale[o];
    chan[3 * o + 1] = bias ? bias[o] : 0;
    chan[3 * o + 2] = w.shift ? w.shift[o] : 0;
  }
  const shape = outShape ?? [O, OH, OW];
  const y = ctx.define(node.outputs[0].name, { kind: 'real', base: 'f64', value: IDENTITY, shape, channels: O, inner: OH * OW, buffer: ctx.buffer(2 * sizeOf(shape)) });
  ctx.emit(node, kind === F64_INPUT.codes ? 'convCodesF64' : 'convRealF64', () => ({
    key: 'conv/f64', wgsl: () => CONV_F64_SHADER,
    bindings: [{ buf: x.buffer }, { data: codes.zeroPoint }, { data: f64Words(codes.scale) }, { data: segEnd }, { data: weights }, { data: f64Words(chan) }, { write: y.buffer }],
    params: [C, H, W, O, OH, OW, KH, KW, geo.sh, geo.sw, geo.pt, geo.pl, geo.dh, geo.dw, Cg, O / geo.group, R, w.shift ? 1 : 0, kind],
    groups: [Math.ceil((OH * OW) / 64), O],
  }));
  return y;
}
