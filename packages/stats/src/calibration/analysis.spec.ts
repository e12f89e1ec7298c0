import { createPassContext, definePass, EXECUTOR_FACTORY, type ExecutorFactory, PassRegistry, runPipeline, SOURCE_MODEL } from '@nibble/core';
import { constantTensor, type Model, NibbleError } from '@nibble/ir';
import { createOrtExecutor } from '@nibble/runtime';
import { bruteStats, type BruteStats, channelOf, concat, relDiff, runAll } from '@nibble/testing';
import { CALIBRATION_STATS } from './analysis';
import { channelStats, TensorStatsCollector } from '../tensor-stats';
import { CalibrationStats, type ValueStatistics } from './calibration-stats';
import { CALIBRATION_DATA, CALIBRATION_OPTIONS, type CalibrationOptions, type CalibrationProgress } from './service';
import { arrayData, seededInputs, SMALL_NET_ACTIVATIONS, smallConvNet } from '../testing/calibration';

const N = 37;
const BATCH = 8;

function context(model: Model, data: ReturnType<typeof arrayData>, options?: CalibrationOptions, factory: ExecutorFactory = createOrtExecutor) {
  const ctx = createPassContext();
  ctx.services.set(EXECUTOR_FACTORY, factory).set(SOURCE_MODEL, model).set(CALIBRATION_DATA, data);
  if (options) ctx.services.set(CALIBRATION_OPTIONS, options);
  return ctx;
}

/** Every statistic within 1e-9 of the float64 reference (relative; the mean relative to the spread when it is near zero). */
function expectClose(got: { count: number; min: number; max: number; mean: number; variance: number; std: number; mad: number }, want: BruteStats, what: string) {
  const bad: string[] = [];
  if (got.count !== want.count) bad.push(`count ${got.count} != ${want.count}`);
  if (got.min !== want.min) bad.push(`min ${got.min} != ${want.min}`);
  if (got.max !== want.max) bad.push(`max ${got.max} != ${want.max}`);
  const check = (k: 'mean' | 'variance' | 'std' | 'mad', floor: number) => {
    const e = relDiff(got[k], want[k], floor);
    if (!(e <= 1e-9)) bad.push(`${k} ${got[k]} vs ${want[k]} (rel ${e})`);
  };
  check('mean', want.std);
  check('variance', 1e-300);
  check('std', 1e-300);
  check('mad', 1e-300);
  if (bad.length) throw new Error(`${what}: ${bad.join('; ')}`);
}

function perChannelRecord(v: ValueStatistics, c: number) {
  const p = v.perChannel!;
  return { count: p.count[c], min: p.min[c], max: p.max[c], mean: p.mean[c], variance: p.variance[c], std: p.std[c], mad: p.mad[c] };
}

