import { type Dim, type DType, type Graph, type Model, NibbleError, type Node, type Tensor, type Value } from '@nibble/ir';

/*
 * The last check before nibble writes an ONNX file. onnxruntime trusts a
 * QuantizeLinear/DequantizeLinear node's scale, zero point and axis to agree
 * with its input, and a packed int4 initializer's byte length to agree with
 * its shape; when they do not, it may read or write past a buffer instead
 * of failing cleanly. (A user saw onnxruntime-node 1.30 abort with
 * `free(): invalid next size` on a nibble file; docs/batch-invariance.md records
 * what was and was not reproduced.) So every inconsistency we can see
 * statically is refused here, with all problems listed in one error.
 *
 * The IR has no bfloat16 or float8 dtypes, so those types cannot reach the
 * writer; every type outside the tables below is refused.
 */

export interface ValidateOnnxOptions {
  /** The file the model is written to, named in the error. */
  file?: string;
}

interface Problem {
  node?: Node;
  value?: Value;
  message: string;
  hint: string;
}

/** Problems listed in full in the error message; the rest are counted. */
const MAX_LISTED = 8;

/** The first default-domain opset at which each quantized type may appear (DequantizeLinear reads int32 too). */
const QUANT_TYPE_OPSET: Partial<Record<DType, number>> = { int8: 10, uint8: 10, int16: 21, uint16: 21, int4: 21, uint4: 21 };
/** Scale types: float16 (and bfloat16, which the IR cannot hold) came with opset 19. */
const SCALE_TYPE_OPSET: Partial<Record<DType, number>> = { float32: 10, float16: 19 };
/** ONNX TensorProto codes of QuantizeLinear's output_dtype attribute (opset 21) that the IR can hold. */
const ONNX_QUANT_CODES: Record<number, DType> = { 2: 'uint8', 3: 'int8', 4: 'uint16', 5: 'int16', 21: 'uint4', 22: 'int4' };
/** Storage class of each dtype, as Tensor keeps it; a different one would be written with the wrong byte width. */
const STORAGE: Partial<Record<DType, string>> = {
  float32: 'Float32Array', float64: 'Float64Array', float16: 'Uint16Array', int8: 'Int8Array', uint8: 'Uint8Array',
  bool: 'Uint8Array', int16: 'Int16Array', uint16: 'Uint16Array', int32: 'Int32Array', uint32: 'Uint32Array',
  int64: 'BigInt64Array', uint64: 'BigUint64Array', int4: 'Uint8Array', uint4: 'Uint8Array',
};

const fmt = (s: readonly Dim[]): string => `[${s.map((d) => d ?? '?').join(',')}]`;
const dtypeOf = (v: Value | null): DType | undefined => (v ? v.const?.dtype ?? v.type?.dtype : undefined);
const shapeOf = (v: Value | null): readonly Dim[] | undefined => (v ? (v.const ? v.const.shape : v.type?.shape) : undefined);

/** Whether two shapes can describe the same tensor: same rank, and no two known dims differ. */
function compatible(a: readonly Dim[], b: readonly Dim[]): boolean {
  return a.length === b.length && a.every((d, i) => typeof d !== 'number' || typeof b[i] !== 'number' || d === b[i]);
}

/** Element count of a static shape, or a reason it has none. */
function elementCount(shape: readonly number[]): number | string {
  let n = 1;
  for (const d of shape) {
    if (!Number.isInteger(d) || d < 0) return `dimension ${d} is not a non-negative integer`;
    n *= d;
  }
  return n;
}

