import { definePass, type PassContext, printOptionValue, requirement } from '@nibble/core';
import {
  attr, constantTensor, FLOAT_WEIGHT_KEY, type Graph, markedValues, NibbleError, type QuantAnnotation, type QuantPoint, readerBoundsOf, setQuantPoint, type Tensor, type Value,
} from '@nibble/ir';
import {
  type AffineParams, containerDType, paramsFromRange, quantize, representableRange, scaleTensor, toIntegerTensor, zeroPointTensor,
} from '@nibble/quant';
import { CALIBRATION_DATA, CALIBRATION_STATS } from '@nibble/stats';
import { type ChannelRange, channelRange } from './value-stats';

/** rangeSource of a range quantize had to choose itself (no clipping pass ran on the value). */
export const QUANTIZE_MINMAX_SOURCE = 'quantize{min/max}';

/**
 * quantize: for every marked value, clip range + bit-widths -> grid (float32
 * scales, integer zero points, the nudged range the grid covers exactly), via
 * @nibble/quant's paramsFromRange. A marked value with no range gets min/max
 * (lo = 0 where one-sided): `quant-policy,quantize` is the naive baseline.
 * Weights become DequantizeLinear(int4/int8 initializer, scale, zero point)
 * under the weight's own name; activations keep annotations only.
 */
export const quantizePass = definePass({
  name: 'quantize',
  summary: 'turn clip ranges and bit-widths into integer grids; weights become DequantizeLinear of int4/int8 initializers',
  description: [
    'Acts on values marked by quant-policy. Missing ranges are min/max of the statistics (lo = 0 for one-sided',
    'values); missing bit-widths are the mark\'s. Weights: the float initializer (or Constant) is replaced by',
    'DequantizeLinear(q, scale, zero_point){axis} whose output keeps the weight\'s name and carries the',
    'annotation; q is int4 (packed) when every channel has <= 4 bits, else int8. Activations: annotation only.',
    'Values already quantized (annotation with a scale) are left as they are. With calibration data given, the',
    'statistics are taken before any weight is rewritten and stay valid afterwards: they describe the float model.',
  ].join('\n'),
  options: {
    symmetricWeights: { type: 'boolean', default: false, description: 'weights on symmetric grids (zero point 0, scale max|w| / (2^(bits-1) - 1)): what integer kernels want' },
  },
  // Moments of the activations without a range; computed by run itself, and only when data was given.
  requires: [requirement(CALIBRATION_STATS, {}, { lazy: true })],
  preserves: [CALIBRATION_STATS],
  async run(graph, ctx, opts) {
    // The statistics must be the float model's: take them (when calibration data is given) before any
    // weight is rewritten; later passes (bias-correct{fold=bias}) read them from the cache.
    if (ctx.services.has(CALIBRATION_DATA)) await ctx.getAnalysis(CALIBRATION_STATS, graph);
    const grids = [];
    for (const { value, point } of markedValues(graph)) {
      if (value.quant?.scale) continue;
      grids.push({ value, point, ...(await grid(ctx, value, point, opts.symmetricWeights && point.kind === 'weight')) });
    }
    const totals = { weights: 0, activations: 0, floatWeightBytes: 0, quantizedWeightBytes: 0 };
    for (const { value, point, annotation, params } of grids) {
      const name = value.name;
      if (point.kind === 'weight') {
        const { floatBytes, quantBytes } = replaceWeight(graph, value, point, annotation, params);
        totals.weights++;
        totals.floatWeightBytes += floatBytes;
        totals.quantizedWeightBytes += quantBytes;
      } else {
        value.quant = annotation;
        totals.activations++;
      }
      const meanBits = params.bits.reduce((s, b) => s + b, 0) / params.bits.length;
      ctx.report.record('quantized', { kind: point.kind, meanBits, container: containerDType(params), channels: params.bits.length }, name);
    }
    ctx.report.record('totals', totals);
    return { graph, modified: grids.length > 0 };
  },
});

function bad(v: Value, why: string, hint: string): NibbleError {
  return new NibbleError('E_INVALID_GRAPH', `quantize: '${v.name}' ${why}`, { pass: 'quantize', value: v.name, hint });
}

/** Channels along `axis` of the value's shape, when known. */
function extent(v: Value, axis: number | null): number | undefined {
  if (axis === null) return 1;
  const shape = constantTensor(v)?.shape ?? v.type?.shape;
  const d = shape?.[axis];
  return typeof d === 'number' ? d : undefined;
}

