import type { Node } from '@nibble/ir';
import { channelScaleOperands, quantizeF32 } from '@nibble/quant';
import { codesRange, type CompileContext, elementGroups, type OutputGrid, type PlannedValue } from '../plan';
import { BROADCAST_SHADER, CHANNEL_PAIR_SHADER } from '../wgsl';
import { PAIR_LIMIT, realOfCodes } from './real';
import { codesTable } from './table';

/*
 * Mul of codes [C, H, W] (or a table of them) by a runtime value [C, 1, 1]:
 * the squeeze-and-excitation scale (PP-OCR's HardSigmoid gate). The wasm
 * plan tabulates, per run, float32 v * s_c for each code and each channel's
 * gate s_c, and the codes onnxruntime rounds them to when a QuantizeLinear
 * is the only reader (float32 division, half to even). Here the gate is a
 * function of one code per channel (its table's, or its dequantized
 * codes'), so the same arithmetic is tabulated once per plan over (gate
 * code, code): one lookup per element, the gate's code read per channel.
 * Read otherwise, the product stays a pair of codes (the gate's broadcast
 * over its channel) and the float32 value of each pair (real.ts).
 */

export function channelScale(ctx: CompileContext, node: Node): boolean {
  const which = channelScaleOperands(node, (v) => (ctx.isStatic(v) ? undefined : ctx.values.get(v.name)?.shape), (m, h) => ctx.fail(node, m, h));
  if (!which) return false;
  const x = ctx.input(node, which.xi);
  if (x.clamp) return ctx.fail(node, 'its input is a pending clamp');
  const given = ctx.input(node, which.si);
  const s = given.kind === 'codes' ? realOfCodes(given) : given;
  if (x.kind === 'real' && !x.table) return ctx.fail(node, 'a float64 value scaled per channel by a runtime value is a float64 product of two runtime values', 'WGSL has no float64: run this model with --backend wasm');
  if (s.base !== 'codes' || !s.codes) return ctx.fail(node, 'the per-channel scale must be a function of codes (a table of them, or their dequantized values)', 'run this model with --backend wasm');
  const [C, H, W] = x.shape;
  const HW = H * W;
  const t = x.table ?? codesTable(x);
  const src = t.source;
  const gate = s.codes;
  // The gate's float32 value per channel and gate code (the wasm kernel's Math.fround of its float64 input).
  const sv = s.value!;
  const gateValue = (c: number, g: number): number => Math.fround(sv(s.channels === 1 ? 0 : c, g));
  const values = t.values;
  const row = (c: number): number => (t.channels === 1 ? 0 : c) * 256;
  const product = (c: number, q: number, g: number): number => Math.fround(values[row(c) + q] * gateValue(c, g));
  const NX = codesRange(src);
  const NS = codesRange(gate);
  const perChannel = t.channels > 1 || s.channels > 1;
  // Unfused: the gate's codes broadcast over its channel beside the codes, a pair per element.
  const spread = ctx.define(`${node.outputs[0].name}#gate`, { ...gate, shape: x.shape, channels: 1, inner: C * HW, asCodes: false, buffer: undefined });
  const y = ctx.define(node.outputs[0].name, {
    kind: 'real', base: 'pair', shape: x.shape, channels: perChannel ? C : 1, inner: perChannel ? HW : C * HW, buffer: src.buffer, f32: true,
    pair: { a: src, b: spread, value: product },
  });
  const mode: { fused?: { q: OutputGrid; into: PlannedValue['buffer'] } } = {};
  y.fuseQuantize = (q, into) => {
    const L = perChannel || q.channels > 1 ? C : 1;
    if (L * NS * NX > PAIR_LIMIT) return ctx.fail(node, `a table of ${L} x ${NS} x ${NX} codes is too large`, 'quantize the activations per tensor (--target wasm), or run with --backend wasm');
    mode.fused = { q, into };
    ctx.use(y);
    ctx.use(gate);
    into.def = ctx.steps.length;
    spread.buffer.words = 0;
    ctx.emit(node, 'channelScale', () => {
      const lut = new Uint32Array(L * NS * NX);
      for (let l = 0; l < L; l++) {
        const oc = q.channels === 1 ? 0 : l;
        for (let g = 0; g < NS; g++) for (let v = 0; v < NX; v++) {
          lut[(l * NS + g) * NX + v] = quantizeF32(product(l, v, g), q.scale[oc], q.zeroPoint[oc], q.lo[oc], q.hi[oc]);
        }
      }
      const n = C * HW;
      return { key: 'channelPair', wgsl: () => CHANNEL_PAIR_SHADER, bindings: [{ buf: src.buffer }, { buf: gate.buffer }, { data: lut }, { write: into }], params: [n, HW, L, NX, NS], groups: elementGroups(n) };
    });
    return true;
  };
  ctx.emit(node, 'broadcastGate', () => (mode.fused ? undefined : {
    key: 'broadcast', wgsl: () => BROADCAST_SHADER, bindings: [{ buf: gate.buffer }, { write: spread.buffer }], params: [C * HW, HW], groups: elementGroups(C * HW),
  }));
  return true;
}
