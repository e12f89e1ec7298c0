import { cloneModel, constantTensor, type Graph, type Model, NibbleError, type Node, Tensor, type Value } from '@nibble/ir';
import { representableRange } from '@nibble/quant';
import { lowerToQdq } from './lower';

/*
 * The `ort` target: ONNX QDQ laid out the way onnxruntime's QDQ transformers
 * (level 2, "extended", on by default) recognise it, so that Conv, Gemm,
 * MatMul, Add, MaxPool and GlobalAveragePool run in its integer kernels
 * (QLinearConv, QGemm, QLinearMatMul, QLinearAdd, QLinearGlobalAveragePool,
 * uint8 MaxPool). Its groups are DequantizeLinear -> op -> QuantizeLinear with
 * per-tensor uint8/int8 activations and int8 weights (per channel, zero point
 * 0). The quantized IR must already be quantized under those constraints
 * (the target's pass options); this writer only moves operators, never
 * values:
 *
 * - A one-sided value's annotation moves past its Relu (Relu(fq(x)) =
 *   fq(Relu(x)) when the grid starts at 0), so onnxruntime sees
 *   op -> Relu -> Q and drops the Relu into the Q's saturation.
 * - A per-tensor annotation is copied through grid-preserving ops (MaxPool,
 *   Flatten, Reshape, ...): their outputs hold the input's grid points, which
 *   Q/DQ of the same parameters reproduce, and onnxruntime then drops the
 *   pair around them.
 * - int4 weights are stored as int8 (the same levels) and 4-bit activation
 *   grids in uint8, clamped after the integer kernel (lower.ts, clamp=after).
 */

const GRID_PRESERVING = new Set(['MaxPool', 'Flatten', 'Reshape', 'Squeeze', 'Unsqueeze', 'Identity', 'Transpose']);

function isOnnx(n: Node): boolean {
  return n.domain === '' || n.domain === 'ai.onnx';
}

/** A target constraint the model does not meet: names the node, the value and the constraint. */
export function targetConstraintError(target: string, constraint: string, node: Node | undefined, value: Value | undefined, why: string, hint: string): NibbleError {
  const where = [node && `node '${node.name}' (${node.opType})`, value && `value '${value.name}'`].filter(Boolean).join(', ');
  return new NibbleError('E_UNSUPPORTED', `target ${target}: ${where}: ${why} (constraint: ${constraint})`, {
    node: node?.name, op: node?.opType, value: value?.name, option: 'target', hint,
  });
}

function isWeightDequantize(n: Node): boolean {
  return n.opType === 'DequantizeLinear' && isOnnx(n) && constantTensor(n.inputs[0]) !== undefined;
}

/** Refuse what onnxruntime's integer kernels cannot hold, naming the node and the constraint. */
function checkConstraints(g: Graph): void {
  for (const n of g.nodes) {
    for (const v of n.outputs) {
      if (!v.quant?.scale || isWeightDequantize(n)) continue;
      if (v.quant.axis !== null) {
        throw targetConstraintError('ort', 'per-tensor activation scales', n, v, `the activation is quantized per channel along axis ${v.quant.axis}`,
          'quantize with the target\'s plan (quant-policy{per-channel-activations=false}): nibble quantize --target ort');
      }
    }
    if (!isWeightDequantize(n)) continue;
    const w = n.outputs[0];
    const zp = constantTensor(n.inputs[2] ?? null);
    const reader = w.uses[0]?.node;
    if (zp && zp.toFloat64().some((z) => z !== 0)) {
      throw targetConstraintError('ort', 'symmetric weights (zero point 0)', reader ?? n, w, 'the weight has non-zero zero points',
        'quantize with the target\'s plan (quantize{symmetric-weights=true}, bias-correct{fold=bias,zero-point=false})');
    }
    if (w.uses.some((u) => u.node.opType === 'Add')) {
      throw targetConstraintError('ort', 'integer weights', w.uses[0].node, w, 'the weight is corrected by a float Add (bias-correct fold=exact)',
        'use bias-correct{fold=bias}, which folds the correction into the bias');
    }
  }
}

/** int4 weight levels stored as int8: onnxruntime's integer Conv/Gemm kernels read int8 only. */
function widenWeights(g: Graph): void {
  for (const n of g.nodes) {
    if (!isWeightDequantize(n)) continue;
    for (const i of [0, 2]) {
      const v = n.inputs[i];
      const t = v && constantTensor(v);
      if (!v || !t || t.dtype !== 'int4') continue;
      const wide = g.addInitializer(g.uniqueName(`${v.name}_int8`), Tensor.from('int8', t.shape, t.toFloat64()));
      n.replaceInput(i, wide);
      if (v.uses.length === 0 && !v.isGraphOutput) g.removeInitializer(v);
    }
  }
}

