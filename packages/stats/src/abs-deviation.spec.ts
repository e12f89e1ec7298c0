import { Tensor } from '@nibble/ir';
import { bruteStats } from '@nibble/testing';
import { AbsDeviationCollector } from './index';
import {
  batches, channelValues, gaussian, laplace, mixture, relErr, rng, sample, studentT3, uniform, type Sampler,
} from './testing/distributions';

const DISTRIBUTIONS: [string, Sampler][] = [
  ['uniform(-1, 3)', uniform(-1, 3)],
  ['gaussian(0.3, 2)', gaussian(0.3, 2)],
  ['laplace(-0.5, 0.7)', laplace(-0.5, 0.7)],
  ['mixture (pre-ReLU-like)', mixture],
  ['student t3 (heavy tails)', studentT3],
  ['gaussian(1000, 0.01) (|mean| >> std)', gaussian(1000, 0.01)],
];

const samples = new Map<string, Float32Array>();
const dataOf = (name: string, f: Sampler) => {
  if (!samples.has(name)) samples.set(name, sample(80_000, f, 21));
  return samples.get(name)!;
};

const feed = (col: AbsDeviationCollector, parts: Float32Array[], second = false) => {
  for (const p of parts) {
    if (second) col.updateSecondPass({ data: p, shape: [p.length] });
    else col.update({ data: p, shape: [p.length] });
  }
};

describe('AbsDeviationCollector, one pass (banded)', () => {
  it.each(DISTRIBUTIONS)('is exact (1e-9 of a float64 brute force) on %s', (name, f) => {
    const x = dataOf(name, f);
    const col = new AbsDeviationCollector();
    feed(col, batches(x, 5_000));
    const r = col.result();
    const b = bruteStats(x);
    expect(col.needsSecondPass).toBe(false);
    expect(r.exact[0]).toBe(1);
    expect(r.errorBound[0]).toBe(0);
    expect(relErr(r.mad[0], b.mad)).toBeLessThan(1e-9);
    expect(relErr(r.mean[0], b.mean)).toBeLessThan(1e-9);
  });

  it('keeps O(sqrt n) values, not the data', () => {
    const col = new AbsDeviationCollector();
    const u = rng(5);
    const f = laplace(0, 1);
    const part = new Float32Array(25_088); // one channel of a [32, 64, 28, 28] batch
    let max = 0;
    for (let b = 0; b < 40; b++) {
      for (let i = 0; i < part.length; i++) part[i] = f(u);
      col.update({ data: part, shape: [part.length] });
      max = Math.max(max, col.heldValues);
    }
    // 1M values seen; the band holds O(sqrt n) of them.
    const n = 40 * part.length;
    expect(max).toBeLessThan(40 * Math.sqrt(n));
    expect(col.heldValues / n).toBeLessThan(0.02);
    expect(col.result().exact[0]).toBe(1);
  });

  it('never holds more than 16 x the band capacity per channel', () => {
    const col = new AbsDeviationCollector({ bandCapacity: 64 });
    const x = sample(250_000, gaussian(3, 2), 17);
    for (const part of batches(x, 25_000)) {
      col.update({ data: part, shape: [part.length] });
      expect(col.heldValues).toBeLessThanOrEqual(16 * 64);
    }
    const r = col.result();
    const err = Math.abs(r.mad[0] - bruteStats(x).mad);
    if (r.exact[0]) expect(err / r.mad[0]).toBeLessThan(1e-9);
    else expect(err).toBeLessThanOrEqual(r.errorBound[0] + 1e-12 * r.mad[0]); // the bound holds up to float64 rounding
  });

  it('compresses repeated values (uint8 images, constant channels) to one run each', () => {
    const pixels = new Float32Array(300_000);
    const u = rng(9);
    for (let i = 0; i < pixels.length; i++) pixels[i] = Math.floor(u() * 256);
    const col = new AbsDeviationCollector();
    feed(col, batches(pixels, 30_000));
    expect(col.heldValues).toBeLessThanOrEqual(256 + 30_000);
    expect(relErr(col.result().mad[0], bruteStats(pixels).mad)).toBeLessThan(1e-9);
    const zeros = new AbsDeviationCollector();
    feed(zeros, batches(new Float32Array(100_000), 10_000));
    expect(zeros.result().mad[0]).toBe(0);
    expect(zeros.result().exact[0]).toBe(1);
  });

  it('estimates a Laplace b within 1% from 100k samples', () => {
    for (const [seed, b] of [[31, 1], [32, 0.05], [33, 7]]) {
      const col = new AbsDeviationCollector();
      feed(col, batches(sample(100_000, laplace(0, b), seed), 10_000));
      expect(Math.abs(col.result().mad[0] / b - 1)).toBeLessThan(0.01);
    }
  });

  it('when the mean drifts out of the band: an honest bound, then exact after the second pass', () => {
    // Three batches centred at 0, then the distribution moves: the band, narrowed
    // around 0, no longer contains the final mean.
    const parts = [0, 0, 0, 0, 0, 0.3, 0.6, 0.9].map((m, i) => sample(20_000, gaussian(m, 1), 50 + i));
    const all = new Float32Array(parts.reduce((n, p) => n + p.length, 0));
    parts.reduce((o, p) => (all.set(p, o), o + p.length), 0);
    const truth = bruteStats(all);

    const col = new AbsDeviationCollector({ bandCapacity: 512 });
    feed(col, parts);
    const one = col.result();
    expect(one.exact[0]).toBe(0);
    expect(col.needsSecondPass).toBe(true);
    expect(one.errorBound[0]).toBeGreaterThan(0);
    expect(Math.abs(one.mad[0] - truth.mad)).toBeLessThanOrEqual(one.errorBound[0] + 1e-12 * truth.mad);
    expect(one.errorBound[0] / truth.mad).toBeLessThan(0.25);

    feed(col, parts.slice().reverse(), true); // any order
    expect(col.needsSecondPass).toBe(false);
    const two = col.result();
    expect(two.exact[0]).toBe(1);
    expect(relErr(two.mad[0], truth.mad)).toBeLessThan(1e-9);

    const once = new AbsDeviationCollector({ mode: 'one-pass', bandCapacity: 512 });
    feed(once, parts);
    expect(once.needsSecondPass).toBe(false);
    expect(once.result().exact[0]).toBe(0);
  });

  it('keeps the bound valid on many drifting streams', () => {
    let inexact = 0;
    for (let seed = 0; seed < 20; seed++) {
      const u = rng(1000 + seed);
      const parts: Float32Array[] = [];
      for (let b = 0; b < 12; b++) parts.push(sample(3_000, laplace((u() - 0.5) * 2 * (b / 12), 0.5 + u()), seed * 100 + b));
      const all = new Float32Array(parts.length * 3_000);
      parts.forEach((p, i) => all.set(p, i * 3_000));
      const col = new AbsDeviationCollector({ bandCapacity: 256 });
      feed(col, parts);
      const r = col.result();
      const err = Math.abs(r.mad[0] - bruteStats(all).mad);
      if (r.exact[0]) expect(err / r.mad[0]).toBeLessThan(1e-9);
      else expect(err).toBeLessThanOrEqual(r.errorBound[0] + 1e-12 * r.mad[0]); // the bound holds up to float64 rounding
      inexact += 1 - r.exact[0];
    }
    // Both branches are exercised.
    expect(inexact).toBeGreaterThan(0);
    expect(inexact).toBeLessThan(20);
  });
});

