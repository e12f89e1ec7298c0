import type { Executor, ExecutorFactory } from '@nibble/core';
import { cloneModel, type DType, DTYPES, type Graph, inferShapes, type Model, NibbleError, Tensor } from '@nibble/ir';
import { perTensorStats, type ValueStatistics } from './calibration-stats';
import { EngineValueCollector, reduceInJs } from './engine-collector';
import { augmentForStatistics, type EngineTarget, type EngineTargetIO } from './engine-graph';
import { CalibrationRunner, type Observed } from './runner';
import type { CalibrationData, CalibrationOptions } from './service';
import type { ActivationCandidate } from './targets';

/** Default of CalibrationOptions.madTolerance. */
export const DEFAULT_MAD_TOLERANCE = 1e-6;

/** The node outputs whose statistics the engine can reduce, with their graph facts. */
export interface EnginePlan {
  readonly targets: EngineTarget[];
  /** Values per sample and channel of each target (the product of the dims after 1). */
  readonly perSample: number[];
  readonly shapes: number[][];
}

const ENGINE_DTYPES: ReadonlySet<DType> = new Set<DType>(['float32', 'float64']);

/**
 * Whether the statistics asked for can be taken inside the engine, and of
 * what: no histograms (they need the data), the exact or no deviation,
 * and every observed node output of a known float32/float64 type whose dims
 * after the batch are static (the counts follow from the shapes). Anything
 * else: undefined, and the analysis fetches the activations instead.
 */
export function planEngineStatistics(model: Model, candidates: readonly ActivationCandidate[], options: CalibrationOptions): EnginePlan | undefined {
  if (options.engine === false || options.histogram || !(options.mad === undefined || options.mad === 'two-pass' || options.mad === false)) return undefined;
  const probe = cloneModel(model);
  try {
    inferShapes(probe.graph, probe.opsetImports.get('') ?? 21);
  } catch {
    return undefined;
  }
  const plan: EnginePlan = { targets: [], perSample: [], shapes: [] };
  for (const c of candidates) {
    const type = probe.graph.value(c.name)?.type;
    if (c.source === 'input') {
      // Read from the feeds in JS: float32/float64 as numbers; anything else float goes the JS path's way.
      const dt = type?.dtype;
      if (!dt || (DTYPES[dt].isFloat && !ENGINE_DTYPES.has(dt)) || (c.explicit && !ENGINE_DTYPES.has(dt))) return undefined;
      continue;
    }
    const shape = type?.shape;
    if (!type?.dtype || !shape) return undefined;
    if (!ENGINE_DTYPES.has(type.dtype) || shape.length < 2) {
      // A float value of another type, or one the JS path must reject by name: let it decide.
      if (c.explicit || type.dtype === 'float16' || type.dtype === 'bfloat16' as DType) return undefined;
      continue;
    }
    const dims = shape.slice(1);
    if (!dims.every((d): d is number => typeof d === 'number' && d > 0)) return undefined;
    plan.targets.push({ name: c.name, dtype: type.dtype, rank: shape.length, channels: dims[0], deviation: c.deviation && options.mad !== false });
    plan.perSample.push(dims.slice(1).reduce((a, b) => a * b, 1));
    plan.shapes.push(dims);
  }
  return plan;
}

/** Centre feeds of a target: [C, 1, ...] and [1, 1, ...] float64. */
function centreFeeds(t: EngineTarget, io: EngineTargetIO, centre: Float64Array, tensorCentre: number): Record<string, Tensor> {
  const ones = Array.from({ length: t.rank - 2 }, () => 1);
  const out: Record<string, Tensor> = { [io.centre]: new Tensor('float64', [t.channels, ...ones], centre) };
  if (io.tensorCentre) out[io.tensorCentre] = new Tensor('float64', [1, ...ones], Float64Array.of(tensorCentre));
  return out;
}

/**
 * The augmented model behind the Executor the runner drives: it takes the
 * original inputs, adds each target's centres (the running means, or the
 * final ones in a second pass) and hands them back beside the reductions,
 * so that the collectors know what each run was centred on even though the
 * runner starts a run before the previous one is collected. The very first
 * run is made twice: with centre 0 to learn provisional means, then about
 * them (a sum of squares about 0 would cancel when |mean| >> std).
 */
