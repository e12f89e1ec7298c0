import { attr, cloneModel, DTYPES, type DType, type Model, Tensor, type Value } from '@nibble/ir';

/** One activation whose statistics the engine reduces: its name, rank and channel count (axis 1). */
export interface EngineTarget {
  readonly name: string;
  readonly dtype: DType;
  readonly rank: number;
  readonly channels: number;
  /** Whether the deviations (sums of |x - centre|, per channel and about a tensor centre) are wanted. */
  readonly deviation: boolean;
}

/** The graph inputs and outputs that the reductions of one target add, by role. */
export interface EngineTargetIO {
  /** float64 [C, 1, ...]: the channel centres m_c the shifted sums are taken about. */
  readonly centre: string;
  /** float64 [1, ...]: the tensor centre m_t of the per-tensor deviation (deviation targets only). */
  readonly tensorCentre?: string;
  /** [C], the activation's dtype. */
  readonly min: string;
  readonly max: string;
  /** float64 [C]: sum (x - m_c), sum (x - m_c)^2. */
  readonly sum: string;
  readonly sumSquares: string;
  /** float64 [C]: sum |x - m_c| and sum |x - m_t| over each channel (deviation targets only). */
  readonly absSum?: string;
  readonly absTensorSum?: string;
}

/** Prefix of every name the augmentation adds (nothing in an imported model uses it). */
const PREFIX = '__nibble_stats';

/**
 * The model with per-channel reductions of every target as extra graph
 * outputs, so that only [C]-sized vectors leave the engine: min and max in
 * the activation's own type (exact), and, after a cast to float64, the sums
 * of d = x - m_c, d^2 and |d|, plus the sum of |x - m_t|, over every axis
 * but 1. float64, because float32 sums of 10^5..10^7 values lose about
 * 1e-4 relative; the centres (fed as inputs, float64) keep the squares free
 * of cancellation when |mean| >> std. The original outputs stay (the
 * engine needs at least them); the caller fetches only the reductions.
 */
export function augmentForStatistics(model: Model, targets: readonly EngineTarget[]): { model: Model; io: EngineTargetIO[] } {
  const copy = cloneModel(model);
  const g = copy.graph;
  const opset = copy.opsetImports.get('') ?? copy.opsetImports.get('ai.onnx') ?? 21;
  const axesInitializers = new Map<number, Value>();
  const io: EngineTargetIO[] = [];
  targets.forEach((t, k) => {
    const x = g.value(t.name)!;
    const base = `${PREFIX}/${k}`;
    const axes = [0, ...Array.from({ length: t.rank - 2 }, (_, i) => i + 2)];
    const axesInput = (): Value => {
      let v = axesInitializers.get(t.rank);
      if (!v) {
        v = g.addInitializer(g.uniqueName(`${PREFIX}/axes_r${t.rank}`), Tensor.from('int64', [axes.length], axes));
        axesInitializers.set(t.rank, v);
      }
      return v;
    };
    // ReduceSum takes its axes as an input since opset 13, the other reductions since 18.
    const reduce = (op: string, input: Value, out: string): string => {
      const asInput = opset >= (op === 'ReduceSum' ? 13 : 18);
      g.addNode({
        opType: op, name: out, inputs: asInput ? [input, axesInput()] : [input], outputs: [out],
        attributes: { keepdims: attr.int(0), ...(asInput ? {} : { axes: attr.ints(axes) }) },
      });
      const v = g.value(out)!;
      g.addOutput(v);
      return out;
    };
    const node = (op: string, inputs: Value[], out: string, attributes = {}): Value =>
      g.addNode({ opType: op, name: out, inputs, outputs: [out], attributes }).outputs[0];
    const ones = Array.from({ length: t.rank - 2 }, () => 1);
    const centre = g.addInput(`${base}/centre`, { dtype: 'float64', shape: [t.channels, ...ones] });
    const wide = t.dtype === 'float64' ? x : node('Cast', [x], `${base}/f64`, { to: attr.int(DTYPES.float64.onnx) });
    const d = node('Sub', [wide, centre], `${base}/d`);
    const entry: { -readonly [K in keyof EngineTargetIO]: EngineTargetIO[K] } = {
      centre: centre.name,
      min: reduce('ReduceMin', x, `${base}/min`),
      max: reduce('ReduceMax', x, `${base}/max`),
      sum: reduce('ReduceSum', d, `${base}/sum`),
      // Mul + ReduceSum rather than ReduceSumSquare (and Abs + ReduceSum rather than ReduceL1):
      // onnxruntime 1.30 reduces only ReduceSum through its fast kernel, the others cost 3.5x as much.
      sumSquares: reduce('ReduceSum', node('Mul', [d, d], `${base}/d2`), `${base}/sum2`),
    };
    if (t.deviation) {
      entry.absSum = reduce('ReduceSum', node('Abs', [d], `${base}/ad`), `${base}/abs`);
      const tc = g.addInput(`${base}/tcentre`, { dtype: 'float64', shape: [1, ...ones] });
      entry.tensorCentre = tc.name;
      entry.absTensorSum = reduce('ReduceSum', node('Abs', [node('Sub', [wide, tc], `${base}/dt`)], `${base}/adt`), `${base}/abst`);
    }
    io.push(entry);
  });
  return { model: copy, io };
}
