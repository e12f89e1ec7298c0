import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { checkClaim, checkGap, type Plan, summariseModel, summariseRow, verdictOf } from './aggregate';
import {
  cachePath, cellKey, type CellResult, freshCell, type ModelCache, readLogits, readModelCache, writeLogits, writeModelCache,
} from './cache';
import { CLAIMS } from './config';
import { argmaxRow, compareLogits, gapRecovered, meanStd, pairedDifference, sqnrDb } from './metrics';
import { pm } from './table';

function cell(recipe: string, seed: number, top1: number, extra: Partial<CellResult> = {}): CellResult {
  return {
    recipe, pipeline: `p-${recipe}`, samples: 32, seed, n: 100, correct: Math.round(top1 * 100), top1, agree: 90, agreement: 0.9,
    signal: 100, noise: 1, sqnrDb: 20, bitsWeights: 4, bitsActivations: 4, ms: { quantize: 10, evaluate: 20 }, ...extra,
  };
}

describe('logit comparison', () => {
  it('counts top-1 agreement (first of equal logits, as evaluate) and sums signal and noise', () => {
    // Row 0 agrees (class 0), row 1 flips from class 1 to class 0, row 2 ties 2/2 in the quantized row -> class 1 vs float's 2.
    const f = [3, 1, 0, /**/ 0, 2, 1, /**/ 0, 1, 2];
    const q = [2, 1, 0, /**/ 2, 1, 1, /**/ 0, 2, 2];
    const r = compareLogits(f, q, 3);
    expect(r.n).toBe(3);
    expect(r.agree).toBe(1);
    // signal 9+1+0 + 0+4+1 + 0+1+4 = 20; noise 1 + 4+1 + 1 = 7
    expect(r.signal).toBe(20);
    expect(r.noise).toBe(7);
    expect(r.sqnrDb).toBeCloseTo(10 * Math.log10(20 / 7), 12);
    expect(argmaxRow(q, 3, 2)).toBe(1);
  });

  it('SQNR: noise at a tenth of the amplitude is 20 dB, identical logits are infinite', () => {
    const f = [1, -1, 2, -2];
    expect(compareLogits(f, f.map((v) => v * 1.1), 2).sqnrDb).toBeCloseTo(20, 10);
    expect(compareLogits(f, f, 2).sqnrDb).toBe(Infinity);
    expect(sqnrDb(0, 0)).toBe(Infinity);
  });

  it('rejects logits of unequal length or not whole rows', () => {
    expect(() => compareLogits([1, 2, 3], [1, 2], 1)).toThrow(/equal length/);
    expect(() => compareLogits([1, 2, 3], [1, 2, 3], 2)).toThrow(/rows of 2/);
  });
});

describe('statistics over seeds', () => {
  it('mean and sample standard deviation', () => {
    // 2, 4, 4, 4, 5, 5, 7, 9: mean 5, squared deviations sum to 32, sample variance 32/7.
    const s = meanStd([2, 4, 4, 4, 5, 5, 7, 9]);
    expect(s.mean).toBe(5);
    expect(s.std).toBeCloseTo(Math.sqrt(32 / 7), 14);
    expect(meanStd([3])).toEqual({ mean: 3, std: null, n: 1 });
    expect(meanStd([1, Infinity]).std).toBeNull();
  });

  it('paired differences take the spread of the per-seed differences, not of each side', () => {
    // Both sides vary a lot between seeds, their difference hardly.
    const d = pairedDifference([0.90, 0.80, 0.70], [0.89, 0.79, 0.68]);
    expect(d.mean).toBeCloseTo(0.04 / 3, 14);
    expect(d.std).toBeCloseTo(Math.sqrt(((0.01 - 0.04 / 3) ** 2 * 2 + (0.02 - 0.04 / 3) ** 2) / 2), 12);
    expect(() => pairedDifference([1], [1, 2])).toThrow(/equal counts/);
  });

  it('gap recovered: (method - baseline) / (float - baseline), null without a gap', () => {
    expect(gapRecovered(0.94, 0.90, 0.93)).toBeCloseTo(0.75, 12);
    expect(gapRecovered(0.94, 0.95, 0.93)).toBeNull();
  });

  it('verdicts compare a difference with its paired spread', () => {
    expect(verdictOf({ mean: 0.02, std: 0.01, n: 5 })).toBe('holds');
    expect(verdictOf({ mean: -0.02, std: 0.01, n: 5 })).toBe('reversed');
    expect(verdictOf({ mean: 0.005, std: 0.01, n: 5 })).toBe('within spread');
    expect(verdictOf({ mean: 0.01, std: null, n: 1 })).toBe('higher, spread unknown');
    expect(verdictOf({ mean: 0, std: 0, n: 5 })).toBe('equal');
  });
});