async function grid(ctx: PassContext, v: Value, point: QuantPoint, symmetric: boolean): Promise<{ annotation: QuantAnnotation; params: AffineParams }> {
  const given = v.quant;
  const axis = given ? given.axis : point.perChannel ? point.axis : null;
  let range = given?.range;
  let source = given?.rangeSource;
  let stats: ChannelRange | undefined;
  if (!range) {
    stats = await channelRange(ctx, v, point, axis);
    // As the clipping passes do: fused ReLU drops negatives, a ReLU6-like Clip caps the top.
    const { oneSided, upperBound } = readerBoundsOf(v);
    const cap = (x: number) => (upperBound === undefined ? x : Math.min(x, upperBound));
    range = { lo: oneSided ? new Float64Array(stats.min.length) : stats.min.map(cap), hi: stats.max.map((x) => cap(oneSided ? Math.max(x, 0) : x)) };
    source = QUANTIZE_MINMAX_SOURCE;
  }
  const channels = range.lo.length;
  const bits = given?.bits ?? new Int32Array(channels).fill(point.bits);
  const want = extent(v, axis);
  if (bits.length !== channels || range.hi.length !== channels || (want !== undefined && want !== channels)) {
    throw bad(v, `has ${channels} ranges and ${bits.length} bit-widths for ${want ?? 'an unknown number of'} channels along axis ${axis ?? 'none'}`,
      'the annotation is stale or was written for another axis; run the clipping and allocation passes again');
  }
  // A 0-bit channel without a constant range ([c, c]) becomes its mean.
  let constant: Float64Array | undefined;
  for (let c = 0; c < channels; c++) {
    if (bits[c] !== 0 || range.lo[c] === range.hi[c]) continue;
    stats ??= await channelRange(ctx, v, point, axis);
    constant ??= Float64Array.from(range.lo, (lo, i) => (lo + range!.hi[i]) / 2);
    const { oneSided, upperBound } = readerBoundsOf(v);
    const mean = oneSided ? Math.max(stats.mean[c], 0) : stats.mean[c];
    constant[c] = upperBound === undefined ? mean : Math.min(mean, upperBound);
  }
  // alloc-bins' grids of levels that are not powers of two: the range's ends become the first and last level.
  const levels = given?.levels;
  if (levels && levels.length !== channels) {
    throw bad(v, `has ${levels.length} level counts for ${channels} channels`, 'the annotation is stale; run the clipping and allocation passes again');
  }
  const params = paramsFromRange({
    lo: range.lo, hi: range.hi, bits, axis, signed: point.signed, name: v.name, ...(constant ? { constant } : {}), ...(symmetric ? { symmetric } : {}), ...(levels ? { levels } : {}),
  });
  const annotation: QuantAnnotation = {
    axis,
    bits: params.bits,
    ...(params.levels ? { levels: params.levels } : {}),
    signed: params.signed,
    range: nudged(params),
    scale: params.scale,
    zeroPoint: params.zeroPoint,
    ...(source !== undefined ? { rangeSource: source } : {}),
  };
  return { annotation, params };
}

/** The range the grid covers; + 0 turns the -0 of an unsigned zero lower bound into 0. */
function nudged(params: AffineParams): { lo: Float64Array; hi: Float64Array } {
  const r = representableRange(params);
  return { lo: r.lo.map((x) => x + 0), hi: r.hi.map((x) => x + 0) };
}

function replaceWeight(graph: Graph, v: Value, point: QuantPoint, annotation: QuantAnnotation, params: AffineParams): { floatBytes: number; quantBytes: number } {
  const t: Tensor | undefined = constantTensor(v);
  if (!t) throw bad(v, 'is marked as a weight but is not a constant', 'run quant-policy again on the current graph');
  if (t.dtype !== 'float32') {
    throw new NibbleError('E_UNSUPPORTED', `quantize: weight '${v.name}' is ${t.dtype}; only float32 weights are quantized`, {
      pass: 'quantize', value: v.name, hint: `keep the layer float (quant-policy{keep-float=${printOptionValue([point.layer])}}) or convert the model to float32`,
    });
  }
  if (v.isGraphOutput || v.uses.length === 0) throw bad(v, 'is a graph output or unused', 'run eliminate-dead-code before quant-policy');
  const name = v.name;
  const q = toIntegerTensor(quantize(t.data as Float32Array, t.shape, params, name), t.shape, params, undefined, name);
  const scale = graph.addInitializer(graph.uniqueName(`${name}_scale`), scaleTensor(params, name));
  const zeroPoint = graph.addInitializer(graph.uniqueName(`${name}_zero_point`), zeroPointTensor(params, q.dtype, name));
  const levels = graph.addInitializer(graph.uniqueName(`${name}_quantized`), q);
  const first = v.uses.reduce((a, u) => Math.min(a, graph.indexOf(u.node)), graph.nodes.length);
  const dq = graph.addNode({
    opType: 'DequantizeLinear',
    name: graph.uniqueName(`${name}_dequantize`),
    inputs: [levels, scale, zeroPoint],
    outputs: [graph.uniqueName(`${name}_dq`)],
    attributes: annotation.axis === null ? {} : { axis: attr.int(annotation.axis) },
  }, first);
  const out = dq.outputs[0];
  out.type = { dtype: 'float32', shape: [...t.shape] };
  for (const u of [...v.uses]) u.node.replaceInput(u.index, out);
  const producer = v.producer;
  if (producer && producer.opType !== 'Constant') throw bad(v, `is produced by ${producer.opType}, not an initializer or Constant`, 'run quant-policy again on the current graph');
  if (producer) graph.removeNode(producer);
  else graph.removeInitializer(v);
  // The dequantized weight keeps the weight's name, so reports and later passes find it.
  out.rename(name);
  out.quant = annotation;
  setQuantPoint(out, point);
  out.meta[FLOAT_WEIGHT_KEY] = t;
  return { floatBytes: t.byteLength, quantBytes: q.byteLength + scale.const!.byteLength + zeroPoint.const!.byteLength };
}