describe('CALIBRATION_STATS on a small conv net', () => {
  const model = smallConvNet();
  const x = seededInputs(N, 5);
  let stats: CalibrationStats;
  let brute: Map<string, { data: Float64Array; shape: number[] }[]>;
  const progress: CalibrationProgress[] = [];

  beforeAll(async () => {
    const data = arrayData('x', x, [3, 8, 8], BATCH);
    const ctx = context(model, data, { onProgress: (p) => progress.push({ ...p }) });
    stats = await ctx.getAnalysis(CALIBRATION_STATS, model.graph);
    const executor = await createOrtExecutor(model, { extraOutputs: SMALL_NET_ACTIVATIONS.slice(1) });
    try {
      brute = await runAll(executor, data, SMALL_NET_ACTIVATIONS);
    } finally {
      await executor.dispose();
    }
  });

  it('observes every float activation and input, skipping the shape path', () => {
    expect(stats.activationNames()).toEqual(SMALL_NET_ACTIVATIONS);
    expect(stats.samples).toBe(N);
    expect(stats.get('c1').shape).toEqual([4, 8, 8]);
    expect(stats.get('flat').shape).toEqual([6]);
    expect(stats.get('x').kind).toBe('input');
    expect(stats.get('r2').kind).toBe('activation');
    expect(() => stats.get('target')).toThrow(NibbleError);
  });

  it('agrees with a float64 brute force over the same batches, per tensor and per channel (1e-9)', () => {
    for (const name of SMALL_NET_ACTIVATIONS) {
      const batches = brute.get(name)!;
      const v = stats.get(name);
      expectClose(v.perTensor, bruteStats(concat(batches.map((b) => b.data))), `${name} per tensor`);
      expect(v.axis).toBe(1);
      const channels = batches[0].shape[1];
      expect(v.perChannel!.channels).toBe(channels);
      for (let c = 0; c < channels; c++) expectClose(perChannelRecord(v, c), bruteStats(channelOf(batches, 1, c)), `${name} channel ${c}`);
    }
  });

  it('reports progress after every batch', () => {
    // The first run holds one sample (it measures the activations' size); the rest run as the data batches them.
    const onePass = [1, 8, 16, 24, 32, 37].map((n) => `1:${n}/${N}`);
    expect(stats.passes).toBe(2);
    expect(progress.map((p) => `${p.pass}:${p.samplesDone}/${p.samplesTotal}`)).toEqual([...onePass, ...onePass.map((t) => t.replace(/^1/, '2'))]);
  });

  it('computes weight statistics from the constants, per output channel', () => {
    expect(stats.weightNames()).toEqual(['w1', 'b1', 'w2', 'b2', 'w3', 'b3', 'scale', 'wfc', 'bfc']);
    const axes = Object.fromEntries(stats.weightNames().map((n) => [n, stats.weights(n).axis]));
    expect(axes).toEqual({ w1: 0, b1: 0, w2: 0, b2: 0, w3: 0, b3: 0, scale: 0, wfc: 1, bfc: 0 });
    for (const name of stats.weightNames()) {
      const w = stats.weights(name);
      const t = constantTensor(model.graph.value(name))!;
      const batch = [{ data: t.toFloat64(), shape: [...t.shape] }];
      expectClose(w.perTensor, bruteStats(t.toFloat64()), `${name} per tensor`);
      expect(w.perTensor.madExact).toBe(true);
      for (let c = 0; c < w.perChannel!.channels; c++) expectClose(perChannelRecord(w, c), bruteStats(channelOf(batch, w.axis!, c)), `${name} channel ${c}`);
    }
    expect(stats.weights('wfc').perChannel!.channels).toBe(5);
  });

  it('per channel equals per tensor computed on each channel slice', () => {
    // A per-tensor collector fed channel c's slice of every batch, as its own tensor.
    for (const name of ['c1', 'gap', 'logits']) {
      const batches = brute.get(name)!;
      const v = stats.get(name);
      for (let c = 0; c < batches[0].shape[1]; c++) {
        const col = new TensorStatsCollector({ axis: null });
        for (const b of batches) col.update({ data: channelOf([b], 1, c), shape: [b.shape[0], 1, ...b.shape.slice(2)] });
        if (col.needsSecondPass) for (const b of batches) col.updateSecondPass({ data: channelOf([b], 1, c), shape: [b.shape[0], 1, ...b.shape.slice(2)] });
        const slice = channelStats(col.result(), 0);
        const mine = channelStats(v.perChannel!, c);
        expect([mine.count, mine.min, mine.max, mine.madExact]).toEqual([slice.count, slice.min, slice.max, slice.madExact]);
        for (const k of ['mean', 'variance', 'std', 'mad'] as const) expect(relDiff(mine[k], slice[k], slice.std)).toBeLessThanOrEqual(1e-12);
      }
    }
  });

  it('round-trips through JSON exactly', () => {
    const text = JSON.stringify(stats);
    const back = CalibrationStats.fromJSON(JSON.parse(text));
    expect(JSON.stringify(back)).toBe(text);
    expect(back.get('r1').perChannel!.mean).toEqual(stats.get('r1').perChannel!.mean);
    expect(() => CalibrationStats.fromJSON({ format: 'other' })).toThrow(/not a nibble calibration statistics file/);
  });
});

