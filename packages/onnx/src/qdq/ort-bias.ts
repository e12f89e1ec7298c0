import { constantTensor, createModel, type Graph, type Node, Tensor } from '@nibble/ir';
import { roundHalfEven } from '@nibble/quant';
import { lowerForOrt } from './ort';

/*
 * onnxruntime quantizes float biases itself. Its level-1 transformer
 * WeightBiasQuantization (1.20 and later; on by default, off under
 * disable_quant_qdq) rewrites a Conv, ConvTranspose or Gemm whose input comes
 * from a per-tensor DequantizeLinear and whose weight from a DequantizeLinear
 * (per tensor, or per output channel) and whose bias is a 1-D float constant:
 * the bias becomes DequantizeLinear(int32 q, s) with, all in float32,
 *
 *   s = s_in * s_w,  q = Cast<int32>(Round(b / s)),  b' = float(q) * s,
 *
 * which constant folding then evaluates. Its MatMulAddFusion (also level 1)
 * first makes a MatMul of two such DequantizeLinear outputs, followed by an
 * Add of a constant [N], into a Gemm, so that constant is rewritten the same
 * way (PP-OCRv4 rec's MatMuls, measured: with this alignment onnxruntime at
 * level basic gives the same outputs with and without the rewrite).
 * The layer adds b', not b. The shift
 * is at most half an accumulator unit, yet it flips the rounding of a few
 * outputs (161 of 409,600 in PP-OCRv4 det's first layer) and a network with
 * high-gain depthwise layers turns one flipped level into thirty: the ort
 * file of PP-OCRv4 det read 21.7 dB against nibble's simulation of the same
 * scheme before this alignment.
 *
 * alignBiasesToOrt gives the quantized IR the bias onnxruntime will add, so
 * the simulation computes what onnxruntime computes, and picks it as a fixed
 * point of the rewrite: onnxruntime quantizing b' again gives b' back. A
 * bias whose Round(b / s) leaves int32 (a dead channel: weights near 0, scale
 * near 0) would be cast to int32 by a C++ static_cast, which x86 and ARM do
 * not agree on; such a bias is first brought to the largest multiple of s
 * that int32 holds (it is far below anything the layer's output grid sees).
 */

const OPS = new Set(['Conv', 'ConvTranspose', 'Gemm']);
/** The largest |q| kept: below 2^31 by a margin that float32's rounding of q near 2^31 (steps of 128) cannot cross. */
const Q_LIMIT = 2 ** 31 - 256;

/** onnxruntime's rewrite of one bias value: b' = f32(f32(q) * s), q = Round(f32(b / s)) (half to even), s = f32(s_in * s_w). */
function ortQuantizedBias(b: number, s: number): number {
  const q = roundHalfEven(Math.fround(b / s));
  return Math.fround(Math.fround(q) * s);
}

/** The bias onnxruntime adds for `b` at bias scale `s`, chosen as a fixed point of its rewrite (see above). */
function alignedBias(b: number, s: number): number {
  if (!(s > 0) || !Number.isFinite(b)) return b;
  let x = b;
  if (Math.abs(Math.fround(x / s)) > Q_LIMIT) x = Math.sign(x) * Math.fround(Q_LIMIT * s);
  for (let i = 0; i < 4; i++) {
    const y = ortQuantizedBias(x, s);
    if (y === x) return x;
    x = y;
  }
  return x;
}

/** The scalar scale of a DequantizeLinear output, or undefined. */
function dequantizeScales(n: Node | null | undefined): Float64Array | undefined {
  if (!n || n.opType !== 'DequantizeLinear') return undefined;
  return constantTensor(n.inputs[1] ?? null)?.toFloat64();
}

/**
 * Bias scales s = f32(s_in * s_w) of a lowered Conv/ConvTranspose/Gemm that
 * onnxruntime's rewrite applies to (its own conditions), or undefined.
 */
