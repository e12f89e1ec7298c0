import { readFileSync } from 'fs';
import { join } from 'path';
import { createPassContext, EXECUTOR_FACTORY, SOURCE_MODEL } from '@nibble/core';
import { decodeImage, rawImage, resizeBilinear, type RawImage } from '@nibble/data';
import { type Model, Tensor } from '@nibble/ir';
import { readOnnxFile } from '@nibble/onnx';
import { createOrtExecutor } from '@nibble/runtime';
import { CALIBRATION_STATS } from './analysis';
import type { CalibrationStats } from './calibration-stats';
import { activationCandidates } from './targets';
import { CALIBRATION_DATA, CALIBRATION_OPTIONS, type CalibrationData, type CalibrationOptions } from './service';
import { channelOf, concat, reference, relDiff, runAll } from './testing/fixtures';

/*
 * Real activations: PP-OCR's text direction classifier (a small MobileNetV3)
 * on crops of two natural photos, each statistic against a float64 brute
 * force over the very activations the same executor produced.
 */
const ROOT = join(__dirname, '..', '..', '..', '..');
const MODEL = join(ROOT, 'node_modules', '@gutenye', 'ocr-models', 'assets', 'ch_ppocr_mobile_v2.0_cls_infer.onnx');
const FIXTURES = join(ROOT, 'packages', 'onnx', 'fixtures');
const H = 48;
const W = 192;

function crop(img: RawImage, top: number, left: number, height: number, width: number, mirror = false): RawImage {
  const out = rawImage(height, width, img.channels);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const sx = left + (mirror ? width - 1 - x : x);
      for (let c = 0; c < img.channels; c++) out.data[(y * width + x) * img.channels + c] = img.data[((top + y) * img.width + sx) * img.channels + c];
    }
  }
  return out;
}

/** HWC 0..255 -> CHW (x / 255 - 0.5) / 0.5 at 48 x 192, as PP-OCR's classifier expects. */
function toInput(img: RawImage): Float32Array {
  const r = resizeBilinear(img, H, W);
  const out = new Float32Array(3 * H * W);
  for (let p = 0; p < H * W; p++) for (let c = 0; c < 3; c++) out[c * H * W + p] = (r.data[p * 3 + c] / 255 - 0.5) / 0.5;
  return out;
}

function samples(): Float32Array[] {
  const load = (f: string) => decodeImage(new Uint8Array(readFileSync(join(FIXTURES, f))), f);
  const word = load('word-crop.jpg');
  const photo = load('photo.jpg');
  return [
    word,
    crop(word, 0, 0, word.height, word.width, true),
    photo,
    crop(photo, 20, 0, 60, 224),
    crop(photo, 84, 30, 40, 160),
    crop(photo, 0, 112, 42, 112, true),
  ].map(toInput);
}

function dataOf(inputs: Float32Array[], batch: number): CalibrationData {
  return {
    samples: inputs.length,
    async *batches() {
      for (let s = 0; s < inputs.length; s += batch) {
        const part = inputs.slice(s, s + batch);
        const x = new Float32Array(part.length * 3 * H * W);
        part.forEach((p, i) => x.set(p, i * p.length));
        yield { x: new Tensor('float32', [part.length, 3, H, W], x) };
      }
    },
  };
}

async function analyse(model: Model, data: CalibrationData, options: CalibrationOptions): Promise<CalibrationStats> {
  const ctx = createPassContext();
  ctx.services.set(EXECUTOR_FACTORY, createOrtExecutor).set(SOURCE_MODEL, model).set(CALIBRATION_DATA, data).set(CALIBRATION_OPTIONS, options);
  return ctx.getAnalysis(CALIBRATION_STATS, model.graph);
}

describe('CALIBRATION_STATS on PP-OCR direction classifier activations (natural images)', () => {
  const model = readOnnxFile(MODEL);
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
      const want = reference(values);
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
