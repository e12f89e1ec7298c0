import { ClipRange } from './aciq';
import { BinnedDensity, absHistogram, checkHistogram, occupiedRange, reluHistogram, totalMass } from './histogram';
import { ClipMode, checkMode, checkSearchBits } from './modes';

/**
 * Entropy (KL) calibration, the method TensorRT introduced and onnxruntime's
 * calibrator implements, restated over a piecewise-uniform histogram:
 *
 * For each candidate window [a, b]:
 *  - P: the mass in N fine bins over the window (N about the input's own
 *    bin count there, a multiple of the level count L), plus the mass
 *    outside the window folded into the two end bins (what clipping does),
 *    so P carries the whole mass;
 *  - Q: the window's bins without the clipped mass, merged into L groups of
 *    N / L bins, each group's mass spread evenly over the bins where P is
 *    non-empty (what L quantization levels can say about the distribution);
 *  - both normalised and smoothed (empty bins get eps, the rest scale by
 *    1 - eps * empties), then KL(P || Q) = sum P ln(P / Q);
 *  - plus w - 1 - ln w, where w is the fraction of the mass inside the
 *    window (see below).
 * The window with the least divergence wins (the smallest on ties).
 *
 * Why the mass term: TensorRT compares shapes only (Q renormalised on its
 * own), and that lets a window holding almost nothing win. When the little
 * mass inside lies in the window's last fine bin, P (all of it folded into
 * that bin) and Q (the sliver, renormalised) are the same spike and the
 * divergence is exactly 0: on nsfwjs's MobileNetV2 a window holding 1 of
 * 301,056 values of a channel won that way. Without renormalising, Q holds
 * only the mass the window keeps, w; the divergence of non-negative
 * measures, sum P ln(P / Q) - sum P + sum Q (the generalised KL, >= 0 and 0
 * only for P = Q), is then KL(P || Q / w) + w - 1 - ln w. The extra term is
 * about (1 - w)^2 / 2 for the fractions of a percent a sensible window
 * clips (TensorRT's answer is kept) and ln(1 / w) - 1 for a sliver.
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
  /** When given, the search adds the work it did here (tests bound the cost by it, not by the clock). */
  work?: KlWork;
}

/** What a search cost: windows whose divergence was computed, and the fine bins they were measured on. */
export interface KlWork {
  windows: number;
  fineBins: number;
}

export interface KlResult extends ClipRange {
  divergence: number;
  /** The winning fraction of the full range (t / t_max or lambda). */
  fraction: number;
}

const SMOOTH_EPS = 1e-4;

/** At most this many fine bins per window (the input's 2048 bins stretched 32 times). */
const MAX_FINE_BINS = 65536;

/** The histogram with its prefix sums, and scratch buffers reused by every window (sized for the widest). */
interface Scan {
  counts: ArrayLike<number>;
  edges: ArrayLike<number>;
  /** prefix[i]: mass of bins 0..i-1. */
  prefix: Float64Array;
  total: number;
  F: Float64Array;
  sliced: Float64Array;
  P: Float64Array;
  Q: Float64Array;
}

function scanOf(h: BinnedDensity, maxFine: number): Scan {
  const prefix = new Float64Array(h.counts.length + 1);
  for (let i = 0; i < h.counts.length; i++) prefix[i + 1] = prefix[i] + h.counts[i];
  return {
    counts: h.counts, edges: h.edges, prefix, total: prefix[h.counts.length],
    F: new Float64Array(maxFine + 1), sliced: new Float64Array(maxFine), P: new Float64Array(maxFine), Q: new Float64Array(maxFine),
  };
}