/** Storage checks for any constant: element count, packed length and storage class must match shape and dtype. */
function checkTensor(t: Tensor, report: (message: string, hint: string) => void): void {
  const hint = 'a pass built this tensor by hand: create it with Tensor.from or new Tensor(dtype, shape, data), which check the storage';
  const n = elementCount(t.shape);
  if (typeof n === 'string') return report(`tensor ${t.describe()}: ${n}`, hint);
  if (t.size !== n) report(`tensor ${t.describe()} says it holds ${t.size} elements, its shape holds ${n}`, hint);
  if (t.dtype === 'string') return;
  const want = STORAGE[t.dtype];
  if (want && t.data.constructor.name !== want) report(`tensor ${t.describe()} is stored in a ${t.data.constructor.name}, not a ${want}`, hint);
  // int4/uint4 keep two elements per byte. Their values cannot be out of range: every nibble is a valid element.
  const packed = t.dtype === 'int4' || t.dtype === 'uint4';
  const length = packed ? Math.ceil(n / 2) : n;
  if (t.data.length !== length) {
    report(`tensor ${t.describe()} needs ${length} ${packed ? 'packed bytes' : 'storage elements'}, holds ${t.data.length}`, hint);
  }
}

/** Quantized dtype of a QuantizeLinear output / DequantizeLinear input, or undefined when it cannot be known. */
function quantizedType(node: Node, zp: Value | null, opset: number): DType | undefined {
  const zpType = dtypeOf(zp);
  if (zpType || node.opType === 'DequantizeLinear') return zpType ?? dtypeOf(node.inputs[0]);
  const code = opset >= 21 ? node.getInt('output_dtype', 0) : 0;
  return code === 0 ? 'uint8' : ONNX_QUANT_CODES[code];
}