class CentringExecutor implements Executor {
  readonly inputNames: readonly string[];
  readonly outputNames: readonly string[];
  finalCentres: { centre: Float64Array; tensorCentre: number }[] | undefined;

  constructor(
    private readonly inner: Executor,
    inputs: readonly string[],
    private readonly targets: readonly EngineTarget[],
    private readonly io: readonly EngineTargetIO[],
    private readonly collectors: readonly EngineValueCollector[],
    private readonly perSample: readonly number[],
  ) {
    this.inputNames = inputs;
    this.outputNames = inner.outputNames;
  }

  async run(feeds: Record<string, Tensor>, fetch?: readonly string[]): Promise<Record<string, Tensor>> {
    let centres = this.finalCentres ?? this.collectors.map((c) => c.centres());
    if (!this.finalCentres && this.collectors.every((c) => c.count === 0)) {
      const probe = await this.runWith(feeds, this.io.map((e) => e.sum), centres);
      const n = feeds[this.inputNames[0]].shape[0];
      centres = this.targets.map((_, i) => ({
        centre: Float64Array.from(probe[this.io[i].sum].data as Float64Array, (s) => s / (n * this.perSample[i])),
        tensorCentre: 0,
      }));
      for (const c of centres) c.tensorCentre = c.centre.reduce((a, b) => a + b, 0) / c.centre.length;
    }
    const out = await this.runWith(feeds, fetch ?? this.outputNames, centres);
    // The centres travel with the results, as tensors keyed by their input names.
    this.targets.forEach((t, i) => Object.assign(out, centreFeeds(t, this.io[i], centres[i].centre, centres[i].tensorCentre)));
    return out;
  }

  private runWith(feeds: Record<string, Tensor>, fetch: readonly string[], centres: { centre: Float64Array; tensorCentre: number }[]): Promise<Record<string, Tensor>> {
    const all: Record<string, Tensor> = { ...feeds };
    this.targets.forEach((t, i) => Object.assign(all, centreFeeds(t, this.io[i], centres[i].centre, centres[i].tensorCentre)));
    return this.inner.run(all, fetch);
  }

  dispose(): Promise<void> {
    return this.inner.dispose();
  }
}

/**
 * Calibration statistics with the reductions inside the engine (see
 * README.md): one pass gives min, max, mean and variance exactly and the
 * mean absolute deviations within a bound; a second pass, about the final
 * means, only for the values whose bound exceeds `madTolerance` x b.
 * Graph inputs among the candidates are read from the feeds in JS.
 */
