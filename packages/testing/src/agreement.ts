import type { Graph, Model, Tensor } from '@nibble/ir';
import type * as Ort from 'onnxruntime-node';
import { type Array64, runFloat64 } from './float64-reference';

/*
 * How the float64 fake-quantization reference and onnxruntime's QDQ
 * simulation are compared. The reference computes in float64; onnxruntime
 * computes convolutions and sums in float32. Where the two land on the same
 * quantization level, outputs differ only by float32 rounding (relative
 * ~1e-7). Where a pre-quantization value sits within float32 error of a
 * rounding boundary (x / scale = k + 1/2), the two may pick neighbouring
 * levels: a difference of one step there, smaller ones downstream. So
 * the comparison counts elements within 1e-5 of the tensor's largest
 * magnitude (far above float32 rounding, far below one quantization step)
 * and reports how many are not.
 *
 * onnxruntime's default graph optimizations are not semantics-preserving for
 * QDQ models: WeightBiasQuantization rounds a float Conv/Gemm bias to the
 * int32 grid input_scale * weight_scale when the input comes from a
 * per-tensor DequantizeLinear (e.g. after a quantized MaxPool), and the
 * QDQ fusions compute in integers. 'exact' sets session.disable_quant_qdq,
 * which leaves the graph's ONNX meaning alone; 'default' is what a plain
 * session does.
 */

export type OrtMode = 'exact' | 'default';

const SESSION_OPTIONS: Record<OrtMode, Ort.InferenceSession.SessionOptions> = {
  exact: { extra: { session: { disable_quant_qdq: '1' } } },
  default: {},
};

export const RELATIVE_TOLERANCE = 1e-5;

export interface Agreement {
  name: string;
  elements: number;
  /** Elements with |ort - ref| <= RELATIVE_TOLERANCE * max |ref|. */
  within: number;
  maxAbsDiff: number;
  /** max |ref|, the scale the tolerance is relative to. */
  scale: number;
}

export function agreement(name: string, got: ArrayLike<number>, ref: Float64Array): Agreement {
  if (got.length !== ref.length) throw new Error(`${name}: ${got.length} vs ${ref.length} elements`);
  let scale = 0;
  for (const v of ref) scale = Math.max(scale, Math.abs(v));
  const tol = RELATIVE_TOLERANCE * scale;
  let within = 0;
  let maxAbsDiff = 0;
  for (let i = 0; i < ref.length; i++) {
    const d = Math.abs(got[i] - ref[i]);
    if (d <= tol) within++;
    maxAbsDiff = Math.max(maxAbsDiff, d);
  }
  return { name, elements: ref.length, within, maxAbsDiff, scale };
}

/** The DequantizeLinear output that stands for annotated activation `name` in a lowered graph. */
export function loweredValueName(lowered: Graph, name: string): string {
  for (const node of lowered.nodes) {
    if (node.opType !== 'QuantizeLinear') continue;
    let src = node.inputs[0];
    while (src?.producer && (src.producer.opType === 'Min' || src.producer.opType === 'Max') && src.producer.name.includes('_clamp_')) src = src.producer.inputs[0];
    if (src?.name !== name) continue;
    const dq = node.outputs[0].uses.find((u) => u.node.opType === 'DequantizeLinear');
    if (dq) return dq.node.outputs[0].name;
  }
  throw new Error(`no QDQ pair for ${name}`);
}

/** Names of the activations a model quantizes (annotated, not weights). */
export function annotatedActivations(model: Model): string[] {
  return model.graph.nodes.flatMap((n) => n.outputs).filter((v) => v.quant?.scale && v.producer?.opType !== 'DequantizeLinear').map((v) => v.name);
}

/**
 * The model's output and every quantized activation, from onnxruntime on the
 * QDQ lowering and from the float64 reference on the annotated IR, compared.
 */
export async function compareWithReference(model: Model, x: Tensor, modes: readonly OrtMode[] = ['exact']): Promise<Record<string, Agreement[]>> {
  // Loaded here, not with the package: most specs that use @nibble/testing never run onnxruntime.
  const ort = await import('onnxruntime-node');
  const { lowerToQdq, writeOnnx } = await import('@nibble/onnx');
  const output = model.graph.outputs[0].name;
  const input = model.graph.inputs[0].name;
  // A quantized graph output keeps its name in the lowering; it is compared as the output.
  const acts = annotatedActivations(model).filter((a) => a !== output);
  const lowered = lowerToQdq(model);
  const loweredNames = acts.map((a) => loweredValueName(lowered.graph, a));
  for (const n of loweredNames) lowered.graph.addOutput(lowered.graph.value(n)!);
  const bytes = writeOnnx(lowered);
  const feed: Array64 = { shape: [...x.shape], data: x.toFloat64() };
  const ref = runFloat64(model.graph, { [input]: feed }, acts);
  const out: Record<string, Agreement[]> = {};
  for (const mode of modes) {
    const session = await ort.InferenceSession.create(bytes, SESSION_OPTIONS[mode]);
    let got: Record<string, Ort.Tensor>;
    try {
      got = await session.run({ [input]: new ort.Tensor('float32', x.data as Float32Array, [...x.shape]) });
    } finally {
      await session.release();
    }
    const rows = [agreement(`${output} (output)`, got[output].data as Float32Array, ref[output].data)];
    acts.forEach((a, i) => rows.push(agreement(a, got[loweredNames[i]].data as Float32Array, ref[a].data)));
    out[mode] = rows;
  }
  return out;
}

export function formatAgreements(title: string, rows: readonly Agreement[]): string {
  const lines = rows.map((r) => `  ${r.name.padEnd(22)} ${String(r.elements - r.within).padStart(5)} of ${String(r.elements).padStart(7)} differ  max|diff| ${r.maxAbsDiff.toExponential(2)}  scale ${r.scale.toExponential(2)}`);
  return [title, ...lines].join('\n');
}