function checkQdq(node: Node, opset: number, add: (p: Problem) => void): void {
  const isQ = node.opType === 'QuantizeLinear';
  const [x, scale] = [node.inputs[0], node.inputs[1]];
  const zp = node.inputs[2] ?? null;
  const y = node.outputs[0];
  const at = (value: Value | undefined | null, message: string, hint: string): void => add({ node, value: value ?? undefined, message, hint });
  if (!x || !scale) return at(undefined, `needs inputs x and scale, has ${node.inputs.length}`, 'a pass built this node by hand: give it (x, scale[, zero point])');

  // Rule 4: a constant's declared type must not contradict its tensor (value_info and initializer would disagree).
  for (const v of [x, scale, zp]) {
    if (!v?.const || !v.type) continue;
    if (v.type.dtype !== v.const.dtype || (v.type.shape && !compatible(v.type.shape, v.const.shape))) {
      at(v, `declared type ${v.type.dtype}${v.type.shape ? fmt(v.type.shape) : ''} contradicts its constant ${v.const.describe()}`,
        'the pass that replaced the tensor must update value.type too');
    }
  }

  // Rule 1: scale type and values.
  const scaleType = dtypeOf(scale);
  const scaleOpset = scaleType && SCALE_TYPE_OPSET[scaleType];
  if (scaleType && (scaleOpset === undefined || opset < scaleOpset)) {
    at(scale, `scale is ${scaleType}, which opset ${opset} does not allow`, `use a float32 scale${opset < 19 ? '' : ' or float16'}`);
  }
  if (scale.const && scaleOpset !== undefined) {
    const s = scale.const.toFloat64();
    const bad = s.findIndex((v) => !Number.isFinite(v) || v <= 0);
    if (bad >= 0) at(scale, `scale element ${bad} is ${s[bad]}; scales must be finite and > 0`, 'a clipping range collapsed to a point or was never set: re-run the clipping and quantize passes');
  }
  if (!isQ && y.type && scaleType && y.type.dtype !== scaleType) {
    at(y, `output is declared ${y.type.dtype}, but DequantizeLinear outputs the scale's type ${scaleType}`, 'declare the output with the scale\'s float type');
  }

  // Rule 2: the quantized type, allowed by the opset and the same on every side.
  const qType = quantizedType(node, zp, opset);
  const qOpset = qType && (qType === 'int32' && !isQ ? 10 : QUANT_TYPE_OPSET[qType]);
  if (qType === undefined && isQ && !zp) {
    at(y, `output_dtype ${node.getInt('output_dtype', 0)} is not a quantized type nibble knows`, 'drop output_dtype or give a zero point of the wanted type');
  } else if (qType && (qOpset === undefined || opset < qOpset)) {
    at(zp ?? (isQ ? y : x), `quantized type ${qType} is not allowed at opset ${opset}${qOpset ? ` (needs opset >= ${qOpset})` : ''}`,
      qOpset ? `upgrade the model to opset ${qOpset} (upgradeToQdqOpset) or use int8/uint8` : 'use an int4/uint4/int8/uint8 container');
  }
  // Rule 5: no 4-bit tensor computed at run time. onnxruntime 1.30's CPU allocation planner reuses a
  // freed int4/uint4 buffer (ceil(n/2) bytes) for a later 8-bit tensor of n elements, whose kernel then
  // writes past it (heap corruption, batch-dependent results; docs/batch-invariance.md). 4-bit weights
  // are constants, never planned buffers, and stay int4.
  if (isQ && (qType === 'int4' || qType === 'uint4')) {
    at(y, `QuantizeLinear writes a ${qType} tensor at run time, which onnxruntime 1.30 may overwrite past its end`,
      'hold the 4-bit grid in an 8-bit container behind a clamp (lowerToQdq does so by default: minContainerBits 8)');
  }
  const outputDtype = isQ && zp && opset >= 21 ? node.getInt('output_dtype', 0) : 0;
  if (outputDtype !== 0 && ONNX_QUANT_CODES[outputDtype] !== qType) {
    at(zp, `output_dtype ${outputDtype} disagrees with the zero point's type ${qType}`, 'drop output_dtype: the zero point already fixes the type');
  }
  const ends: [Value, DType | undefined][] = isQ ? [[y, y.type?.dtype]] : [[x, dtypeOf(x)]];
  for (const [v, t] of ends) {
    if (t && qType && t !== qType) {
      at(v, `${isQ ? 'output' : 'input'} is ${t} but the zero point${zp ? '' : ' (absent)'} makes the quantized type ${qType}`,
        `${isQ ? 'QuantizeLinear\'s output' : 'DequantizeLinear\'s input'} and its zero point must have the same type`);
    }
  }

  // Rule 1: granularity, from the scale's shape.
  const sShape = shapeOf(scale);
  const zShape = shapeOf(zp);
  if (sShape && zShape && !compatible(sShape, zShape)) {
    at(zp, `zero point shape ${fmt(zShape)} differs from scale shape ${fmt(sShape)}`, 'give the zero point one entry per scale entry');
  }
  const xShape = shapeOf(x);
  if (y.type?.shape && xShape && !compatible(y.type.shape, xShape)) {
    at(y, `output is declared ${fmt(y.type.shape)} but the input is ${fmt(xShape)}`, 'Q/DQ keep their input\'s shape: fix the declared output type');
  }
  const blockSize = node.getInt('block_size', 0);
  if (!sShape || (sShape.length <= 1 && blockSize === 0 && (sShape.length === 0 || sShape[0] === 1))) return; // per tensor
  const axisAttr = node.getInt('axis', 1);
  const rank = xShape?.length;
  if (rank !== undefined && (axisAttr < -rank || axisAttr >= rank)) {
    return at(x, `axis ${axisAttr} is out of range for the input's rank ${rank}`, `use an axis in [${-rank}, ${rank - 1}]`);
  }
  const axis = rank !== undefined && axisAttr < 0 ? axisAttr + rank : axisAttr;
  if (sShape.length === 1 && blockSize === 0) {
    if (opset < 13) return at(scale, `per-axis scale of shape ${fmt(sShape)} needs opset >= 13, the model has ${opset}`, 'upgrade the model (upgradeToQdqOpset)');
    const extent = xShape?.[axis];
    if (typeof extent === 'number' && typeof sShape[0] === 'number' && extent !== sShape[0]) {
      at(scale, `has ${sShape[0]} entries but the input has ${extent} on axis ${axis}`, 'the quantization annotation is stale: re-run the quantization passes, or fix the axis');
    }
    return;
  }
  // Blocked quantization (opset 21): scale has the input's rank, ceil(dim / block) entries on the axis.
  if (opset < 21 || blockSize <= 0) {
    return at(scale, `scale of shape ${fmt(sShape)} with block_size ${blockSize} is blocked quantization, which needs opset >= 21 and block_size > 0`,
      'use a scalar scale (per tensor) or a 1-D one (per axis), or set block_size at opset 21');
  }
  if (!xShape) return;
  if (sShape.length !== xShape.length) return at(scale, `blocked scale has rank ${sShape.length}, the input ${xShape.length}`, 'give the scale the input\'s rank');
  const want = xShape.map((d, i) => (typeof d !== 'number' ? null : i === axis ? Math.ceil(d / blockSize) : d));
  if (!compatible(sShape, want)) {
    at(scale, `blocked scale is ${fmt(sShape)}, but input ${fmt(xShape)} with block_size ${blockSize} on axis ${axis} needs ${fmt(want)}`, 'recompute the scale for this block size');
  }
}