describe('CALIBRATION_STATS options and caching', () => {
  const model = smallConvNet();
  const x = seededInputs(20, 9);

  it('is computed once across passes that preserve it, and again after one that does not', async () => {
    const data = arrayData('x', x, [3, 8, 8], 8);
    const ctx = context(model, data, { weights: false });
    const keep = (name: string) => definePass({
      name, summary: 'reads the statistics', requires: [CALIBRATION_STATS], preserves: [CALIBRATION_STATS],
      run: (graph, c) => {
        expect(c.getCachedAnalysis(CALIBRATION_STATS)).toBeInstanceOf(CalibrationStats);
        return { graph, modified: true };
      },
    });
    const drop = definePass({ name: 'touch', summary: 'modifies the graph', run: (graph) => ({ graph, modified: true }) });
    const registry = new PassRegistry();
    [keep('first'), keep('second'), drop, keep('third')].forEach((p) => registry.register(p));
    await runPipeline(model.graph, 'first,second', ctx, { registry });
    expect(ctx.analyses.computeCounts.get('calibration-stats')).toBe(1);
    expect(data.calls).toBe(2);
    await runPipeline(model.graph, 'touch,third', ctx, { registry });
    expect(ctx.analyses.computeCounts.get('calibration-stats')).toBe(2);
  });

  it('cuts batches into runs under the byte budget, the same way on both passes, matching the brute force', async () => {
    const data = arrayData('x', x, [3, 8, 8], 6);
    const progress: CalibrationProgress[] = [];
    // r1 is 4x8x8 floats and logits 5 a sample: 1044 bytes, so two samples a run.
    const ctx = context(model, data, { values: ['r1', 'logits'], runBytes: 2100, histogram: { bins: 64 }, onProgress: (p) => progress.push(p) });
    const stats = await ctx.getAnalysis(CALIBRATION_STATS, model.graph);
    expect(stats.passes).toBe(2);
    expect(data.calls).toBe(2);
    const runs = [1, 3, 5, 6, 8, 10, 12, 14, 16, 18, 20];
    expect(progress.map((p) => `${p.pass}:${p.samplesDone}`)).toEqual([...runs.map((n) => `1:${n}`), ...runs.map((n) => `2:${n}`)]);
    expect(stats.activationNames()).toEqual(['r1', 'logits']);
    const executor = await createOrtExecutor(model, { extraOutputs: ['r1'] });
    const brute = await runAll(executor, data, ['r1', 'logits']);
    await executor.dispose();
    const all = concat(brute.get('r1')!.map((b) => b.data));
    expectClose(stats.get('r1').perTensor, bruteStats(all), 'r1 per tensor, cut into runs');
    const h = stats.get('r1').perTensor.histogram!;
    expect(h.count).toBe(all.length);
    // Counts on the histogram's own edges, by brute force.
    const counts = new Float64Array(h.bins);
    for (const v of all) counts[Math.min(h.bins - 1, Math.floor(v / h.binWidth) - h.start)]++;
    expect(Array.from(h.counts)).toEqual(Array.from(counts));
    expect(stats.get('r1').perChannel!.histograms!.length).toBe(4);
  });

  it('makes one pass with the one-pass deviation', async () => {
    const data = arrayData('x', x, [3, 8, 8], 8);
    const stats = await context(model, data, { mad: 'one-pass', weights: false }).getAnalysis(CALIBRATION_STATS, model.graph);
    expect([stats.passes, data.calls]).toEqual([1, 1]);
    expect(stats.get('c2').perTensor.mad).toBeGreaterThan(0);
  });

  it('skips per-channel statistics, deviations and weights when asked; JSON keeps NaN and infinities', async () => {
    const ctx = context(model, arrayData('x', x, [3, 8, 8], 8), { perChannel: false, weights: false, mad: false });
    const stats = await ctx.getAnalysis(CALIBRATION_STATS, model.graph);
    const c1 = stats.get('c1');
    expect(c1.perChannel).toBeUndefined();
    expect(c1.axis).toBeNull();
    expect(stats.weightNames()).toEqual([]);
    expect([c1.perTensor.mad, c1.perTensor.madErrorBound]).toEqual([NaN, Infinity]);
    const text = JSON.stringify(stats);
    expect(text).toContain('"mad":["NaN"]');
    const back = CalibrationStats.fromJSON(JSON.parse(text)).get('c1').perTensor;
    expect([back.mad, back.madErrorBound, back.mean]).toEqual([NaN, Infinity, c1.perTensor.mean]);
  });

  it('names what is wrong: missing services, unknown values, mismatched feeds, empty data', async () => {
    const bare = createPassContext();
    await expect(bare.getAnalysis(CALIBRATION_STATS, model.graph)).rejects.toThrow(/calibration-data/);
    const unknown = context(model, arrayData('x', x, [3, 8, 8], 8), { values: ['nope'] });
    await expect(unknown.getAnalysis(CALIBRATION_STATS, model.graph)).rejects.toMatchObject({ code: 'E_BAD_OPTION', place: { value: 'nope' } });
    const weight = context(model, arrayData('x', x, [3, 8, 8], 8), { values: ['w1'] });
    await expect(weight.getAnalysis(CALIBRATION_STATS, model.graph)).rejects.toThrow(/is a constant/);
    const wrongName = context(model, arrayData('image', x, [3, 8, 8], 8));
    await expect(wrongName.getAnalysis(CALIBRATION_STATS, model.graph)).rejects.toThrow(/no tensor for the model input 'x'/);
    const wrongShape = context(model, arrayData('x', x, [3, 16, 4], 8));
    await expect(wrongShape.getAnalysis(CALIBRATION_STATS, model.graph)).rejects.toMatchObject({ code: 'E_SHAPE' });
    const empty = context(model, arrayData('x', new Float32Array(0), [3, 8, 8], 8));
    await expect(empty.getAnalysis(CALIBRATION_STATS, model.graph)).rejects.toMatchObject({ code: 'E_DATA' });
  });

  it('disposes the executor, after the run in flight, when calibration fails', async () => {
    let disposed = 0;
    let running = 0;
    const factory: ExecutorFactory = async (m, o) => {
      const e = await createOrtExecutor(m, o);
      return {
        inputNames: e.inputNames, outputNames: e.outputNames,
        run: async (feeds, fetch) => {
          running++;
          try {
            return await e.run(feeds, fetch);
          } finally {
            running--;
          }
        },
        dispose: async () => {
          expect(running).toBe(0);
          disposed++;
          await e.dispose();
        },
      };
    };
    const bad = new Float32Array(5 * 3 * 64).fill(NaN);
    const nan = context(model, arrayData('x', bad, [3, 8, 8], 8), { weights: false }, factory);
    await expect(nan.getAnalysis(CALIBRATION_STATS, model.graph)).rejects.toMatchObject({ code: 'E_NUMERIC' });
    const intValue = context(model, arrayData('x', x, [3, 8, 8], 8), { values: ['c1', 'target'] }, factory);
    await expect(intValue.getAnalysis(CALIBRATION_STATS, model.graph)).rejects.toThrow(/'target' is int64, not a float tensor/);
    const badBins = context(model, arrayData('x', x, [3, 8, 8], 8), { histogram: { bins: 3 }, weights: false }, factory);
    await expect(badBins.getAnalysis(CALIBRATION_STATS, model.graph)).rejects.toMatchObject({ code: 'E_BAD_OPTION' });
    expect(disposed).toBe(3);
  });
});