function ortBiasScales(node: Node, channels: number): Float64Array | undefined {
  const sIn = dequantizeScales(node.inputs[0]?.producer);
  const wdq = node.inputs[1]?.producer;
  const sW = dequantizeScales(wdq);
  if (!sIn || sIn.length !== 1 || !sW || !wdq) return undefined;
  if (sW.length !== 1) {
    // Per channel: one scale per bias value, along the weight's output axis: 0 for Conv ([O, C, kh, kw]), 1 for
    // ConvTranspose ([C, O, kh, kw]; onnxruntime 1.30 quantizes those biases too, measured on PP-OCRv4 det), for Gemm 1
    // without transB and 0 with it.
    // A MatMul's weight is [K, N]: the Gemm it becomes has transB = 0.
    const expected = node.opType === 'Gemm' ? (node.getInt('transB', 0) === 0 ? 1 : 0) : node.opType === 'ConvTranspose' || node.opType === 'MatMul' ? 1 : 0;
    if (sW.length !== channels || wdq.getInt('axis', 1) !== expected) return undefined;
  }
  return Float64Array.from({ length: channels }, (_, c) => Math.fround(sIn[0] * sW[sW.length === 1 ? 0 : c]));
}

/**
 * The float bias a lowered layer adds, as the quantized IR holds it: the
 * layer's own third input, or for a MatMul the constant of the Add that
 * onnxruntime's MatMulAddFusion (level 1) folds into the Gemm it makes (the
 * MatMul's one consumer, its other input a constant of N values). Undefined
 * where onnxruntime quantizes no bias.
 */
function biasSite(graph: Graph, low: Node): { node: Node; index: number } | undefined {
  if (OPS.has(low.opType)) {
    const node = graph.node(low.name);
    return node && node.inputs[2] ? { node, index: 2 } : undefined;
  }
  if (low.opType !== 'MatMul') return undefined;
  const weight = low.inputs[1]?.producer?.inputs[0];
  const uses = low.outputs[0].uses;
  if (!weight || constantTensor(weight)?.shape.length !== 2 || uses.length !== 1 || uses[0].node.opType !== 'Add' || low.outputs[0].isGraphOutput) return undefined;
  const add = graph.node(uses[0].node.name);
  if (!add) return undefined;
  const index = add.inputs.findIndex((v) => v !== null && constantTensor(v) !== undefined && !v.producer);
  const n = constantTensor(weight)!.shape[1];
  const b = index >= 0 ? constantTensor(add.inputs[index]) : undefined;
  // The fusion takes a bias of shape [N] (or [1, N]) only.
  if (!b || b.size !== n || !(b.shape.length === 1 || (b.shape.length === 2 && b.shape[0] === 1))) return undefined;
  return { node: add, index };
}

/**
 * Gives each Conv/ConvTranspose/Gemm of a quantized IR (quantized for the
 * `ort` target), and each MatMul followed by an Add of a constant, the bias
 * onnxruntime adds once its WeightBiasQuantization has run on the ort file.
 * Returns the number of layers whose bias changed.
 */
export function alignBiasesToOrt(graph: Graph): number {
  const lowered = lowerForOrt(createModel(graph)).graph;
  let changed = 0;
  for (const low of lowered.nodes) {
    const site = biasSite(graph, low);
    if (!site) continue;
    const bias = site.node.inputs[site.index]!;
    const tensor = constantTensor(bias);
    const values = tensor?.toFloat64();
    if (!tensor || !values || bias.producer || (low.opType !== 'MatMul' && tensor.shape.length !== 1)) continue;
    const scales = ortBiasScales(low, values.length);
    if (!scales) continue;
    const aligned = values.map((b, c) => alignedBias(b, scales[c]));
    if (aligned.every((v, c) => v === values[c])) continue;
    // A fresh initializer: the old one may be shared with another layer; it keeps the old name when nothing else reads it.
    const fresh = graph.addInitializer(graph.uniqueName(`${bias.name}_ort`), Tensor.from('float32', tensor.shape, aligned));
    site.node.replaceInput(site.index, fresh);
    if (bias.isInitializer && bias.uses.length === 0 && !bias.isGraphOutput && !bias.isGraphInput) {
      const name = bias.name;
      graph.removeInitializer(bias);
      fresh.rename(name);
    }
    changed++;
  }
  return changed;
}