function representableLo(v: Value): Float64Array | undefined {
  const q = v.quant;
  if (!q?.scale || !q.zeroPoint || !q.bits) return undefined;
  return representableRange({ scale: q.scale, zeroPoint: q.zeroPoint, bits: q.bits, axis: q.axis, signed: q.signed ?? false }).lo;
}

/** Clip(x, 0, max) as written, or undefined when its bounds are not constants with min 0. */
function clipFromZero(n: Node): number | undefined {
  const min = constantTensor(n.inputs[1] ?? null)?.toFloat64()[0] ?? -Infinity;
  const max = constantTensor(n.inputs[2] ?? null)?.toFloat64()[0] ?? Infinity;
  return min === 0 ? max : undefined;
}

/** The float32 top of the nudged grid may exceed a ReLU6's 6 by an ulp; closer than this counts as inside. */
const ULP_TOLERANCE = 1e-6;

/**
 * Move the annotation of a one-sided value past the Relu (or Clip(0, max)
 * covering the grid) that is its only reader. A Clip in front of a grid
 * narrower than uint8 becomes a Relu: the clamp after the integer kernel
 * (lower.ts, clamp=after) ends at the grid's top, which is the Clip's max
 * to the ulp, and onnxruntime drops a Relu into a QuantizeLinear of zero
 * point 0 where it keeps a Clip whose max lies inside the uint8 range.
 */
function moveAcrossRelu(g: Graph): void {
  for (const n of [...g.nodes]) {
    if (!isOnnx(n) || (n.opType !== 'Relu' && n.opType !== 'Clip')) continue;
    const x = n.inputs[0];
    let y = n.outputs[0];
    if (!x?.quant?.scale || y.quant || x.uses.length !== 1 || x.isGraphOutput) continue;
    const lo = representableLo(x);
    if (!lo || lo.some((l) => l !== 0)) continue;
    if (n.opType === 'Clip') {
      const max = clipFromZero(n);
      if (max === undefined || Array.from(x.quant.range?.hi ?? []).some((h) => h > max * (1 + ULP_TOLERANCE))) continue;
      if (!y.isGraphOutput && Array.from(x.quant.bits ?? []).every((b) => b < 8)) {
        const relu = g.addNode({ opType: 'Relu', name: g.uniqueName(`${n.name}_relu`), inputs: [x], outputs: [g.uniqueName(`${y.name}_relu`)] }, g.indexOf(n));
        relu.outputs[0].type = y.type && { dtype: y.type.dtype, shape: y.type.shape && [...y.type.shape] };
        y.replaceAllUsesWith(relu.outputs[0]);
        const bounds = n.inputs.slice(1);
        g.removeNode(n);
        // The Clip's min and max constants, read by nothing now (onnxruntime warns about each unused initializer).
        for (const b of bounds) if (b && b.isInitializer && b.uses.length === 0 && !b.isGraphOutput && !b.isGraphInput) g.removeInitializer(b);
        y = relu.outputs[0];
      }
    }
    y.quant = x.quant;
    delete x.quant;
  }
}

/** Copy per-tensor annotations through ops whose outputs hold their input's grid points. */
function propagateGrids(g: Graph): void {
  for (const n of g.nodes) {
    if (!isOnnx(n) || !GRID_PRESERVING.has(n.opType)) continue;
    const x = n.inputs[0];
    const y = n.outputs[0];
    if (!x?.quant?.scale || x.quant.axis !== null || y.quant || !y.type || !y.type.dtype.startsWith('float')) continue;
    y.quant = x.quant;
  }
}

/**
 * The `ort` target's ONNX model: QDQ that onnxruntime's default optimizations
 * fuse into integer kernels, computing what the simulation of the same
 * (constrained) quantized IR computes, up to the integer kernels' own
 * requantization rounding and their rounding of a float bias to
 * input_scale x weight_scale. Throws E_UNSUPPORTED naming the node and the
 * constraint when the IR was not quantized under the target's constraints.
 */
export function lowerForOrt(model: Model): Model {
  const m = cloneModel(model);
  const g = m.graph;
  checkConstraints(g);
  widenWeights(g);
  moveAcrossRelu(g);
  propagateGrids(g);
  return lowerToQdq(m, { minContainerBits: 8, clamp: 'after' });
}
