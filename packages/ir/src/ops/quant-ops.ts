import type { DType } from '../dtype';
import type { Node } from '../graph';
import { convOutputShape } from './conv';
import { type Dims, defineOp, dtypeOfCode, fmtDims, inDtype, inShape, isNum, normalizeAxis, shapeError, typeOf, unifyDim } from './infer-util';
import { matmulShape } from './linear';

/*
 * Quantization operators: QDQ pairs, the QOperator forms onnxruntime runs
 * (QLinearConv, QLinearMatMul, integer products) and com.microsoft
 * MatMulNBits, the blocked 4-bit weight matmul.
 */

/** Check a scale/zero-point shape against x: scalar (per tensor), [C] at axis (per axis) or blocked. */
function checkQuantParams(node: Node, scaleInput: number): void {
  const x = inShape(node, 0);
  const s = inShape(node, scaleInput);
  const zp = inShape(node, scaleInput + 1);
  if (s && zp) {
    if (s.length !== zp.length) throw shapeError(node, `scale ${fmtDims(s)} and zero point ${fmtDims(zp)} differ in rank`);
    s.forEach((d, i) => unifyDim(node, d, zp[i], 'scale and zero point differ in shape'));
  }
  if (!x || !s || s.length === 0 || (s.length === 1 && s[0] === 1)) return;
  const axis = normalizeAxis(node, node.getInt('axis', 1), x.length);
  const block = node.getInt('block_size', 0);
  if (block > 0) {
    if (s.length !== x.length) throw shapeError(node, `blocked scale ${fmtDims(s)} must have the rank of the input ${fmtDims(x)}`);
    s.forEach((d, i) => {
      const want = i === axis ? (isNum(x[i]) ? Math.ceil((x[i] as number) / block) : null) : x[i];
      unifyDim(node, d, want, `blocked scale (block_size=${block}) does not fit the input ${fmtDims(x)} on axis ${i}`);
    });
    return;
  }
  if (s.length !== 1) throw shapeError(node, `per-axis scale ${fmtDims(s)} must be 1-D`);
  unifyDim(node, s[0], x[axis], `per-axis scale length differs from input ${fmtDims(x)} on axis ${axis}`);
}

defineOp('QuantizeLinear', 'y = saturate(round(x / scale) + zero_point), per tensor, per axis or blocked', (node) => {
  checkQuantParams(node, 1);
  const outAttr = node.getInt('output_dtype', 0);
  const dtype: DType | undefined = inDtype(node, 2) ?? (outAttr ? dtypeOfCode(outAttr) : 'uint8');
  const x = inShape(node, 0);
  return [typeOf(dtype, x && [...x])];
});

defineOp('DequantizeLinear', 'y = (x - zero_point) * scale, per tensor, per axis or blocked', (node) => {
  checkQuantParams(node, 1);
  const x = inShape(node, 0);
  return [typeOf(inDtype(node, 1) ?? 'float32', x && [...x])];
});

defineOp('DynamicQuantizeLinear', 'uint8 quantization with scale and zero point computed from x', (node) => {
  const x = inShape(node, 0);
  return [typeOf('uint8', x && [...x]), typeOf('float32', []), typeOf('uint8', [])];
});

defineOp('QLinearConv', 'convolution of quantized x and w, requantized to y_scale/y_zero_point', (node) => [
  typeOf(inDtype(node, 7) ?? inDtype(node, 0), convOutputShape(node, inShape(node, 0), inShape(node, 3), inShape(node, 8))),
]);

defineOp('QLinearMatMul', 'matmul of quantized a and b, requantized to y_scale/y_zero_point', (node) => [
  typeOf(inDtype(node, 7) ?? inDtype(node, 0), matmulShape(node, inShape(node, 0), inShape(node, 3))),
]);

defineOp('MatMulInteger', 'integer matmul with zero points, int32 result', (node) => [
  typeOf('int32', matmulShape(node, inShape(node, 0), inShape(node, 1))),
]);

defineOp('MatMulNBits', 'A [..., K] x dequantized blocked n-bit B^T [K, N] (attributes K, N, bits, block_size)', (node) => {
  const a = inShape(node, 0);
  const k = node.getInt('K', 0);
  const n = node.getInt('N', 0);
  const bits = node.getInt('bits', 4);
  const block = node.getInt('block_size', 0);
  if (!(k > 0 && n > 0 && block > 0)) throw shapeError(node, 'attributes K, N and block_size must be positive');
  if (a && a.length === 0) throw shapeError(node, 'A must have rank >= 1');
  if (a) unifyDim(node, a[a.length - 1], k, 'the last axis of A differs from attribute K');
  const b = inShape(node, 1);
  if (b) {
    const want: Dims = b.length === 3 ? [n, Math.ceil(k / block), (block * bits) / 8] : [n, Math.ceil(k / block) * ((block * bits) / 8)];
    if (b.length !== want.length) throw shapeError(node, `packed B ${fmtDims(b)} must be [N, k_blocks, blob_size] = ${fmtDims(want)}`);
    b.forEach((d, i) => unifyDim(node, d, want[i], `packed B ${fmtDims(b)} does not fit K=${k}, N=${n}, bits=${bits}, block_size=${block}`));
  }
  return [typeOf(inDtype(node, 0), a ? [...a.slice(0, -1), n] : undefined)];
}, undefined, 'com.microsoft');
