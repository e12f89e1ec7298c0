import { join } from 'path';
import { createPassContext, EXECUTOR_FACTORY, type ExecutorFactory, SOURCE_MODEL } from '@nibble/core';
import { openDataset } from '@nibble/data';
import { type Model, Tensor } from '@nibble/ir';
import { readOnnxFile } from '@nibble/onnx';
import { createOrtExecutor } from '@nibble/runtime';
import { relDiff } from '@nibble/testing';
import { CALIBRATION_STATS } from './analysis';
import type { CalibrationStats } from './calibration-stats';
import { CALIBRATION_DATA, CALIBRATION_OPTIONS, type CalibrationData, type CalibrationOptions } from './service';
import type { TensorStats } from '../tensor-stats';
import { arrayData, seededInputs, smallConvNet } from '../testing/calibration';

/*
 * The engine path (reductions as graph outputs) against the JS path (every
 * activation fetched, collectors checked against a float64 brute force in
 * analysis.spec.ts and ppocr.spec.ts).
 */

async function calibrate(model: Model, data: CalibrationData, options: CalibrationOptions): Promise<{ stats: CalibrationStats; fetched: string[][] }> {
  const fetched: string[][] = [];
  const factory: ExecutorFactory = async (m, o) => {
    fetched.push([...(o?.extraOutputs ?? [])]);
    return createOrtExecutor(m, o);
  };
  const ctx = createPassContext();
  ctx.services.set(EXECUTOR_FACTORY, factory).set(SOURCE_MODEL, model).set(CALIBRATION_DATA, data).set(CALIBRATION_OPTIONS, { weights: false, ...options });
  return { stats: await ctx.getAnalysis(CALIBRATION_STATS, model.graph), fetched };
}

interface Level { level: string; e: TensorStats | ReturnType<typeof asStats>; j: TensorStats | ReturnType<typeof asStats> }

const asStats = (p: CalibrationStats['get'] extends (n: string) => infer V ? V extends { perTensor: infer T } ? T : never : never) => ({
  count: [p.count], min: [p.min], max: [p.max], mean: [p.mean], std: [p.std], variance: [p.variance], mad: [p.mad], madErrorBound: [p.madErrorBound], madExact: [p.madExact ? 1 : 0],
});

/** Both levels of every activation in both results. */
function levels(engine: CalibrationStats, js: CalibrationStats): Level[] {
  expect(engine.activationNames()).toEqual(js.activationNames());
  return engine.activationNames().flatMap((name) => [
    { level: `${name} per tensor`, e: asStats(engine.get(name).perTensor), j: asStats(js.get(name).perTensor) },
    { level: `${name} per channel`, e: engine.get(name).perChannel!, j: js.get(name).perChannel! },
  ]);
}

/** Moments within 1e-9 relative (the mean relative to the spread near zero), min and max equal. */
function expectSameMoments(engine: CalibrationStats, js: CalibrationStats): void {
  const bad: string[] = [];
  for (const { level, e, j } of levels(engine, js)) {
    for (let c = 0; c < e.mean.length; c++) {
      if (e.count[c] !== j.count[c] || e.min[c] !== j.min[c] || e.max[c] !== j.max[c]) bad.push(`${level}[${c}] count/min/max`);
      if (!(relDiff(e.mean[c], j.mean[c], j.std[c]) <= 1e-9)) bad.push(`${level}[${c}] mean ${e.mean[c]} vs ${j.mean[c]}`);
      for (const k of ['std', 'variance'] as const) if (!(relDiff(e[k][c], j[k][c], 1e-300) <= 1e-9)) bad.push(`${level}[${c}] ${k} ${e[k][c]} vs ${j[k][c]}`);
    }
  }
  expect(bad).toEqual([]);
}

/** Every one-pass deviation within its bound of the exact one; returns the largest error seen. */
function expectWithinBound(engine: CalibrationStats, exact: CalibrationStats): number {
  const bad: string[] = [];
  let worst = 0;
  for (const { level, e, j } of levels(engine, exact)) {
    for (let c = 0; c < e.mad.length; c++) {
      const err = Math.abs(e.mad[c] - j.mad[c]);
      worst = Math.max(worst, err);
      // The bound is proven for exact arithmetic; the sums themselves round at about 1e-15 relative.
      if (!(err <= e.madErrorBound[c] + 1e-12 * j.mad[c])) bad.push(`${level}[${c}] |${e.mad[c]} - ${j.mad[c]}| > ${e.madErrorBound[c]}`);
    }
  }
  expect(bad).toEqual([]);
  return worst;
}

