import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { FMNIST_DIR, loadFashionMnist, pixelStats } from './fmnist';
import { fillBatch } from './batches';
import { Prng } from './prng';
import { loadCheckpoint, saveCheckpoint } from './checkpoint';
import { learningRate, TrainConfig } from './train';

const haveData = fs.existsSync(path.join(FMNIST_DIR, 't10k-labels-idx1-ubyte.gz'));

(haveData ? describe : describe.skip)('Fashion-MNIST reader', () => {
  it('reads the test split (through @nibble/data) with balanced labels and the known pixel statistics', () => {
    const set = loadFashionMnist('t10k');
    expect([set.count, set.height, set.width]).toEqual([10000, 28, 28]);
    expect([set.images.length, set.labels.length]).toEqual([10000 * 28 * 28, 10000]);
    let missing: unknown;
    try {
      loadFashionMnist('t10k', path.join(FMNIST_DIR, 'none'));
    } catch (e) {
      missing = e;
    }
    expect(missing).toMatchObject({ code: 'E_FILE_NOT_FOUND' });
    const counts = new Array(10).fill(0);
    for (const l of set.labels) counts[l]++;
    expect(counts).toEqual(new Array(10).fill(1000));
    const { mean, std } = pixelStats(set);
    expect(mean).toBeGreaterThan(0.27);
    expect(mean).toBeLessThan(0.3);
    expect(std).toBeGreaterThan(0.33);
    expect(std).toBeLessThan(0.37);
  });
});

describe('fillBatch augmentation', () => {
  const h = 4;
  const w = 5;
  const img = Float32Array.from({ length: 2 * h * w }, (_, i) => i + 1);

  it('copies images unchanged without a PRNG', () => {
    const out = new Float32Array(h * w);
    fillBatch(img, h, w, [1], out, { pad: 2, flip: true }, null, -1);
    expect(Array.from(out)).toEqual(Array.from(img.subarray(h * w)));
  });

  it('every output is a shifted (and maybe mirrored) copy with background fill', () => {
    const rng = new Prng(4);
    const out = new Float32Array(h * w);
    for (let trial = 0; trial < 50; trial++) {
      fillBatch(img, h, w, [0], out, { pad: 2, flip: true }, rng, -1);
      let matched = false;
      for (const flip of [false, true]) {
        for (let dy = -2; dy <= 2; dy++) {
          for (let dx = -2; dx <= 2; dx++) {
            let ok = true;
            for (let y = 0; y < h && ok; y++) {
              for (let x = 0; x < w && ok; x++) {
                const sy = y + dy;
                const sx = (flip ? w - 1 - x : x) + dx;
                const want = sy >= 0 && sy < h && sx >= 0 && sx < w ? img[sy * w + sx] : -1;
                ok = out[y * w + x] === want;
              }
            }
            matched ||= ok;
          }
        }
      }
      expect(matched).toBe(true);
    }
  });
});

describe('checkpoints', () => {
  it('round-trip tensors and progress, keep only the newest payload', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'zoo-ckpt-'));
    try {
      const t = new Map([
        ['a/kernel', { shape: [2, 3], data: Float32Array.from([1, 2, 3, 4, 5, 6]) }],
        ['velocity:a/kernel', { shape: [2, 3], data: Float32Array.from([-1, 0.5, 0, 0, 0, 1e-7]) }],
      ]);
      saveCheckpoint(dir, 10, { arch: 'x' }, { step: 10 }, t);
      t.get('a/kernel')!.data[0] = 42;
      saveCheckpoint(dir, 20, { arch: 'x' }, { step: 20 }, t);
      expect(fs.readdirSync(dir).sort()).toEqual(['ckpt-0000020.bin', 'latest.json']);
      const back = loadCheckpoint<{ arch: string }, { step: number }>(dir)!;
      expect(back.meta.progress.step).toBe(20);
      expect(Array.from(back.tensors.get('a/kernel')!.data)).toEqual([42, 2, 3, 4, 5, 6]);
      expect(back.tensors.get('velocity:a/kernel')!.data[5]).toBeCloseTo(1e-7, 12);
      expect(loadCheckpoint(path.join(dir, 'none'))).toBeNull();
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('learning-rate schedule', () => {
  const cfg = { lr: 0.1, warmupSteps: 100 } as TrainConfig;
  it('warms up linearly, peaks, and decays by cosine to zero', () => {
    expect(learningRate(cfg, 0, 1000)).toBeCloseTo(0.001, 9);
    expect(learningRate(cfg, 99, 1000)).toBeCloseTo(0.1, 9);
    expect(learningRate(cfg, 100, 1000)).toBeCloseTo(0.1, 9);
    expect(learningRate(cfg, 550, 1000)).toBeCloseTo(0.05, 9);
    expect(learningRate(cfg, 999, 1000)).toBeLessThan(1e-5);
  });
  it('shortens the warm-up of very short runs', () => {
    expect(learningRate(cfg, 9, 50)).toBeCloseTo(0.1, 9);
  });
});
