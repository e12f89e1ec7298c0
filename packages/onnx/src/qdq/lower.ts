import { attr, cloneModel, type Graph, inferShapes, type Model, NibbleError, type Node, Tensor, type Value } from '@nibble/ir';
import {
  type AffineParams, containerDType, levelCount, normalizeAxis, paramsOfAnnotation, quantize, representableRange,
  scaleTensor, toIntegerTensor, zeroPointTensor,
} from '@nibble/quant';
import { QDQ_OPSET, upgradeToQdqOpset } from './upgrade-opset';

/*
 * The quantized IR carries activation quantization only as annotations
 * (docs/quantized-ir.md); a runtime needs it as operators. For each annotated
 * activation v:
 *
 *   v -> [Max(., lo) -> Min(., hi)] -> QuantizeLinear {axis} -> DequantizeLinear {axis} -> uses of v
 *
 * QuantizeLinear saturates only to its container (uint4 holds 16 levels),
 * so a channel with fewer levels (3 bits, or a 0-bit constant) is clamped
 * first to the float interval its own levels cover. Clamping in float and
 * then rounding picks the same level as rounding and then clamping to
 * [qmin_c, qmax_c]: the bounds are exactly (qmin_c - zp) * scale and
 * (qmax_c - zp) * scale, which the division maps back to qmin_c - zp and
 * qmax_c - zp, and float32 division and rounding are monotone.
 */

/** The integer container a lowered annotation uses: its dtype and width in bits. */
export interface QdqContainer {
  dtype: 'int4' | 'uint4' | 'int8' | 'uint8' | 'int16' | 'uint16';
  bits: number;
}

/** How a target's QDQ differs from the exact simulation's (the defaults). */
export interface QdqLoweringOptions {
  /**
   * The narrowest container of an activation (default 8: a 4-bit grid is
   * held in uint8/int8 behind a clamp, which computes the same levels).
   * 4 writes int4/uint4 QuantizeLinear outputs, which onnxruntime 1.30
   * mishandles: its CPU allocation planner reuses a freed 4-bit buffer
   * (ceil(n/2) bytes) for a later 8-bit tensor of the same element count, and
   * the 8-bit kernel writes n bytes into it: heap corruption, results that
   * depend on the batch size (docs/batch-invariance.md). validateOnnxModel
   * refuses such files.
   */
  minContainerBits?: 4 | 8;
  /**
   * Where a grid narrower than its container is clamped: 'before' the
   * QuantizeLinear (the simulation), or 'after' its DequantizeLinear,
   * followed by a second QuantizeLinear/DequantizeLinear pair of the same
   * parameters, so the producer and its QuantizeLinear stay adjacent and
   * fuse into an integer kernel that saturates to the container.
   */
  clamp?: 'before' | 'after';
}

export function qdqContainer(p: AffineParams, minBits = 4): QdqContainer {
  let dtype = containerDType(p) as QdqContainer['dtype'];
  if (minBits === 8 && (dtype === 'int4' || dtype === 'uint4')) dtype = dtype === 'int4' ? 'int8' : 'uint8';
  return { dtype, bits: Number(dtype.replace(/^u?int/, '')) };
}

/**
 * Whether some channel has fewer levels than its container, so the QDQ pair
 * needs a clamp: a narrower width, or a grid of levels that is not a power
 * of two (alloc-bins), which scale and zero point alone cannot bound.
 */
export function needsChannelClamp(p: AffineParams, minBits = 4): boolean {
  const { bits } = qdqContainer(p, minBits);
  return p.bits.some((b, c) => levelCount(p, c) < 2 ** bits || b < bits);
}

function isLowered(v: Value): boolean {
  return v.producer?.opType === 'DequantizeLinear' && (v.producer.domain === '' || v.producer.domain === 'ai.onnx');
}

interface Target {
  value: Value;
  params: AffineParams;
}

/** Annotated values that still need operators, in graph order: inputs, initializers, node outputs. */
function targets(g: Graph): { activations: Target[]; weights: Target[] } {
  const activations: Target[] = [];
  const weights: Target[] = [];
  const visit = (v: Value): void => {
    if (!v.quant || isLowered(v)) return;
    const params = paramsOfAnnotation(v.quant, v.name);
    if (v.isInitializer) weights.push({ value: v, params });
    else activations.push({ value: v, params });
  };
  g.inputs.forEach(visit);
  g.initializers.filter((v) => !g.inputs.includes(v)).forEach(visit);
  for (const n of g.nodes) n.outputs.forEach(visit);
  return { activations, weights };
}

