import { createPassContext, EXECUTOR_FACTORY, SOURCE_MODEL } from '@nibble/core';
import { type Model } from '@nibble/ir';
import { readOnnxFile } from '@nibble/onnx';
import { createOrtExecutor } from '@nibble/runtime';
import {
  activationCandidates, CALIBRATION_DATA, CALIBRATION_OPTIONS, CALIBRATION_STATS,
  type CalibrationData, type CalibrationOptions, type CalibrationStats,
} from '@nibble/stats';
import { bruteStats, channelOf, concat, fixturePhoto, loadPhoto, relDiff, runAll } from '@nibble/testing';
import { classifierBatch, classifierInput, crop, PPOCR_CLASSIFIER } from './testing/ppocr';

/*
 * Real activations: PP-OCR's text direction classifier (a small MobileNetV3)
 * on crops of two natural photos, each statistic of the calibration analysis
 * against a float64 brute force over the very activations the same executor
 * produced.
 */

function samples(): Float32Array[] {
  const word = loadPhoto(fixturePhoto('word-crop.jpg'));
  const photo = loadPhoto(fixturePhoto('photo.jpg'));
  return [
    word,
    crop(word, 0, 0, word.height, word.width, 'mirror'),
    photo,
    crop(photo, 20, 0, 60, 224),
    crop(photo, 84, 30, 40, 160),
    crop(photo, 0, 112, 42, 112, 'mirror'),
  ].map(classifierInput);
}

function dataOf(inputs: Float32Array[], batch: number): CalibrationData {
  return {
    samples: inputs.length,
    async *batches() {
      for (let s = 0; s < inputs.length; s += batch) yield { x: classifierBatch(inputs.slice(s, s + batch)) };
    },
  };
}

async function analyse(model: Model, data: CalibrationData, options: CalibrationOptions): Promise<CalibrationStats> {
  const ctx = createPassContext();
  ctx.services.set(EXECUTOR_FACTORY, createOrtExecutor).set(SOURCE_MODEL, model).set(CALIBRATION_DATA, data).set(CALIBRATION_OPTIONS, options);
  return ctx.getAnalysis(CALIBRATION_STATS, model.graph);
}

describe('CALIBRATION_STATS on PP-OCR direction classifier activations (natural images)', () => {
  const model = readOnnxFile(PPOCR_CLASSIFIER);
  const inputs = samples();

  it('observes the input and every float activation of rank >= 2 (types undeclared in the file)', async () => {
    const stats = await analyse(model, dataOf(inputs.slice(0, 2), 2), { weights: false, mad: false, perChannel: false });
    const names = stats.activationNames();
    expect(names[0]).toBe('x');
    expect(names.length).toBeGreaterThan(200);
    expect(names).toContain(model.graph.outputs[0].name);
    // Every observed value really is a float tensor of rank >= 2 (the shape omits the batch axis).
    expect(names.filter((n) => stats.get(n).shape.length < 1)).toEqual([]);
    expect(stats.samples).toBe(2);
  }, 30_000);

  it('agrees with a float64 brute force per tensor and per channel (1e-9)', async () => {
    // A dozen values spread over the network, from the first conv to the softmax.
    const all = activationCandidates(model.graph).map((c) => c.name);
    const names = all.filter((_, i) => i % Math.floor(all.length / 10) === 1).concat(all[all.length - 1]);
    const data = dataOf(inputs, 3);
    const stats = await analyse(model, data, { weights: false, values: names });
    expect(stats.samples).toBe(inputs.length);
    expect(stats.activationNames()).toEqual(names);
    const executor = await createOrtExecutor(model, { extraOutputs: names });
    let brute;
    try {
      brute = await runAll(executor, data, names);
    } finally {
      await executor.dispose();
    }
    const bad: string[] = [];
    const check = (what: string, got: { count: number; min: number; max: number; mean: number; std: number; mad: number }, values: Float64Array) => {
      const want = bruteStats(values);
      if (got.count !== want.count || got.min !== want.min || got.max !== want.max) bad.push(`${what}: count/min/max`);
      for (const k of ['mean', 'std', 'mad'] as const) {
        const e = relDiff(got[k], want[k], k === 'mean' ? want.std : 1e-300);
        if (!(e <= 1e-9)) bad.push(`${what}: ${k} ${got[k]} vs ${want[k]}`);
      }
    };
    for (const name of names) {
      const batches = brute.get(name)!;
      check(name, stats.get(name).perTensor, concat(batches.map((b) => b.data)));
      const v = stats.get(name).perChannel!;
      for (let c = 0; c < v.channels; c++) {
        check(`${name}[${c}]`, { count: v.count[c], min: v.min[c], max: v.max[c], mean: v.mean[c], std: v.std[c], mad: v.mad[c] }, channelOf(batches, 1, c));
      }
    }
    expect(bad).toEqual([]);
  }, 30_000);
});
