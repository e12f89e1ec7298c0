import { type AnalysisContext, defineAnalysis, EXECUTOR_FACTORY, modelForGraph } from '@nibble/core';
import { DTYPES, type Graph, NibbleError } from '@nibble/ir';
import { CalibrationStats, perTensorStats, type ValueStatistics } from './calibration-stats';
import { CALIBRATION_DATA, CALIBRATION_OPTIONS, type CalibrationNeeds, type CalibrationOptions } from './service';
import { collectInEngine, planEngineStatistics } from './engine';
import { CalibrationRunner, DEFAULT_RUN_BYTES, type Observed } from './runner';
import { activationCandidates, type ActivationCandidate } from './targets';
import { ValueCollector } from './value-collector';
import { weightStatistics } from './weights';

/**
 * Statistics of every tensor a quantization pipeline asks about: activations
 * from running the float graph (through the EXECUTOR_FACTORY service) over the
 * CALIBRATION_DATA batches, one batch at a time, and constant weights read
 * directly. Options come from the optional CALIBRATION_OPTIONS service.
 */
export const CALIBRATION_STATS = defineAnalysis<CalibrationStats, CalibrationNeeds>({
  name: 'calibration-stats',
  description: 'run the float model over the calibration data and collect per-tensor and per-channel statistics',
  mergeNeeds: (a, b) => ({ histograms: a.histograms === true || b.histograms === true, layerInputs: a.layerInputs === true || b.layerInputs === true }),
  compute: computeCalibrationStats,
});

/**
 * The caller's options completed by what the pipeline declared: histograms
 * and layer inputs exactly when a pass reads them. Outside a pipeline
 * (no declared needs) the options' own defaults hold.
 */
function effectiveCalibrationOptions(options: CalibrationOptions, needs: CalibrationNeeds | undefined): CalibrationOptions {
  if (!needs) return options;
  return {
    ...options,
    histogram: options.histogram || (needs.histograms ? {} : false),
    layerInputs: options.layerInputs ?? needs.layerInputs === true,
  };
}

async function computeCalibrationStats(graph: Graph, ctx: AnalysisContext<CalibrationNeeds>): Promise<CalibrationStats> {
  const options = effectiveCalibrationOptions(ctx.services.tryGet(CALIBRATION_OPTIONS) ?? {}, ctx.needs);
  const weights = options.weights === false ? [] : weightStatistics(graph, options);
  const data = ctx.service(CALIBRATION_DATA);
  const factory = ctx.service(EXECUTOR_FACTORY);
  const candidates = activationCandidates(graph, options.values, options);
  const model = modelForGraph(ctx.services, graph);
  const plan = planEngineStatistics(model, candidates, options);
  if (plan) {
    const r = await collectInEngine(graph, model, plan, candidates, factory, data, options, options.runBytes ?? DEFAULT_RUN_BYTES);
    return new CalibrationStats({ samples: r.samples, passes: r.passes, data: data.description, activations: r.activations, weights });
  }
  const fetch = candidates.filter((c) => c.source === 'node').map((c) => c.name);
  const executor = await factory(model, { extraOutputs: fetch });
  try {
    const runner = new CalibrationRunner(graph, executor, data, fetch, options.runBytes ?? DEFAULT_RUN_BYTES, options.onProgress);
    const { activations, passes } = await collectActivations(runner, candidates, options);
    return new CalibrationStats({ samples: runner.samplesSeen, passes, data: data.description, activations, weights });
  } finally {
    await executor.dispose();
  }
}

interface Target {
  name: string;
  kind: 'input' | 'activation';
  source: 'input' | 'node';
  shape: number[];
  perChannel: boolean;
  deviation: boolean;
}

/**
 * Streams the runs into one ValueCollector per observed value (per tensor,
 * and per channel along axis 1). The first run settles which candidates are
 * float tensors of rank >= 2 (types need not be declared) and then feeds the
 * collectors like the rest; a second pass over the data is made only when a
 * collector asks for one, and fetches only what those collectors read.
 */
async function collectActivations(runner: CalibrationRunner, candidates: readonly ActivationCandidate[], options: CalibrationOptions): Promise<{ activations: ValueStatistics[]; passes: 1 | 2 }> {
  const first = runner.observe(1);
  const head = await first.next();
  if (head.done) {
    throw new NibbleError('E_DATA', 'the calibration data yielded no samples', { hint: 'give at least one calibration sample' });
  }
  let targets: Target[];
  let collectors: ValueCollector[];
  try {
    targets = chooseTargets(candidates, head.value, options);
    collectors = targets.map((t) => new ValueCollector({
      name: t.name, perChannel: t.perChannel, mad: t.deviation ? options.mad ?? 'two-pass' : false, histogram: options.histogram ?? false,
    }));
  } catch (e) {
    // Let the run already started finish before the caller disposes the executor.
    await first.return(undefined);
    throw e;
  }
  await feed(prepend(head.value, first), targets, collectors, false);
  // The second pass feeds (and fetches) only the values whose deviations need it.
  const again = targets.map((t, i) => ({ t, c: collectors[i] })).filter(({ c }) => c.needsSecondPass);
  const passes = again.length > 0 ? 2 : 1;
  if (passes === 2) {
    const fetch = again.filter(({ t }) => t.source === 'node').map(({ t }) => t.name);
    await feed(runner.observe(2, fetch), again.map(({ t }) => t), again.map(({ c }) => c), true);
  }
  const activations = targets.map((t, i) => {
    const { perTensor, perChannel } = collectors[i].result();
    return {
      name: t.name, kind: t.kind, shape: t.shape, axis: perChannel ? 1 : null,
      perTensor: perTensorStats(perTensor), ...(perChannel ? { perChannel } : {}),
    };
  });
  return { activations, passes };
}

async function feed(runs: AsyncIterable<Observed>, targets: readonly Target[], collectors: readonly ValueCollector[], second: boolean): Promise<void> {
  for await (const observed of runs) {
    targets.forEach((t, i) => {
      const tensor = observed[t.name];
      if (second) collectors[i].updateSecondPass(tensor);
      else collectors[i].update(tensor);
    });
  }
}

function chooseTargets(candidates: readonly ActivationCandidate[], observed: Observed, options: CalibrationOptions): Target[] {
  const out: Target[] = [];
  for (const c of candidates) {
    const t = observed[c.name];
    const float = t !== undefined && DTYPES[t.dtype].isFloat;
    if (!float || t.rank < 2) {
      if (!c.explicit) continue;
      if (!float) {
        throw new NibbleError('E_BAD_OPTION', `calibration value '${c.name}' is ${t ? t.dtype : 'not produced'}, not a float tensor`, {
          option: 'values', value: c.name, hint: 'statistics are taken of float activations only',
        });
      }
    }
    out.push({
      name: c.name, kind: c.source === 'input' ? 'input' : 'activation', source: c.source, shape: t.shape.slice(1),
      perChannel: options.perChannel !== false && t.rank >= 2, deviation: c.deviation,
    });
  }
  return out;
}

/** The head, then the rest of the iterator (closed when the consumer stops early). */
async function* prepend<T>(head: T, rest: AsyncIterator<T>): AsyncGenerator<T> {
  try {
    yield head;
    for (let r = await rest.next(); !r.done; r = await rest.next()) yield r.value;
  } finally {
    await rest.return?.(undefined);
  }
}