/** The channel axis of v, normalised against its rank, with the extent checked against the parameters. */
function channelAxis(v: Value, p: AffineParams): { axis: number | null; rank: number | undefined } {
  const shape = v.type?.shape ?? (v.const ? [...v.const.shape] : undefined);
  if (p.axis === null) return { axis: null, rank: shape?.length };
  if (!shape) {
    throw new NibbleError('E_SHAPE', `'${v.name}' is quantized per channel, but its rank is unknown`, {
      value: v.name,
      hint: 'give the model inputs static ranks (shape inference could not find this value\'s rank)',
    });
  }
  const axis = normalizeAxis(p.axis, shape.length, v.name);
  const extent = shape[axis];
  if (typeof extent === 'number' && extent !== p.scale.length) {
    throw new NibbleError('E_SHAPE', `'${v.name}' has ${extent} channels on axis ${axis} but its quantization annotation has ${p.scale.length}`, {
      value: v.name,
      hint: 'the annotation is stale: re-run the quantization passes on this graph',
    });
  }
  return { axis, rank: shape.length };
}

function axisAttrs(axis: number | null): Record<string, ReturnType<typeof attr.int>> {
  return axis === null ? {} : { axis: attr.int(axis) };
}

function addConst(g: Graph, base: string, t: Tensor): Value {
  return g.addInitializer(g.uniqueName(base), t);
}

/** A float annotated initializer (a weight the quantize pass has not converted) becomes DequantizeLinear(int tensor). */
function lowerWeight(g: Graph, { value: v, params: p }: Target, position: number): number {
  const t = v.const!;
  if (!t.dtype.startsWith('float')) {
    throw new NibbleError('E_INVALID_GRAPH', `initializer '${v.name}' is ${t.dtype} but carries a quantization annotation for float values`, { value: v.name });
  }
  const { axis } = channelAxis(v, p);
  const { dtype } = qdqContainer(p);
  const q = toIntegerTensor(quantize(t.toFloat64(), t.shape, p, v.name), t.shape, p, dtype, v.name);
  const dq = g.addNode({
    opType: 'DequantizeLinear',
    name: g.uniqueName(`${v.name}_dequantize`),
    inputs: [addConst(g, `${v.name}_quantized`, q), addConst(g, `${v.name}_scale`, scaleTensor(p, v.name)), addConst(g, `${v.name}_zero_point`, zeroPointTensor(p, dtype, v.name))],
    outputs: [g.uniqueName(`${v.name}_dq`)],
    attributes: axisAttrs(axis),
  }, position);
  const out = dq.outputs[0];
  out.type = { dtype: 'float32', shape: [...t.shape] };
  out.quant = v.quant;
  for (const u of [...v.uses]) u.node.replaceInput(u.index, out);
  if (v.isGraphOutput) takeOverOutput(g, v, out);
  if (v.uses.length === 0 && !v.isGraphOutput && !v.isGraphInput) g.removeInitializer(v);
  else delete v.quant;
  return position + 1;
}

/** `to` replaces `from` among the graph outputs under from's name, so the model's interface is unchanged. */
function takeOverOutput(g: Graph, from: Value, to: Value): void {
  for (let i = 0; i < g.outputs.length; i++) if (g.outputs[i] === from) g.outputs[i] = to;
  const name = from.name;
  from.rename(g.uniqueName(`${name}_float`));
  to.rename(name);
}