export async function collectInEngine(
  graph: Graph, model: Model, plan: EnginePlan, candidates: readonly ActivationCandidate[],
  factory: ExecutorFactory, data: CalibrationData, options: CalibrationOptions, runBytes: number,
): Promise<{ activations: ValueStatistics[]; passes: 1 | 2; samples: number }> {
  const { model: augmented, io } = augmentForStatistics(model, plan.targets);
  const inner = await factory(augmented, {});
  const collectors = plan.targets.map((t) => new EngineValueCollector(t.name, t.channels, t.deviation));
  const inputs = graph.inputs.filter((v) => !v.isInitializer).map((v) => v.name);
  const executor = new CentringExecutor(inner, inputs, plan.targets, io, collectors, plan.perSample);
  try {
    const fetch = io.flatMap((e) => [e.min, e.max, e.sum, e.sumSquares, ...(e.absSum ? [e.absSum, e.absTensorSum!] : [])]);
    const runner = new CalibrationRunner(graph, executor, data, fetch, runBytes, options.onProgress);
    const inputCands = candidates.filter((c) => c.source === 'input');
    let inputTargets: InputTarget[] | undefined;
    for await (const observed of runner.observe(1)) {
      inputTargets ??= chooseInputs(inputCands, observed, options);
      for (const t of inputTargets) updateInput(t, observed[t.c.name]);
      const n = observed[inputs[0]].shape[0];
      plan.targets.forEach((t, i) => collectors[i].update({
        n: n * plan.perSample[i],
        centre: observed[io[i].centre].data as Float64Array,
        tensorCentre: io[i].tensorCentre ? (observed[io[i].tensorCentre!].data as Float64Array)[0] : 0,
        min: observed[io[i].min], max: observed[io[i].max], sum: observed[io[i].sum], sumSquares: observed[io[i].sumSquares],
        ...(io[i].absSum ? { absSum: observed[io[i].absSum!], absTensorSum: observed[io[i].absTensorSum!] } : {}),
      }));
    }
    if (runner.samplesSeen === 0) {
      throw new NibbleError('E_DATA', 'the calibration data yielded no samples', { hint: 'give at least one calibration sample' });
    }
    const tolerance = options.madTolerance ?? DEFAULT_MAD_TOLERANCE;
    const again = collectors.map((c, i) => ({ c, i })).filter(({ c }) => c.needsSecondPass(tolerance));
    const inputsAgain = (inputTargets ?? []).filter((t) => t.col.needsSecondPass(tolerance));
    const inputCentres = inputsAgain.map((t) => t.col.finalCentres());
    const passes = again.length + inputsAgain.length > 0 ? 2 : 1;
    if (passes === 2) {
      executor.finalCentres = collectors.map((c) => c.finalCentres());
      const fetch2 = again.flatMap(({ i }) => [io[i].absSum!, io[i].absTensorSum!]);
      for await (const observed of runner.observe(2, fetch2)) {
        inputsAgain.forEach((t, k) => {
          const x = observed[t.c.name];
          const r = reduceInJs(x, inputCentres[k].centre, inputCentres[k].tensorCentre, true);
          t.col.updateSecondPass(r.absSum!, r.absTensorSum!, x.size / x.shape[1]);
        });
        const n = observed[inputs[0]].shape[0];
        for (const { c, i } of again) c.updateSecondPass(observed[io[i].absSum!], observed[io[i].absTensorSum!], n * plan.perSample[i]);
      }
    }
    const perChannel = options.perChannel !== false;
    const byName = new Map<string, ValueStatistics>();
    for (const t of inputTargets ?? []) {
      const { perTensor, perChannel: pc } = t.col.result(perChannel);
      byName.set(t.c.name, { name: t.c.name, kind: 'input', shape: t.shape, axis: pc ? 1 : null, perTensor: perTensorStats(perTensor), ...(pc ? { perChannel: pc } : {}) });
    }
    plan.targets.forEach((t, i) => {
      const { perTensor, perChannel: pc } = collectors[i].result(perChannel);
      byName.set(t.name, { name: t.name, kind: 'activation', shape: plan.shapes[i], axis: pc ? 1 : null, perTensor: perTensorStats(perTensor), ...(pc ? { perChannel: pc } : {}) });
    });
    // Graph order, as the JS path gives them.
    const activations = candidates.map((c) => byName.get(c.name)).filter((v): v is ValueStatistics => v !== undefined);
    return { activations, passes, samples: runner.samplesSeen };
  } finally {
    await executor.dispose();
  }
}

interface InputTarget {
  c: ActivationCandidate;
  col: EngineValueCollector;
  shape: number[];
}

/**
 * A graph input's run, reduced in JS like the engine reduces activations,
 * about the collector's running centres (the first run is reduced twice:
 * once about 0 for provisional centres, as the engine does).
 */
function updateInput(t: InputTarget, x: Tensor): void {
  const n = x.size / x.shape[1];
  let { centre, tensorCentre } = t.col.centres();
  if (t.col.count === 0) {
    centre = Float64Array.from(reduceInJs(x, centre, 0, false).sum.data as Float64Array, (s) => s / n);
    tensorCentre = centre.reduce((a, b) => a + b, 0) / centre.length;
  }
  t.col.update({ n, centre, tensorCentre, ...reduceInJs(x, centre, tensorCentre, t.col.deviation) });
}

/** The graph inputs among the candidates that are float of rank >= 2 (as the JS path chooses them). */
function chooseInputs(cands: readonly ActivationCandidate[], observed: Observed, options: CalibrationOptions): InputTarget[] {
  const out: InputTarget[] = [];
  for (const c of cands) {
    const t = observed[c.name];
    if (!t || !ENGINE_DTYPES.has(t.dtype) || t.rank < 2) {
      if (c.explicit) {
        throw new NibbleError('E_BAD_OPTION', `calibration value '${c.name}' is ${t ? t.dtype : 'not produced'}, not a float tensor`, {
          option: 'values', value: c.name, hint: 'statistics are taken of float activations only',
        });
      }
      continue;
    }
    out.push({ c, col: new EngineValueCollector(c.name, t.shape[1], c.deviation && options.mad !== false), shape: t.shape.slice(1) });
  }
  return out;
}
