import { SeededRandom } from '@nibble/quant';
import { histogramOf } from './histogram';
import { erf } from './special';
import { type KlWork, klRange, pointMassBins } from './kl';

/*
 * An independent reference: TensorRT's entropy calibration as onnxruntime's
 * and MXNet's calibrators state it, on the integer counts of a histogram of
 * |x| with equal bins from 0: windows of i = L..bins whole bins, P = the
 * first i bins with the rest added to the last, Q = those bins (without the
 * rest) merged into L groups of floor(i / L) (the last takes the
 * remainder), each group spread over the bins where P is non-zero,
 * smoothing in count units (zeros get 1e-4, taken evenly from the others),
 * then KL of the normalised pair. No mass term: on these bodies it
 * changes nothing (see the comment in kl.ts).
 */
function smoothCounts(p: number[], eps = 1e-4): number[] | undefined {
  const zeros = p.filter((v) => v === 0).length;
  const nonzeros = p.length - zeros;
  if (nonzeros === 0) return undefined;
  const take = (eps * zeros) / nonzeros;
  return p.map((v) => (v === 0 ? eps : v - take));
}

function entropy(p: number[], q: number[]): number {
  const sp = p.reduce((s, v) => s + v, 0);
  const sq = q.reduce((s, v) => s + v, 0);
  let kl = 0;
  for (let i = 0; i < p.length; i++) kl += (p[i] / sp) * Math.log((p[i] / sp) / (q[i] / sq));
  return kl;
}

function tensorRtThreshold(counts: number[], width: number, levels: number): number {
  let best = Infinity;
  let bestI = counts.length;
  for (let i = levels; i <= counts.length; i++) {
    const p = counts.slice(0, i);
    p[i - 1] += counts.slice(i).reduce((s, v) => s + v, 0);
    const merged = Math.floor(i / levels);
    const q = new Array<number>(i).fill(0);
    for (let g = 0; g < levels; g++) {
      const start = g * merged;
      const end = g === levels - 1 ? i : start + merged;
      let mass = 0;
      let nonzero = 0;
      for (let j = start; j < end; j++) { mass += counts[j]; if (p[j] !== 0) nonzero++; }
      for (let j = start; j < end; j++) q[j] = p[j] !== 0 && nonzero > 0 ? mass / nonzero : 0;
    }
    const ps = smoothCounts(p);
    const qs = smoothCounts(q);
    if (!ps || !qs) continue;
    const kl = entropy(ps, qs);
    if (kl < best) { best = kl; bestI = i; }
  }
  return bestI * width;
}

/**
 * klRange's divergence of the window of bins [s, e) by its definition, bin by bin: P the window's counts
 * with everything below folded into its first bin and above into its last, Q the window's own counts
 * merged into `levels` groups floor(g n / L)..floor((g + 1) n / L) and spread over P's non-empty bins,
 * both smoothed (empties eps = min(1e-4, 0.5 / n)), KL(P || Q) plus the mass term w - 1 - ln w.
 */
function windowDivergenceByDefinition(counts: readonly number[], s: number, e: number, levels: number): number {
  const total = counts.reduce((a, b) => a + b, 0);
  const n = e - s;
  const P = counts.slice(s, e);
  const inside = P.reduce((a, b) => a + b, 0);
  P[0] += counts.slice(0, s).reduce((a, b) => a + b, 0);
  P[n - 1] += counts.slice(e).reduce((a, b) => a + b, 0);
  const Q = new Array<number>(n).fill(0);
  for (let g = 0; g < levels; g++) {
    const a = Math.floor((g * n) / levels);
    const b = Math.floor(((g + 1) * n) / levels);
    let mass = 0;
    let nz = 0;
    for (let j = a; j < b; j++) { mass += counts[s + j]; if (P[j] > 0) nz++; }
    for (let j = a; j < b; j++) Q[j] = P[j] > 0 && nz > 0 ? mass / nz : 0;
  }
  const eps = Math.min(1e-4, 0.5 / n);
  const norm = (v: number[]) => {
    const sum = v.reduce((a, b) => a + b, 0);
    const zeros = v.filter((x) => x === 0).length;
    return v.map((x) => (x === 0 ? eps : (x * (1 - eps * zeros)) / sum));
  };
  const p = norm(P);
  const q = norm(Q);
  let kl = 0;
  for (let j = 0; j < n; j++) if (P[j] > 0) kl += p[j] * Math.log(p[j] / q[j]);
  const w = inside / total;
  return kl + w - 1 - Math.log(w);
}

