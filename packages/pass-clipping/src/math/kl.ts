import { ClipRange } from './aciq';
import { Histogram, absHistogram, cdfAtSorted, checkHistogram, occupiedRange, reluHistogram, totalMass } from './histogram';
import { ClipMode, checkMode, checkSearchBits } from './modes';

/**
 * Entropy (KL) calibration, the method TensorRT introduced and onnxruntime's
 * calibrator implements, restated over a piecewise-uniform histogram:
 *
 * For each candidate window [a, b]:
 *  - P: the mass in N fine bins over the window (N about the input's own
 *    bin count there, a multiple of the level count L), plus the mass
 *    outside the window added to the two end bins (what clipping does);
 *  - Q: the window's bins without the clipped mass, merged into L groups of
 *    N / L bins, each group's mass spread evenly over its non-empty bins
 *    (what L quantization levels can say about the distribution);
 *  - both normalised and smoothed (empty bins get eps, the rest scale by
 *    1 - eps * empties), then KL(P || Q) = sum P log(P / Q).
 * The window with the least divergence wins (the smallest on ties).
 *
 * Modes: 'symmetric' works on |x| with L = 2^(bits-1) (half the levels
 * serve each sign) and returns [-t, t]; 'one-sided' works on max(x, 0) with
 * L = 2^bits and returns [0, t], leaving the ReLU's point mass at 0 out of
 * both P and Q because 0 is exact on every grid; 'asymmetric' works on x
 * with L = 2^bits over windows lambda * [min, max] (see modes.ts).
 */
export interface KlOptions {
  bits: number;
  mode?: ClipMode;
  /** Most windows tried (default 512); the input's bin count bounds it too. */
  candidates?: number;
}

export interface KlResult extends ClipRange {
  divergence: number;
  /** The winning fraction of the full range (t / t_max or lambda). */
  fraction: number;
}

const SMOOTH_EPS = 1e-4;

function smoothNormalize(d: Float64Array): void {
  let sum = 0;
  let zeros = 0;
  for (let i = 0; i < d.length; i++) { sum += d[i]; if (d[i] === 0) zeros++; }
  const eps = Math.min(SMOOTH_EPS, 0.5 / d.length);
  const keep = 1 - eps * zeros;
  for (let i = 0; i < d.length; i++) d[i] = d[i] === 0 ? eps : (d[i] / sum) * keep;
}

function divergence(h: Histogram, total: number, a: number, b: number, n: number, levels: number, massBelowA: number): number {
  const edges = new Float64Array(n + 1);
  for (let i = 0; i <= n; i++) edges[i] = a + ((b - a) * i) / n;
  edges[n] = b;
  const F = cdfAtSorted(h, edges);
  const sliced = new Float64Array(n);
  for (let i = 0; i < n; i++) sliced[i] = Math.max(0, F[i + 1] - (i === 0 ? massBelowA : F[i]));
  const P = sliced.slice();
  P[0] += massBelowA;
  P[n - 1] += Math.max(0, total - F[n]);
  const Q = new Float64Array(n);
  const group = n / levels;
  for (let g = 0; g < levels; g++) {
    let sum = 0;
    let nonzero = 0;
    for (let i = g * group; i < (g + 1) * group; i++) { sum += sliced[i]; if (sliced[i] > 0) nonzero++; }
    if (nonzero === 0) continue;
    for (let i = g * group; i < (g + 1) * group; i++) if (sliced[i] > 0) Q[i] = sum / nonzero;
  }
  let qMass = 0;
  for (let i = 0; i < n; i++) qMass += Q[i];
  if (qMass === 0) return Infinity;
  smoothNormalize(P);
  smoothNormalize(Q);
  let kl = 0;
  for (let i = 0; i < n; i++) kl += P[i] * Math.log(P[i] / Q[i]);
  return kl;
}

function withoutAtomAtZero(h: Histogram): Histogram {
  const counts = Float64Array.from(h.counts);
  for (let i = 0; i < counts.length; i++) if (h.edges[i] === 0 && h.edges[i + 1] === 0) counts[i] = 0;
  return { counts, edges: h.edges };
}

/** Bins of `h` with positive width inside its occupied range: the resolution the input offers. */
function resolution(h: Histogram): number {
  const occ = occupiedRange(h);
  let n = 0;
  for (let i = 0; i < h.counts.length; i++) if (h.edges[i + 1] > h.edges[i] && h.edges[i] >= occ.lo && h.edges[i + 1] <= occ.hi) n++;
  return Math.max(1, n);
}

export function klRange(h0: Histogram, opts: KlOptions): KlResult {
  checkHistogram(h0);
  const mode = opts.mode ?? 'symmetric';
  checkMode(mode, 'clip-kl');
  checkSearchBits(opts.bits, 'clip-kl');
  const h = mode === 'symmetric' ? absHistogram(h0) : mode === 'one-sided' ? withoutAtomAtZero(reluHistogram(h0)) : h0;
  const total = totalMass(h);
  const occ = occupiedRange(h);
  const lo0 = Math.min(occ.lo, 0);
  const hi0 = Math.max(occ.hi, 0);
  const empty: KlResult = { lo: mode === 'asymmetric' ? lo0 : mode === 'symmetric' ? -hi0 : 0, hi: hi0, divergence: 0, fraction: 1 };
  if (total === 0 || hi0 - lo0 === 0) return empty;
  const levels = 2 ** (mode === 'symmetric' ? opts.bits - 1 : opts.bits);
  const span = resolution(h) * ((hi0 - lo0) / Math.max(occ.hi - occ.lo, Number.MIN_VALUE));
  const K = Math.max(1, Math.min(opts.candidates ?? 512, Math.round(span)));
  const kmin = Math.min(K, Math.max(1, Math.ceil((K * levels) / span)));
  let best: KlResult = { ...empty, divergence: Infinity };
  for (let k = kmin; k <= K; k++) {
    const f = k / K;
    const a = mode === 'asymmetric' ? f * lo0 : 0;
    const b = f * hi0;
    const n = levels * Math.max(1, Math.round((f * span) / levels));
    const below = mode === 'asymmetric' ? cdfAtSorted(h, [a])[0] : 0;
    const d = divergence(h, total, a, b, n, levels, below);
    if (d < best.divergence) {
      best = { lo: mode === 'symmetric' ? -b : a, hi: b, divergence: d, fraction: f };
    }
  }
  return best;
}