/** The first bin whose upper edge lies above x (bins.length when none does). */
function binAbove(edges: ArrayLike<number>, bins: number, x: number): number {
  let lo = 0;
  let hi = bins;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (edges[mid + 1] <= x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * s.F[i] = mass at or below a + (b - a) i / n for i = 0..n (point masses at
 * x count as below x), from the prefix sums: O(log bins + n + bins inside).
 */
function cdfGrid(s: Scan, a: number, b: number, n: number): void {
  const { counts, edges, prefix, F } = s;
  const bins = counts.length;
  let bin = binAbove(edges, bins, a);
  for (let i = 0; i <= n; i++) {
    const x = i === n ? b : a + ((b - a) * i) / n;
    while (bin < bins && edges[bin + 1] <= x) bin++;
    let v = prefix[bin];
    if (bin < bins && x > edges[bin]) v += (counts[bin] * (x - edges[bin])) / (edges[bin + 1] - edges[bin]);
    F[i] = v;
  }
}

/** The divergence of one window (see the comment at the top); Infinity when the window holds no mass. */
function divergence(s: Scan, a: number, b: number, n: number, levels: number, foldBelow: boolean): number {
  cdfGrid(s, a, b, n);
  const { F, sliced, P, Q, total } = s;
  // Symmetric and one-sided windows start at 0, where nothing lies below (a point mass at 0 is inside).
  const below = foldBelow ? F[0] : 0;
  let inside = 0;
  for (let i = 0; i < n; i++) {
    const m = Math.max(0, F[i + 1] - (i === 0 ? below : F[i]));
    sliced[i] = m;
    P[i] = m;
    inside += m;
  }
  if (inside === 0) return Infinity;
  P[0] += below;
  P[n - 1] += Math.max(0, total - F[n]);
  const group = n / levels;
  let pSum = 0;
  let pZeros = 0;
  let qSum = 0;
  let qZeros = 0;
  for (let g = 0; g < levels; g++) {
    const from = g * group;
    const to = from + group;
    let mass = 0;
    let nonzero = 0;
    for (let i = from; i < to; i++) { mass += sliced[i]; if (P[i] > 0) nonzero++; }
    const q = nonzero > 0 ? mass / nonzero : 0;
    for (let i = from; i < to; i++) {
      const p = P[i];
      Q[i] = p > 0 ? q : 0;
      pSum += p;
      qSum += Q[i];
      if (p === 0) pZeros++;
      if (Q[i] === 0) qZeros++;
    }
  }
  const eps = Math.min(SMOOTH_EPS, 0.5 / n);
  const pScale = (1 - eps * pZeros) / pSum;
  const qScale = (1 - eps * qZeros) / qSum;
  let kl = 0;
  for (let i = 0; i < n; i++) {
    // Where P is empty so is Q, and both smooth to eps: the term is 0.
    if (P[i] === 0) continue;
    const p = P[i] * pScale;
    const q = Q[i] === 0 ? eps : Q[i] * qScale;
    kl += p * Math.log(p / q);
  }
  const clipped = Math.min(1, Math.max(0, 1 - inside / total));
  // w - 1 - ln w with w = 1 - clipped, without cancellation near w = 1.
  return kl - clipped - Math.log1p(-clipped);
}

function withoutBins(h: BinnedDensity, bins: readonly number[]): BinnedDensity {
  const counts = Float64Array.from(h.counts);
  for (const i of bins) counts[i] = 0;
  return { counts, edges: h.edges };
}

function withoutAtomAtZero(h: BinnedDensity): BinnedDensity {
  const counts = Float64Array.from(h.counts);
  for (let i = 0; i < counts.length; i++) if (h.edges[i] === 0 && h.edges[i + 1] === 0) counts[i] = 0;
  return { counts, edges: h.edges };
}

/** Bins of `h` with positive width inside its occupied range: the resolution the input offers. */
function resolution(h: BinnedDensity): number {
  const occ = occupiedRange(h);
  let n = 0;
  for (let i = 0; i < h.counts.length; i++) if (h.edges[i + 1] > h.edges[i] && h.edges[i] >= occ.lo && h.edges[i + 1] <= occ.hi) n++;
  return Math.max(1, n);
}

/** A bin is a point mass when it holds this many times the mean of its ATOM_REACH neighbours on each side... */
const ATOM_RATIO = 16;
const ATOM_REACH = 4;
/** ...and at least this share of the mass. */
const ATOM_SHARE = 0.01;

/**
 * Bins that hold a point mass: one value repeated many times, as a constant
 * background gives every early conv channel (every background patch yields
 * the same output), up to half a channel's mass on Fashion-MNIST. KL
 * compares shapes, and such a spike dominates the shape: Q spreads a group's
 * mass over the group, the spike's own bin gets far too little, and the
 * divergence falls as the window shrinks towards the spike (the zoo table's
 * W4A4 KL collapse: windows a tenth of the observed range). A point mass is
 * one value; whatever window holds it represents it by one level, so it is
 * no part of the shape to compare: it is taken out of P and Q (as the ReLU
 * zeros are), and the window must still hold it (klRange's lower bound).
 */
export function pointMassBins(h: BinnedDensity): number[] {
  const n = h.counts.length;
  const total = totalMass(h);
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const m = h.counts[i];
    if (!(m >= ATOM_SHARE * total) || m === 0) continue;
    let around = 0;
    for (let j = Math.max(0, i - ATOM_REACH); j <= Math.min(n - 1, i + ATOM_REACH); j++) if (j !== i) around += h.counts[j];
    if (m > (ATOM_RATIO * around) / (2 * ATOM_REACH)) out.push(i);
  }
  return out;
}

export function klRange(h0: BinnedDensity, opts: KlOptions): KlResult {
  checkHistogram(h0);
  const mode = opts.mode ?? 'symmetric';
  checkMode(mode, 'clip-kl');
  checkSearchBits(opts.bits, 'clip-kl');
  const shaped = mode === 'symmetric' ? absHistogram(h0) : mode === 'one-sided' ? withoutAtomAtZero(reluHistogram(h0)) : h0;
  const atoms = pointMassBins(shaped);
  const h = atoms.length === 0 ? shaped : withoutBins(shaped, atoms);
  const total = totalMass(h);
  const occ = occupiedRange(shaped);
  const lo0 = Math.min(occ.lo, 0);
  const hi0 = Math.max(occ.hi, 0);
  const empty: KlResult = { lo: mode === 'asymmetric' ? lo0 : mode === 'symmetric' ? -hi0 : 0, hi: hi0, divergence: 0, fraction: 1 };
  // A point mass (every value equal, or all of them in one zero-width bin) has nothing to clip:
  // the full window ends on it exactly. So when nothing but point masses is left.
  const rest = occupiedRange(h);
  if (total === 0 || hi0 - lo0 === 0 || !(occ.hi > occ.lo) || !(rest.hi > rest.lo)) return empty;
  // The smallest fraction of [lo0, hi0] whose window holds every point mass.
  let atomFraction = 0;
  for (const i of atoms) {
    if (shaped.edges[i + 1] > 0) atomFraction = Math.max(atomFraction, shaped.edges[i + 1] / hi0);
    if (mode === 'asymmetric' && shaped.edges[i] < 0) atomFraction = Math.max(atomFraction, shaped.edges[i] / lo0);
  }
  const levels = 2 ** (mode === 'symmetric' ? opts.bits - 1 : opts.bits);
  // The input's resolution stretched over [lo0, hi0]; bounded, since mass in a sliver far from 0
  // would otherwise ask for millions of fine bins per window.
  const span = Math.min(MAX_FINE_BINS, resolution(shaped) * ((hi0 - lo0) / (occ.hi - occ.lo)));
  const K = Math.max(1, Math.min(opts.candidates ?? 512, Math.round(span)));
  const kmin = Math.min(K, Math.max(1, Math.ceil((K * levels) / span), Math.ceil(K * atomFraction - 1e-9)));
  const fineBins = (f: number) => levels * Math.max(1, Math.round((f * span) / levels));
  const scan = scanOf(h, fineBins(1));
  let best: KlResult = { ...empty, divergence: Infinity };
  for (let k = kmin; k <= K; k++) {
    const f = k / K;
    const a = mode === 'asymmetric' ? f * lo0 : 0;
    const b = f * hi0;
    const n = fineBins(f);
    const d = divergence(scan, a, b, n, levels, mode === 'asymmetric');
    if (opts.work) {
      opts.work.windows++;
      opts.work.fineBins += n;
    }
    if (d < best.divergence) {
      best = { lo: mode === 'symmetric' ? -b : a, hi: b, divergence: d, fraction: f };
    }
  }
  return best;
}
