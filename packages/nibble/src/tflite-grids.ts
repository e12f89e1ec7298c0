import { definePass, registerPass } from '@nibble/core';
import { NibbleError, type Node, type QuantAnnotation, type Value } from '@nibble/ir';
import { paramsFromRange, paramsOfAnnotation, representableRange } from '@nibble/quant';

/*
 * tflite-grids: the grids TFLite's int8 kernels dictate, put into the
 * quantized IR after `quantize` so that the simulation computes on them
 * (the tflite targets append it before tflite-bias):
 *
 * - LOGISTIC writes scale 1/256 and zero point -128 whatever the data
 *   (its kernel checks both): every Sigmoid output gets that grid (in
 *   nibble's unsigned view: levels 0..255, zero point 0).
 * - CONCATENATION copies int8 levels, so its inputs and output must share
 *   one scale and zero point (TFLite 2.9 checks that too): the values a
 *   Concat reads (traced back through ops that keep their input's levels)
 *   and its output get one grid covering all their ranges at the widest
 *   of their bit-widths. No requantization is left for the file to do.
 */

/** Ops whose output is on their input's grid in the tflite writer (its aliases and keepGrid forms without a grid of their own). */
const KEEPS_LEVELS = new Set(['MaxPool', 'Flatten', 'Reshape', 'Squeeze', 'Unsqueeze', 'Identity', 'Transpose', 'Dropout', 'Pad', 'Resize', 'Upsample', 'Relu', 'Clip']);

function perTensor(lo: number, hi: number, bits: number, name: string): QuantAnnotation {
  const params = paramsFromRange({ lo: [lo], hi: [hi], bits: [bits], axis: null, signed: false, name });
  const r = representableRange(params);
  return { axis: null, bits: params.bits, signed: false, scale: params.scale, zeroPoint: params.zeroPoint, range: { lo: r.lo.map((x) => x + 0), hi: r.hi }, rangeSource: 'tflite-grids' };
}

/** The annotated value whose grid `v` carries in the file: v itself, or the first annotated value up a chain of level-keeping ops. */
function gridSource(v: Value): Value | undefined {
  for (let x: Value | null | undefined = v; x;) {
    if (x.quant?.scale) return x;
    const p: Node | null = x.producer;
    if (!p || !KEEPS_LEVELS.has(p.opType)) break;
    x = p.inputs[0];
  }
  return undefined;
}

/**
 * One grid for a Concat's inputs and output. A Concat reading a value
 * without a grid (an op the writer has no int8 form for, whose refusal
 * names it) is left alone.
 */
function shareConcatGrid(n: Node): boolean {
  const y = n.outputs[0];
  const found = n.inputs.filter((v): v is Value => v !== null).map((v) => gridSource(v));
  if (found.some((s) => s === undefined)) return false;
  const sources = [...new Set([...(found as Value[]), ...(y.quant?.scale ? [y] : [])])];
  let lo = Infinity;
  let hi = -Infinity;
  let bits = 0;
  for (const s of sources) {
    const p = paramsOfAnnotation(s.quant!, s.name);
    if (p.scale.length !== 1) {
      throw new NibbleError('E_INVALID_GRAPH', `tflite-grids: '${s.name}' read by Concat '${n.name}' is quantized per channel`, {
        node: n.name, value: s.name, pass: 'tflite-grids', hint: 'quantize activations per tensor (quant-policy{per-channel-activations=false})',
      });
    }
    const r = representableRange(p);
    lo = Math.min(lo, r.lo[0]);
    hi = Math.max(hi, r.hi[0]);
    bits = Math.max(bits, p.bits[0]);
  }
  const shared = perTensor(lo, hi, bits, y.name);
  const same = (a: QuantAnnotation) => a.scale![0] === shared.scale![0] && a.zeroPoint![0] === shared.zeroPoint![0] && a.bits![0] === shared.bits![0] && a.signed === false;
  if (sources.every((s) => same(s.quant!)) && y.quant?.scale && same(y.quant)) return false;
  for (const s of sources) s.quant = { ...shared };
  y.quant = { ...shared };
  return true;
}

export const tfliteGridsPass = definePass({
  name: 'tflite-grids',
  summary: 'put Sigmoid outputs on LOGISTIC\'s fixed grid (1/256) and give each Concat\'s inputs and output one shared grid, as TFLite\'s int8 kernels require',
  run(graph, ctx) {
    let logistic = 0;
    let concats = 0;
    for (const n of graph.nodes) {
      if (n.opType === 'Sigmoid' && n.outputs[0].quant?.scale) {
        const a = n.outputs[0].quant;
        if (!(a.scale![0] === 1 / 256 && a.zeroPoint![0] === 0 && a.bits![0] === 8 && !a.signed)) {
          n.outputs[0].quant = { axis: null, bits: Int32Array.of(8), signed: false, scale: Float64Array.of(1 / 256), zeroPoint: Int32Array.of(0), range: { lo: Float64Array.of(0), hi: Float64Array.of(255 / 256) }, rangeSource: 'tflite-grids' };
          logistic++;
        }
      }
      if (n.opType === 'Concat' && shareConcatGrid(n)) concats++;
    }
    ctx.report.record('grids', { logistic, concats });
    return { graph, modified: logistic + concats > 0 };
  },
});
registerPass(tfliteGridsPass);