describe('aggregation', () => {
  const base = [cell('w4a4-baseline', 0, 0.90), cell('w4a4-baseline', 1, 0.88, { noise: 10 })];
  const all = [cell('w4a4-all', 0, 0.93), cell('w4a4-all', 1, 0.92, { bitsWeights: 3.9 })];

  it('summarises a row per seed and over seeds, SQNR from the sums', () => {
    const r = summariseRow('w4a4-baseline', 32, base);
    expect(r.label).toBe('W4A4 baseline');
    expect(r.top1.mean).toBeCloseTo(0.89, 14);
    expect(r.top1.std).toBeCloseTo(Math.SQRT2 * 0.01, 14);
    expect(r.perSeed.map((s) => s.sqnrDb)).toEqual([20, 10]);
    expect(r.sqnrDb.mean).toBeCloseTo(15, 12);
    expect(summariseRow('w4a4-all', 32, all).bitsWeights!.mean).toBeCloseTo(3.95, 14);
  });

  it('checks a claim with seed-paired differences and the gap to float32', () => {
    const a = summariseRow('w4a4-all', 32, all);
    const b = summariseRow('w4a4-baseline', 32, base);
    const c = checkClaim(CLAIMS.find((x) => x.better === 'w4a4-all')!, 32, a, b);
    // Differences 0.03 and 0.04: mean 0.035, std sqrt(2) * 0.005.
    expect(c.top1.mean).toBeCloseTo(0.035, 14);
    expect(c.top1.std).toBeCloseTo(Math.SQRT2 * 0.005, 12);
    expect(c.verdict).toBe('holds');
    expect(c.sqnrDb!.mean).toBeCloseTo(5, 12);
    // Float 0.94: gap 0.05 from the baseline's mean 0.89, all methods win back 0.035 of it.
    const g = checkGap(a, b, 0.94);
    expect(g.gap).toBeCloseTo(0.05, 14);
    expect(g.recovered).toBeCloseTo(0.7, 12);
    expect(g.recoveredPerSeed.mean).toBeCloseTo((0.03 / 0.04 + 0.04 / 0.06) / 2, 12);
    expect(g.verdict).toBe('most recovered');
  });

  it('summarises a model from its cache, and names a missing cell', () => {
    const cache: ModelCache = {
      version: 1, model: 'm', file: 'm.onnx', sha256: 'ab'.repeat(32),
      float: { 100: { n: 100, correct: 94, top1: 0.94, classes: 10, ms: 1 } },
      cells: Object.fromEntries([...base, ...all].map((c) => [cellKey(c.recipe, c.samples, c.seed, c.n), c])),
    };
    const plan: Plan = { recipes: ['w4a4-baseline', 'w4a4-all'], samples: [32], seeds: [0, 1], n: 100 };
    const s = summariseModel(cache, plan, { label: 'M' });
    expect(s.rows.map((r) => r.recipe)).toEqual(['w4a4-baseline', 'w4a4-all']);
    expect(s.claims).toHaveLength(1);
    expect(s.gaps).toHaveLength(1);
    expect(() => summariseModel(cache, { ...plan, seeds: [0, 1, 2] }, { label: 'M' })).toThrow(/seed=2/);
    expect(() => summariseModel(cache, { ...plan, n: 50 }, { label: 'M' })).toThrow(/float32/);
  });

  it('formats mean ± std', () => {
    expect(pm({ mean: 0.91234, std: 0.0012, n: 5 }, 100, 2)).toBe('91.23 ± 0.12');
    expect(pm({ mean: -0.00001, std: 0.001, n: 5 }, 100, 2, true)).toBe('0.00 ± 0.10');
    expect(pm({ mean: 0.012, std: null, n: 1 }, 100, 2, true)).toBe('+1.20');
  });
});

describe('results cache', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'nibble-acc-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('round-trips, sorts its keys, and drops cells of another pipeline or model file', () => {
    const sha = 'cd'.repeat(32);
    const cache = readModelCache(dir, 'm', 'm.onnx', sha);
    const late = cell('w4a4-all', 1, 0.9);
    const early = cell('w4a4-all', 0, 0.91);
    cache.cells[cellKey('w4a4-all', 32, 1, 100)] = late;
    cache.cells[cellKey('w4a4-all', 32, 0, 100)] = early;
    writeModelCache(dir, cache);
    const text = readFileSync(cachePath(dir, 'm', sha), 'utf8');
    expect(text.indexOf('seed=0')).toBeLessThan(text.indexOf('seed=1'));
    const back = readModelCache(dir, 'm', 'm.onnx', sha);
    expect(back.cells[cellKey('w4a4-all', 32, 1, 100)]).toEqual(late);
    expect(freshCell(back, cellKey('w4a4-all', 32, 1, 100), 'p-w4a4-all')).toEqual(late);
    expect(freshCell(back, cellKey('w4a4-all', 32, 1, 100), 'another pipeline')).toBeUndefined();
    // A retrained model (another hash) starts empty.
    expect(readModelCache(dir, 'm', 'm.onnx', 'ef'.repeat(32)).cells).toEqual({});
  });

  it('stores float32 logits bit for bit', () => {
    const logits = Float32Array.from([1.5, -2.25, Math.PI, 1e-30]);
    const p = join(dir, 'logits', 'x.f32');
    writeLogits(p, logits);
    expect(readLogits(p)).toEqual(logits);
    expect(readLogits(join(dir, 'none.f32'))).toBeUndefined();
  });
});