/** Insert [Max -> Min ->] QuantizeLinear -> DequantizeLinear after v and route every reader of v through it. */
function lowerActivation(g: Graph, { value: v, params: p }: Target, position: number, options: QdqLoweringOptions): number {
  const { axis, rank } = channelAxis(v, p);
  const minBits = options.minContainerBits ?? 8;
  const container = qdqContainer(p, minBits);
  const readers = [...v.uses];
  const wasOutput = v.isGraphOutput;
  const floatType = v.type && { dtype: v.type.dtype, shape: v.type.shape && [...v.type.shape] };
  let pos = position;
  const add = (spec: Parameters<Graph['addNode']>[0]): Node => g.addNode(spec, pos++);
  let x = v;
  const clamp = needsChannelClamp(p, minBits) ? options.clamp ?? 'before' : undefined;
  // Made at the first QuantizeLinear, so the simulation's initializers keep their order (and its files their bytes).
  let scale: Value | undefined;
  let zeroPoint: Value | undefined;
  const qdq = (input: Value, suffix: string): Value => {
    scale ??= addConst(g, `${v.name}_scale`, scaleTensor(p, v.name));
    zeroPoint ??= addConst(g, `${v.name}_zero_point`, zeroPointTensor(p, container.dtype, v.name));
    const q = add({
      opType: 'QuantizeLinear', name: g.uniqueName(`${v.name}_quantize${suffix}`), inputs: [input, scale, zeroPoint], outputs: [g.uniqueName(`${v.name}_q${suffix}`)], attributes: axisAttrs(axis),
    });
    q.outputs[0].type = { dtype: container.dtype, shape: floatType?.shape && [...floatType.shape] };
    const dq = add({
      opType: 'DequantizeLinear', name: g.uniqueName(`${v.name}_dequantize${suffix}`), inputs: [q.outputs[0], scale, zeroPoint], outputs: [g.uniqueName(`${v.name}_dq${suffix}`)], attributes: axisAttrs(axis),
    });
    dq.outputs[0].type = floatType;
    return dq.outputs[0];
  };
  // Clamping a grid point to bounds that are grid points gives a grid point: the second pair re-quantizes exactly.
  if (clamp === 'after') x = qdq(x, '_wide');
  if (clamp !== undefined) {
    const { lo, hi } = representableRange(p);
    // Bounds broadcast against v: [C, 1, ..., 1] for the axis, a scalar per tensor.
    const boundShape = axis === null ? [] : [p.scale.length, ...new Array<number>(rank! - axis - 1).fill(1)];
    const bound = (suffix: string, values: Float64Array): Value => addConst(g, `${v.name}_${suffix}`, Tensor.from('float32', boundShape, values));
    const max = add({ opType: 'Max', name: g.uniqueName(`${v.name}_clamp_lo`), inputs: [x, bound('lo', lo)], outputs: [g.uniqueName(`${v.name}_clamped_lo`)] });
    max.outputs[0].type = floatType;
    const min = add({ opType: 'Min', name: g.uniqueName(`${v.name}_clamp_hi`), inputs: [max.outputs[0], bound('hi', hi)], outputs: [g.uniqueName(`${v.name}_clamped`)] });
    min.outputs[0].type = floatType;
    x = min.outputs[0];
  }
  const out = qdq(x, '');
  for (const u of readers) u.node.replaceInput(u.index, out);
  if (wasOutput) takeOverOutput(g, v, out);
  // The annotation moves to the DequantizeLinear output, which marks it lowered: lowering again changes nothing.
  out.quant = v.quant;
  delete v.quant;
  return pos;
}

function ranksKnown(ts: Target[]): boolean {
  return ts.every((t) => t.params.axis === null || t.value.type?.shape !== undefined);
}

/**
 * The QDQ form of a quantized model, for onnxruntime and for export: a
 * clone at opset 21 / IR 10 (older opsets upgraded) where every annotated
 * activation is followed by its QuantizeLinear/DequantizeLinear pair (with a
 * per-channel clamp where a channel has fewer levels than its container) and
 * every annotated float weight is DequantizeLinear of an int4/int8 tensor.
 * The input model is not touched; the result computes exactly the
 * fake quantization its annotations describe. (onnxruntime honours that
 * meaning with session.disable_quant_qdq; its default QDQ rewrites may round
 * a float bias to input_scale * weight_scale.)
 */
export function lowerToQdq(model: Model, options: QdqLoweringOptions = {}): Model {
  const m = cloneModel(model);
  upgradeToQdqOpset(m);
  const g = m.graph;
  const { activations, weights } = targets(g);
  if (!ranksKnown(activations)) {
    try {
      inferShapes(g, { opset: QDQ_OPSET });
    } catch {
      // channelAxis names the value whose rank is still unknown.
    }
  }
  let position = 0;
  for (const w of weights) position = lowerWeight(g, w, position);
  for (const a of activations) {
    const producer = a.value.producer;
    const at = producer ? g.indexOf(producer) + 1 : position;
    const end = lowerActivation(g, a, at, options);
    if (!producer) position = end;
  }
  g.verify();
  return m;
}
