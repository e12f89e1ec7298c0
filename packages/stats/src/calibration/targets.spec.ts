import { createPassContext, EXECUTOR_FACTORY, type ExecutorFactory, SOURCE_MODEL } from '@nibble/core';
import { type Model, type QuantPoint, setQuantPoint } from '@nibble/ir';
import { createOrtExecutor } from '@nibble/runtime';
import { relDiff } from '@nibble/testing';
import { CALIBRATION_STATS } from './analysis';
import { CALIBRATION_DATA, CALIBRATION_OPTIONS, type CalibrationOptions } from './service';
import { activationCandidates, quantizationReads } from './targets';
import { arrayData, seededInputs, SMALL_NET_ACTIVATIONS, smallConvNet } from '../testing/calibration';

/*
 * What the analysis observes by default: everything without quantization
 * points, what the quantization passes read with them (docs/quantized-ir.md).
 * smallConvNet: x -> c1 -> r1 -> c2, x -> sc, sum = c2 + sc, scaled, r2, gap,
 * flat -> logits (Gemm).
 */

const ACT: QuantPoint = { kind: 'activation', bits: 4, perChannel: true, axis: 1, signed: false, role: 'default', layer: 'c1', op: 'Conv' };
const WEIGHT: QuantPoint = { kind: 'weight', bits: 4, perChannel: true, axis: 0, signed: true, role: 'default', layer: 'c2', op: 'Conv' };

const names = (model: Model, values?: readonly string[]) => activationCandidates(model.graph, values).map((c) => c.name);

/** c1's output marked; the weights of c2 (reads r1) and of the shortcut sc (reads the input x) marked. */
function markedNet(): Model {
  const model = smallConvNet();
  setQuantPoint(model.graph.value('c1')!, ACT);
  setQuantPoint(model.graph.value('w2')!, WEIGHT);
  setQuantPoint(model.graph.value('w3')!, { ...WEIGHT, layer: 'sc' });
  return model;
}

describe('the activations calibration observes', () => {
  it('without quantization points: every float data-dependent value', () => {
    const model = smallConvNet();
    expect(quantizationReads(model.graph)).toBeUndefined();
    expect(names(model)).toEqual(SMALL_NET_ACTIVATIONS);
  });

  it('with them: the marked activations and the data inputs of layers whose weights are marked, in graph order', () => {
    const model = markedNet();
    expect([...quantizationReads(model.graph)!].map(([v, why]) => `${v.name}:${why}`).sort()).toEqual(['c1:marked', 'r1:layer-input', 'x:layer-input']);
    const candidates = activationCandidates(model.graph);
    // Layer inputs are read for their means only: no deviation, so no second pass for them.
    expect(candidates.map((c) => `${c.name}:${c.source}:${c.deviation}`)).toEqual(['x:input:false', 'c1:node:true', 'r1:node:false']);
    expect(candidates.every((c) => !c.explicit)).toBe(true);
    // Named values replace the choice, marks or not, with every statistic.
    expect(activationCandidates(model.graph, ['sum', 'logits']).map((c) => `${c.name}:${c.deviation}`)).toEqual(['sum:true', 'logits:true']);
    // Without layer inputs (a pipeline that folds no bias): the marked activations alone.
    expect(activationCandidates(model.graph, undefined, { layerInputs: false }).map((c) => c.name)).toEqual(['c1']);
    // A layer input that is itself marked keeps its deviation.
    setQuantPoint(model.graph.value('r1')!, { ...ACT, layer: 'r1', op: 'Relu' });
    expect(activationCandidates(model.graph).map((c) => `${c.name}:${c.deviation}`)).toEqual(['x:false', 'c1:true', 'r1:true']);
  });
});