describe('klRange (entropy calibration)', () => {
  const uniform = new SeededRandom(5).fill(200000, (r) => r.uniform());

  it('keeps the whole range of uniform data, where P and Q agree only without clipping', () => {
    const h = histogramOf(uniform, 1024);
    for (const mode of ['one-sided', 'asymmetric'] as const) {
      const r = klRange(h, { bits: 4, mode });
      expect(r.lo).toBe(0);
      expect(r.hi).toBeGreaterThan(0.99);
    }
    const sym = klRange(histogramOf(Array.from(uniform, (v) => 2 * v - 1), 2048), { bits: 4, mode: 'symmetric' });
    expect(sym.hi).toBeGreaterThan(0.98);
    expect(sym.lo).toBe(-sym.hi);
  });

  /*
   * Mass only in [1, 6], windows [0, t]. For t >= 6 nothing is clipped and
   * Q = P (a group straddling 1 spreads its mass over the non-empty bins
   * only, exactly where the uniform density is): divergence 0 up to the
   * fine bins' misalignment with 1. For 1 < t < 6, P holds the clipped
   * (6 - t) / 5 in its last bin and Q does not: a positive divergence. So
   * the answer is 6, the smallest window with none. TensorRT's shape-only
   * divergence has a second zero: a window ending just past 1, whose sliver
   * of mass lies in its last fine bin only, so P and Q are the same spike.
   */
  describe('mass away from 0: uniform on [1, 6]', () => {
    const body = new SeededRandom(1).fill(301056, (r) => 1 + 5 * r.uniform());

    it.each(['one-sided', 'symmetric', 'asymmetric'] as const)('%s: the whole occupied range, t = 6', (mode) => {
      const r = klRange(histogramOf(body, 2048), { bits: 4, mode });
      expect(r.hi).toBeCloseTo(6, 3);
      expect(r.lo).toBe(mode === 'symmetric' ? -r.hi : 0);
    });

    it('does not pick a window around a lone value below the body (1 of 301,056), at any candidate count', () => {
      // With 512 candidates one window ends 0.002 past the lone value at 0.9,
      // inside the fine bin that holds it: divergence 0 without the mass term.
      const x = Float64Array.from(body);
      x[0] = 0.9;
      for (const candidates of [64, 512]) {
        const r = klRange(histogramOf(x, 2048), { bits: 4, mode: 'one-sided', candidates });
        expect(r.hi).toBeCloseTo(6, 3);
      }
    });
  });

  describe('a channel that is one value (a constant background, a dead unit)', () => {
    it.each(['one-sided', 'symmetric', 'asymmetric'] as const)('%s: the window ends on the value, no search', (mode) => {
      // Every value 2.5: the histogram's occupied range has no width (nsfwjs's MobileNetV2 has such channels;
      // the search then asked for an infinite number of fine bins).
      const r = klRange(histogramOf(new Float64Array(1000).fill(2.5), 2048), { bits: 4, mode });
      expect(r.hi).toBeCloseTo(2.5, 9);
      expect(r.lo).toBe(mode === 'symmetric' ? -r.hi : 0);
    });

    it('mass in a sliver far from 0 is searched at a bounded resolution', () => {
      const x = new SeededRandom(3).fill(10000, (r) => 5 + 1e-6 * r.uniform());
      const work: KlWork = { windows: 0, fineBins: 0, groups: 0 };
      const r = klRange(histogramOf(x, 2048), { bits: 4, mode: 'one-sided', work });
      expect(r.hi).toBeGreaterThanOrEqual(5);
      expect(r.hi).toBeLessThanOrEqual(5 + 1e-6);
      // The cost, counted rather than timed: at most the default 512 windows, each on at most the
      // input's 2048 bins stretched 32 times. The input's resolution stretched over [0, 5] would be
      // 2048 * 5e6 fine bins per window.
      expect(work.windows).toBeGreaterThan(0);
      expect(work.windows).toBeLessThanOrEqual(512);
      expect(work.fineBins).toBeLessThanOrEqual(512 * 2048 * 32);
    });
  });

  describe('against a brute-force TensorRT calibration at 8 bits', () => {
    // Expected counts of 10^6 draws in 2048 bins of |x| over [0, max] (no
    // sampling noise: on drawn samples both answers wander over a flat,
    // ragged divergence curve). TensorRT's answers: 4.81 sigma for the
    // Gaussian, 8.04 sigma (t = 11.37 b) for the Laplace.
    const cases: [string, (x: number) => number, number, number][] = [
      ['Gaussian', (x) => erf(x / Math.SQRT2), 5.5, 1],
      ['Laplace', (x) => 1 - Math.exp(-x), 14, Math.SQRT2],
    ];
    it.each(cases)('%s: the same threshold within 2%%', (_, cdf, max, sigma) => {
      const width = max / 2048;
      const counts = Array.from({ length: 2048 }, (_, i) => 1e6 * (cdf((i + 1) * width) - cdf(i * width)));
      const reference = tensorRtThreshold(counts, width, 128);
      const edges = Array.from({ length: 2049 }, (_, i) => i * width);
      for (const candidates of [512, 2048]) {
        const t = klRange({ counts, edges }, { bits: 8, mode: 'symmetric', candidates }).hi;
        expect(Math.abs(t / reference - 1)).toBeLessThan(0.02);
      }
      expect(reference / sigma).toBeGreaterThan(4.5);
      expect(reference / sigma).toBeLessThan(8.5);
    });
  });

  it('clips a negligible far cluster and keeps a heavy one', () => {
    // Body |N(0, 1)|; a uniform body would not do: Q spreads each group's mass
    // evenly, so a flat body looks lossless at any width.
    const body = new SeededRandom(6).fill(200000, (r) => Math.abs(r.normal(0, 1)));
    const withOutliers = (fraction: number) => {
      const x = Array.from(body);
      const n = Math.round(body.length * fraction);
      for (let i = 0; i < n; i++) x[i] = 50 + uniform[i];
      return histogramOf(x, 51 * 64, { lo: 0, hi: 51 });
    };
    const light = klRange(withOutliers(2e-5), { bits: 4, mode: 'one-sided' });
    expect(light.hi).toBeGreaterThan(2);
    expect(light.hi).toBeLessThan(6);
    const heavy = klRange(withOutliers(0.3), { bits: 4, mode: 'one-sided' });
    expect(heavy.hi).toBeGreaterThan(50);
  });

  describe('a point mass inside the body (a constant background)', () => {
    // |N(0, 1)| observed up to 5, plus a spike at 0.3: one value repeated, as every background
    // patch of a Fashion-MNIST image gives one early conv channel. Before the point-mass rule
    // the window shrank to just past the spike (0.31 at a 50 % spike, against 4.3 without).
    const body = Array.from(new SeededRandom(12).fill(100000, (r) => Math.min(Math.abs(r.normal(0, 1)), 5)));
    const withSpike = (share: number) => {
      const n = Math.round((body.length * share) / (1 - share));
      return histogramOf(body.concat(new Array<number>(n).fill(0.3)), 2048, { lo: 0, hi: 5 });
    };
    const plain = klRange(withSpike(0), { bits: 4, mode: 'one-sided' }).hi;

    it.each([0.2, 0.5, 0.8])('%s of the mass at one value leaves the window where the body puts it', (share) => {
      const t = klRange(withSpike(share), { bits: 4, mode: 'one-sided' }).hi;
      expect(plain).toBeGreaterThan(2);
      expect(Math.abs(t / plain - 1)).toBeLessThan(0.05);
    });

    it('the window still holds a point mass beyond the body\'s threshold', () => {
      const x = body.concat(new Array<number>(50000).fill(4.8));
      const t = klRange(histogramOf(x, 2048, { lo: 0, hi: 5 }), { bits: 4, mode: 'one-sided' }).hi;
      expect(t).toBeGreaterThanOrEqual(4.8);
    });

    it('a smooth body has no point masses', () => {
      expect(pointMassBins(histogramOf(body, 2048, { lo: 0, hi: 5 }))).toEqual([]);
      expect(pointMassBins(withSpike(0.5))).toHaveLength(1);
    });
  });

  it('one-sided ignores the ReLU zeros: same answer as on the positive part alone', () => {
    const x = new SeededRandom(8).fill(100000, (r) => r.laplace(0, 1));
    const full = histogramOf(x, 2000, { lo: -10, hi: 10 });
    const positive = histogramOf(x.filter((v) => v > 0), 1000, { lo: 0, hi: 10 });
    const a = klRange(full, { bits: 4, mode: 'one-sided' });
    const b = klRange(positive, { bits: 4, mode: 'one-sided' });
    expect(a.hi).toBeCloseTo(b.hi, 6);
  });

  it('clips less with more bits on heavy-tailed data', () => {
    const x = new SeededRandom(9).fill(100000, (r) => r.laplace(0, 1));
    const h = histogramOf(x, 2048);
    const t4 = klRange(h, { bits: 4, mode: 'symmetric' }).hi;
    const t8 = klRange(h, { bits: 8, mode: 'symmetric' }).hi;
    expect(t8).toBeGreaterThan(t4);
    expect(t4).toBeGreaterThan(2);
  });

  it('every window\'s divergence is the definition summed bin by bin (fine grid = the input bins)', () => {
    // Random counts with no spikes on 300 bins of [0, 3], a sparse tail past 2.5 and no empty bin (reluHistogram
    // would merge a run of empty bins into one): the fine grid is the input's own bins, so
    // window i is bins 0..i-1. Brute force: P with the rest folded into bin i-1, Q over groups
    // floor(g i / L)..floor((g + 1) i / L), smoothing, KL, plus the mass term; every window, all of it again.
    const r = new SeededRandom(21);
    const bins = 300;
    const width = 0.01;
    const counts = Array.from({ length: bins }, (_, i) => (i > 250 ? (r.uniform() < 0.5 ? 1 : 3) : Math.round(50 + 100 * r.uniform())));
    const edges = Array.from({ length: bins + 1 }, (_, i) => i * width);
    const levels = 16;
    const divergenceOf = (i: number): number => windowDivergenceByDefinition(counts, 0, i, levels);
    let best = Infinity;
    let bestI = 0;
    for (let i = levels; i <= bins; i++) {
      const d = divergenceOf(i);
      if (d < best) { best = d; bestI = i; }
    }
    const work: KlWork = { windows: 0, fineBins: 0, groups: 0 };
    const got = klRange({ counts, edges }, { bits: 4, mode: 'one-sided', candidates: bins, work });
    expect(got.hi).toBeCloseTo(bestI * width, 9);
    expect(got.divergence).toBeCloseTo(best, 9);
    expect(bestI).toBeLessThan(bins); // the sparse tail is clipped: the search is not trivially the full range
    // Resampled once, then O(levels) per window; windows that clip so much that the mass term alone exceeds the
    // best divergence are not measured (the brute force above measured all bins - levels + 1 of them).
    expect(work.fineBins).toBe(bins);
    expect(work.windows).toBeGreaterThan(0);
    expect(work.windows).toBeLessThan(bins - levels + 1);
    expect(work.groups).toBe(work.windows * levels);
  });

  it('asymmetric windows f * [min, max]: every window\'s divergence is the definition, mass below folded into the first bin', () => {
    // 300 bins of 0.01 on [-1, 2], none empty: the fine grid is the input's bins, 100 below 0 and 200 above.
    // Window k of K = 300: bins [100 - ceil(100 f), 100 + ceil(200 f)), f = k / K, both tails folded in.
    const r = new SeededRandom(22);
    const bins = 300;
    const counts = Array.from({ length: bins }, (_, i) => (i < 20 || i > 270 ? 1 + Math.round(2 * r.uniform()) : Math.round(40 + 80 * r.uniform())));
    const edges = Array.from({ length: bins + 1 }, (_, i) => (i - 100) / 100);
    const levels = 16;
    const divergenceOf = (s: number, e: number): number => windowDivergenceByDefinition(counts, s, e, levels);
    let best = Infinity;
    let bestWindow = [0, 0];
    for (let k = 1; k <= bins; k++) {
      const f = k / bins;
      const s = 100 - Math.min(100, Math.ceil(f * 100 - 1e-9));
      const e = 100 + Math.min(200, Math.ceil(f * 200 - 1e-9));
      if (e - s < levels) continue;
      const d = divergenceOf(s, e);
      if (d < best) { best = d; bestWindow = [s, e]; }
    }
    const got = klRange({ counts, edges }, { bits: 4, mode: 'asymmetric', candidates: bins });
    expect(got.lo).toBeCloseTo(edges[bestWindow[0]], 9);
    expect(got.hi).toBeCloseTo(edges[bestWindow[1]], 9);
    expect(got.divergence).toBeCloseTo(best, 9);
    expect(bestWindow[0] > 0 || bestWindow[1] < bins).toBe(true); // a tail is clipped
  });

  it('rejects 0 bits', () => {
    expect(() => klRange({ counts: [1], edges: [0, 1] }, { bits: 0 })).toThrow(expect.objectContaining({ code: 'E_BAD_OPTION' }));
  });
});