describe('AbsDeviationCollector, two passes', () => {
  it.each(DISTRIBUTIONS)('matches a float64 brute force to 1e-9 on %s', (name, f) => {
    const x = dataOf(name, f);
    const col = new AbsDeviationCollector({ mode: 'two-pass' });
    feed(col, batches(x, 7_000));
    expect(col.needsSecondPass).toBe(true);
    feed(col, batches(x, 7_000), true);
    expect(col.needsSecondPass).toBe(false);
    const r = col.result();
    expect(r.exact[0]).toBe(1);
    expect(relErr(r.mad[0], bruteStats(x).mad)).toBeLessThan(1e-9);
  });

  it('refuses a second pass that saw other data', () => {
    const x = sample(1_000, mixture, 1);
    const col = new AbsDeviationCollector({ mode: 'two-pass', name: 'relu3' });
    feed(col, [x]);
    feed(col, [x.subarray(0, 900)], true);
    expect(() => col.result()).toThrow(expect.objectContaining({ code: 'E_DATA' }));
    expect(() => col.update({ data: x, shape: [x.length] })).toThrow(/second pass/);
  });
});

describe('AbsDeviationCollector, per channel', () => {
  it.each([['auto'], ['two-pass']] as const)('equals per tensor computed channel by channel (%s)', (mode) => {
    const shape = [8, 5, 12, 12];
    const size = shape.reduce((a, b) => a * b, 1);
    const perChannel = new AbsDeviationCollector({ axis: 1, mode });
    const perTensor = Array.from({ length: 5 }, () => new AbsDeviationCollector({ mode }));
    const xs = [0, 1, 2, 3].map((b) => sample(size, laplace(0.2, 1.5), 70 + b));
    for (const pass of mode === 'two-pass' ? [false, true] : [false]) {
      for (const x of xs) {
        const t = new Tensor('float32', shape, x);
        if (pass) perChannel.updateSecondPass(t);
        else perChannel.update(t);
        for (let c = 0; c < 5; c++) {
          const v = { data: channelValues(x, shape, 1, c), shape: [size / 5] };
          if (pass) perTensor[c].updateSecondPass(v);
          else perTensor[c].update(v);
        }
      }
    }
    const r = perChannel.result();
    for (let c = 0; c < 5; c++) {
      const t = perTensor[c].result();
      expect([r.count[c], r.mean[c], r.mad[c], r.exact[c]]).toEqual([t.count[0], t.mean[0], t.mad[0], t.exact[0]]);
      const all = new Float32Array(xs.length * (size / 5));
      xs.forEach((x, i) => all.set(channelValues(x, shape, 1, c), i * (size / 5)));
      expect(relErr(r.mad[c], bruteStats(all).mad)).toBeLessThan(1e-9);
    }
  });
});