describe('calibration statistics inside the engine', () => {
  const x = seededInputs(29, 7);
  const data = () => arrayData('x', x, [3, 8, 8], 8);

  it('fetches no activation, and equals the JS path (moments to 1e-9, exact deviations by a second pass)', async () => {
    const engine = await calibrate(smallConvNet(), data(), {});
    const js = await calibrate(smallConvNet(), data(), { engine: false });
    expect(engine.fetched).toEqual([[]]);
    expect(js.fetched[0].length).toBeGreaterThan(5);
    expect(engine.stats.samples).toBe(29);
    expectSameMoments(engine.stats, js.stats);
    // Default tolerance 1e-6: the one-pass bound exceeds it, so the second pass makes b exact.
    expect(engine.stats.passes).toBe(2);
    for (const { level, e, j } of levels(engine.stats, js.stats)) {
      e.mad.forEach((m, c) => expect([level, c, relDiff(m, j.mad[c], 1e-300) <= 1e-9, e.madExact[c]]).toEqual([level, c, true, 1]));
    }
    // Same inputs, same bytes.
    const again = await calibrate(smallConvNet(), data(), {});
    expect(JSON.stringify(again.stats)).toBe(JSON.stringify(engine.stats));
  });

  it('one pass: every deviation within its documented bound, even with the provisional centres far off', async () => {
    // The first sample, which sets the first centres, sits 40 units away from the rest.
    const far = x.slice();
    for (let i = 0; i < 3 * 64; i++) far[i] += 40;
    const farData = () => arrayData('x', far, [3, 8, 8], 8);
    const onePass = await calibrate(smallConvNet(), farData(), { madTolerance: Infinity });
    const exact = await calibrate(smallConvNet(), farData(), { engine: false });
    expect(onePass.stats.passes).toBe(1);
    expectSameMoments(onePass.stats, exact.stats);
    const worst = expectWithinBound(onePass.stats, exact.stats);
    // The check has teeth: the centres were off enough to move b.
    expect(worst).toBeGreaterThan(1e-3);
    const c1 = onePass.stats.get('c1').perTensor;
    expect(c1.madExact).toBe(false);
    expect(c1.madErrorBound).toBeGreaterThan(0);
  });

  it('no tolerance keeps the one-pass deviations; values observed for their means get none', async () => {
    const loose = await calibrate(smallConvNet(), data(), { madTolerance: Infinity });
    expect(loose.stats.passes).toBe(1);
    const noMad = await calibrate(smallConvNet(), data(), { mad: false });
    expect(noMad.stats.passes).toBe(1);
    expect(noMad.stats.get('c1').perTensor.mad).toBeNaN();
    // Histograms need the data: the JS path.
    const hist = await calibrate(smallConvNet(), data(), { histogram: { bins: 16 }, mad: false });
    expect(hist.fetched[0].length).toBeGreaterThan(5);
  });
});

describe('calibration statistics inside the engine: trained ResNet-20 on Fashion-MNIST test images', () => {
  const ROOT = join(__dirname, '..', '..', '..', '..');

  async function images(n: number): Promise<CalibrationData> {
    const ds = await openDataset('fashion-mnist:test', { preprocess: 'fashion-mnist' });
    const { inputs } = await ds.batch(Array.from({ length: n }, (_, i) => i));
    return {
      samples: n,
      async *batches() {
        for (let s = 0; s < n; s += 6) {
          const k = Math.min(6, n - s);
          yield { input: new Tensor('float32', [k, ...inputs.shape.slice(1)], (inputs.data as Float32Array).slice(s * 784, (s + k) * 784)) };
        }
      },
    };
  }

  it('equals the JS path on real activations; the one-pass deviations are within their bounds and close', async () => {
    const model = await readOnnxFile(join(ROOT, 'models', 'fmnist-resnet20.onnx'));
    const data = await images(16);
    const engine = await calibrate(model, data, {});
    const js = await calibrate(model, data, { engine: false });
    expect(engine.fetched).toEqual([[]]);
    expect(engine.stats.activationNames().length).toBeGreaterThan(20);
    expectSameMoments(engine.stats, js.stats);
    for (const { level, e, j } of levels(engine.stats, js.stats)) {
      e.mad.forEach((m, c) => {
        if (!(relDiff(m, j.mad[c], 1e-300) <= 1e-9)) throw new Error(`${level}[${c}] mad ${m} vs ${j.mad[c]}`);
      });
    }
    const onePass = await calibrate(model, data, { madTolerance: Infinity });
    expect(onePass.stats.passes).toBe(1);
    expectWithinBound(onePass.stats, js.stats);
    // How close the one-pass b is on real activations: per tensor within 3 % (measured: mostly 1e-4..1e-3; 16 images, it improves with more).
    for (const name of onePass.stats.activationNames()) {
      const p = onePass.stats.get(name).perTensor;
      if (Number.isNaN(p.mad)) continue;
      expect([name, relDiff(p.mad, js.stats.get(name).perTensor.mad, 1e-300) < 3e-2]).toEqual([name, true]);
    }
  }, 60_000);
});