function collect(g: Graph, opset: number, add: (p: Problem) => void): void {
  for (const v of g.initializers) {
    if (v.const) checkTensor(v.const, (message, hint) => add({ value: v, message: `initializer ${message}`, hint }));
  }
  for (const node of g.nodes) {
    if ((node.opType === 'QuantizeLinear' || node.opType === 'DequantizeLinear') && (node.domain === '' || node.domain === 'ai.onnx')) {
      checkQdq(node, opset, add);
    }
    for (const [name, a] of node.attributes) {
      const tensors = a.type === 'tensor' ? [a.value] : a.type === 'tensors' ? a.value : [];
      for (const t of tensors) checkTensor(t, (message, hint) => add({ node, message: `attribute '${name}': ${message}`, hint }));
      const graphs = a.type === 'graph' ? [a.value] : a.type === 'graphs' ? a.value : [];
      for (const sub of graphs) collect(sub, opset, add);
    }
  }
}

function describe(p: Problem): string {
  const where = [p.node && `node '${p.node.name}' (${p.node.opType})`, p.value && `value '${p.value.name}'`].filter(Boolean).join(', ');
  return `${where ? `${where}: ` : ''}${p.message} (${p.hint})`;
}

/**
 * Throws E_INVALID_GRAPH when the model is not a consistent ONNX file as far
 * as quantization goes: Q/DQ scales, zero points, axes and types for the
 * model's default-domain opset, and the storage of every constant tensor.
 * The error names the first problem's node and value and lists up to
 * MAX_LISTED problems, then a count of the rest.
 */
export function validateOnnxModel(model: Model, opts: ValidateOnnxOptions = {}): void {
  const problems: Problem[] = [];
  const add = (p: Problem): void => void problems.push(p);
  const declared = model.opsetImports.get('') ?? model.opsetImports.get('ai.onnx');
  if (declared === undefined && model.graph.nodes.some((n) => n.domain === '' || n.domain === 'ai.onnx')) {
    add({ message: 'the model uses default-domain operators but imports no default-domain opset', hint: 'set model.opsetImports.set(\'\', 21)' });
  }
  // Without a declared opset the opset-gated rules cannot be judged; the problem above already stops the write.
  collect(model.graph, declared ?? Number.POSITIVE_INFINITY, add);
  if (problems.length === 0) return;
  const first = problems[0];
  const listed = problems.slice(0, MAX_LISTED).map((p) => `  - ${describe(p)}`);
  if (problems.length > MAX_LISTED) listed.push(`  ... and ${problems.length - MAX_LISTED} more`);
  const count = problems.length === 1 ? 'a problem' : `${problems.length} problems`;
  throw new NibbleError('E_INVALID_GRAPH', `${opts.file ? `${opts.file}: ` : ''}the ONNX model has ${count} that would make the file inconsistent:\n${listed.join('\n')}`, {
    file: opts.file,
    node: first.node?.name,
    op: first.node?.opType,
    value: first.value?.name,
    hint: problems.length === 1 ? first.hint : `fix each listed problem; the first: ${first.hint}`,
  });
}