describe('CALIBRATION_STATS with quantization points marked', () => {
  const x = seededInputs(21, 4);

  async function calibrate(model: Model, options: CalibrationOptions = {}) {
    const sessions: string[][] = [];
    const runs: string[][] = [];
    const factory: ExecutorFactory = async (m, o) => {
      sessions.push([...(o?.extraOutputs ?? [])]);
      const e = await createOrtExecutor(m, o);
      return { ...e, inputNames: e.inputNames, outputNames: e.outputNames, run: (f, fetch) => (runs.push([...(fetch ?? [])]), e.run(f, fetch)), dispose: () => e.dispose() };
    };
    const ctx = createPassContext();
    ctx.services.set(EXECUTOR_FACTORY, factory).set(SOURCE_MODEL, model).set(CALIBRATION_DATA, arrayData('x', x, [3, 8, 8], 8))
      // What is fetched is the JS path's concern (engine.spec.ts covers the engine path).
      .set(CALIBRATION_OPTIONS, { weights: false, engine: false, ...options });
    return { stats: await ctx.getAnalysis(CALIBRATION_STATS, model.graph), sessions, runs };
  }

  it('asks the engine for those values only, and again only for those whose deviation needs a second pass', async () => {
    const marked = await calibrate(markedNet());
    expect(marked.sessions).toEqual([['c1', 'r1']]);
    expect([...new Set(marked.runs.map((r) => r.join()))]).toEqual(['c1,r1', 'c1']);
    expect(marked.stats.passes).toBe(2);
    expect(marked.stats.activationNames()).toEqual(['x', 'c1', 'r1']);
    // Named, the same values get the same statistics, and deviations everywhere.
    const named = await calibrate(smallConvNet(), { values: ['x', 'c1', 'r1'] });
    expect(JSON.stringify(marked.stats.get('c1'))).toBe(JSON.stringify(named.stats.get('c1')));
    for (const name of ['x', 'r1']) {
      const a = marked.stats.get(name);
      const b = named.stats.get(name);
      expect(Array.from(a.perChannel!.mean)).toEqual(Array.from(b.perChannel!.mean));
      expect(Array.from(a.perChannel!.std)).toEqual(Array.from(b.perChannel!.std));
      expect([a.perTensor.min, a.perTensor.max]).toEqual([b.perTensor.min, b.perTensor.max]);
      expect(Array.from(a.perChannel!.mad).every(Number.isNaN)).toBe(true);
      expect(Array.from(b.perChannel!.mad).every((m) => m > 0)).toBe(true);
    }
  });

  it('makes one pass when only means are wanted (marked weights, no marked activations)', async () => {
    const model = smallConvNet();
    setQuantPoint(model.graph.value('w2')!, WEIGHT);
    const { stats, sessions, runs } = await calibrate(model);
    expect(sessions).toEqual([['r1']]);
    expect(stats.passes).toBe(1);
    expect(runs.every((r) => r.join() === 'r1')).toBe(true);
  });

  it('agrees with observing everything (the runs are cut differently: rounding only)', async () => {
    const { stats } = await calibrate(markedNet());
    const all = await calibrate(smallConvNet());
    expect(all.sessions[0]).toEqual(SMALL_NET_ACTIVATIONS.slice(1));
    for (const name of ['x', 'c1', 'r1']) {
      const a = stats.get(name).perChannel!;
      const b = all.stats.get(name).perChannel!;
      expect(Array.from(a.count)).toEqual(Array.from(b.count));
      expect(Array.from(a.min)).toEqual(Array.from(b.min));
      expect(Array.from(a.max)).toEqual(Array.from(b.max));
      a.mean.forEach((m, c) => expect(relDiff(m, b.mean[c], b.std[c])).toBeLessThan(1e-12));
      a.std.forEach((m, c) => expect(relDiff(m, b.std[c])).toBeLessThan(1e-12));
    }
    stats.get('c1').perChannel!.mad.forEach((m, c) => expect(relDiff(m, all.stats.get('c1').perChannel!.mad[c])).toBeLessThan(1e-12));
  });
});
