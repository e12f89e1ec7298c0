import type { Node } from '@nibble/ir';
import { channelScaleOperands } from '@nibble/quant';
import { type Buffer, type CompileContext, type OutputGrid, type PlannedValue } from '../plan';
import { OP } from './elementwise';
import { dequantized } from './layer';
import { codesTable, quantizeF32 } from './table';

/*
 * Mul of a value [C, H, W] by a runtime value [C, 1, 1]: the squeeze-and-
 * excitation scale (PP-OCR's HardSigmoid gate). On codes (or a table of
 * codes) each channel is again a function of the code: per run, the host
 * tabulates float32 v * s_c for the codes that occur (16 at 4 bits) and,
 * when a QuantizeLinear is the only reader, their codes as onnxruntime
 * rounds them (float32 division, half to even); one lookup pass maps the
 * plane. On float64 values, channelOpReal.
 */

/** The scale operand as float64 values (a table looked up, codes dequantized). */
function scaleValues(ctx: CompileContext, node: Node, i: number): PlannedValue {
  const s = ctx.input(node, i);
  return s.kind === 'codes' ? dequantized(ctx, node, s) : s;
}

export function channelScale(ctx: CompileContext, node: Node): boolean {
  // Which operand is the per-channel scale (@nibble/quant, as the WebGPU backend reads it).
  const which = channelScaleOperands(node, (v) => (ctx.isStatic(v) ? undefined : ctx.values.get(v.name)?.shape), (m, h) => ctx.fail(node, m, h));
  if (!which) return false;
  const { xi, si } = which;
  const xs = ctx.values.get(node.inputs[xi]!.name)!.shape;
  const x = ctx.inputLazy(node, xi);
  if (x.clamp) return ctx.fail(node, 'its input is a pending clamp');
  const s = scaleValues(ctx, node, si);
  const [C, H, W] = xs;
  const HW = H * W;
  const name = node.outputs[0].name;
  const k = ctx.k;
  if (x.kind === 'real' && !x.table) {
    const y = ctx.define(name, { kind: 'real', shape: xs, channels: C, inner: HW, f32: x.f32 && s.f32 });
    const f32 = y.f32 ? 1 : 0;
    ctx.emit(node, 'channelOpReal', () => k.channelOpReal(x.buffer.offset, y.buffer.offset, C, HW, OP.MUL, s.buffer.offset, s.buffer.offset, f32));
    return true;
  }
  // x as a function of its source codes, per channel.
  const t = x.table ?? codesTable(x);
  const src = t.source;
  ctx.use(src);
  const y = ctx.define(name, { kind: 'real', shape: xs, channels: C, inner: HW, f32: true });
  const mode: { out: Buffer; q?: OutputGrid } = { out: y.buffer };
  const stepIndex = ctx.steps.length;
  y.fuseQuantize = (q, into) => {
    mode.out = into;
    mode.q = q;
    into.def = stepIndex;
    y.buffer.bytes = 0;
    return true;
  };
  // Scratch: the per-run table, 256 float64 (or 256 codes) per channel.
  ctx.scratch(C * 256 * 8);
  const range = (c: number): [number, number] => {
    const sc = src.channels === 1 ? 0 : c;
    return [src.lo ? src.lo[sc] : 0, src.hi ? src.hi[sc] : 255];
  };
  const small = src.hi && src.hi.every((h) => h < 16) ? 1 : 0;
  const values = t.values;
  const tc = t.channels;
  ctx.emit(node, 'channelScale', () => {
    const buf = k.memory.buffer;
    const sv = new Float64Array(buf, s.buffer.offset, C);
    const q = mode.q;
    if (q) {
      const lut = new Uint8Array(buf, ctx.scratchOffset, C * 256);
      for (let c = 0; c < C; c++) {
        const oc = q.channels === 1 ? 0 : c;
        const [lo, hi] = range(c);
        const row = (tc === 1 ? 0 : c) * 256;
        const sc = Math.fround(sv[c]);
        for (let code = lo; code <= hi; code++) lut[c * 256 + code] = quantizeF32(Math.fround(values[row + code] * sc), q.scale[oc], q.zeroPoint[oc], q.lo[oc], q.hi[oc]);
      }
      k.mapCodes(src.buffer.offset, mode.out.offset, C, HW, ctx.scratchOffset, small);
    } else {
      const table = new Float64Array(buf, ctx.scratchOffset, C * 256);
      for (let c = 0; c < C; c++) {
        const [lo, hi] = range(c);
        const row = (tc === 1 ? 0 : c) * 256;
        const sc = Math.fround(sv[c]);
        for (let code = lo; code <= hi; code++) table[c * 256 + code] = Math.fround(values[row + code] * sc);
      }
      k.lookupReal(src.buffer.offset, mode.out.offset, C, HW, ctx.scratchOffset);
    }
  });
  return true;
}
