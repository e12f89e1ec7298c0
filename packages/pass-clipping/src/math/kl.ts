import { ClipRange } from './aciq';
import { BinnedDensity, absHistogram, cdfAtSorted, checkHistogram, occupiedRange, reluHistogram, totalMass } from './histogram';
import { ClipMode, checkMode, checkSearchBits } from './modes';

/**
 * Entropy (KL) calibration, the method TensorRT introduced and onnxruntime's
 * calibrator implements, restated over a piecewise-uniform histogram:
 *
 * The histogram is resampled once onto a fine grid over the full range
 * [lo0, hi0] (about the input's own resolution, 0 an edge), and every
 * candidate window [a, b] is a run of N whole fine bins reaching at least
 * the fraction f of the range (TensorRT's windows are whole bins too):
 *  - P: the mass in the window's N fine bins, plus the mass outside the
 *    window folded into the two end bins (what clipping does), so P
 *    carries the whole mass;
 *  - Q: the window's bins without the clipped mass, merged into L groups
 *    (group g: bins floor(g N / L) to floor((g + 1) N / L)), each group's
 *    mass spread evenly over the bins where P is non-empty (what L
 *    quantization levels can say about the distribution);
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

/** What a search cost: windows whose divergence was computed, the fine bins resampled once, and the group terms summed. */
export interface KlWork {
  windows: number;
  fineBins: number;
  groups: number;
}

export interface KlResult extends ClipRange {
  divergence: number;
  /** The winning fraction of the full range (t / t_max or lambda). */
  fraction: number;
}

const SMOOTH_EPS = 1e-4;

/** At most this many fine bins over the full range (the input's 2048 bins stretched 32 times). */
const MAX_FINE_BINS = 65536;

/**
 * One fine grid per channel over [lo0, hi0], 0 an edge: `negative` bins of
 * equal width below 0 and `positive` above, every window a run of whole
 * fine bins around 0. With the grid fixed, each window's sums are
 * differences of prefix sums and its divergence costs O(levels), not
 * O(fine bins): the per-window resampling and logarithms were 80 % of
 * w4a4-kl's time on nsfwjs's 17k activation channels (109 of 135 s).
 */
interface FineGrid {
  negative: number;
  positive: number;
  /** x[i]: edge i, i = 0..negative + positive; x[negative] = 0. */
  x: Float64Array;
  /** F[i]: mass at or below x[i] (point masses at x count as below x). */
  F: Float64Array;
  /** Prefix sums over fine bins (index i: bins 0..i-1) of the mass, of [mass > 0], and of mass * ln(mass). */
  mass: Float64Array;
  occupied: Float64Array;
  massLogMass: Float64Array;
}

function xLogX(v: number): number {
  return v > 0 ? v * Math.log(v) : 0;
}

function fineGrid(h: BinnedDensity, lo0: number, hi0: number, fine: number, foldBelow: boolean): FineGrid {
  const negative = lo0 < 0 ? Math.min(fine - (hi0 > 0 ? 1 : 0), Math.max(1, Math.round((fine * -lo0) / (hi0 - lo0)))) : 0;
  const positive = hi0 > 0 ? Math.max(1, fine - negative) : 0;
  const n = negative + positive;
  const x = new Float64Array(n + 1);
  for (let i = 0; i < negative; i++) x[i] = (lo0 * (negative - i)) / negative;
  for (let i = 1; i <= positive; i++) x[negative + i] = i === positive ? hi0 : (hi0 * i) / positive;
  const F = cdfAtSorted(h, x);
  const mass = new Float64Array(n + 1);
  const occupied = new Float64Array(n + 1);
  const massLogMass = new Float64Array(n + 1);
  for (let i = 0; i < n; i++) {
    // Windows that start at 0 (symmetric, one-sided) count what lies at 0 in their first bin.
    const m = Math.max(0, F[i + 1] - (i === 0 && !foldBelow ? 0 : F[i]));
    mass[i + 1] = mass[i] + m;
    occupied[i + 1] = occupied[i] + (m > 0 ? 1 : 0);
    massLogMass[i + 1] = massLogMass[i] + xLogX(m);
  }
  return { negative, positive, x, F, mass, occupied, massLogMass };
}

/**
 * The divergence of the window of fine bins [s, e) (see the comment at the
 * top), from the grid's prefix sums: groups are [s + floor(g n / L),
 * s + floor((g + 1) n / L)), the clipped mass folded into the end bins.
 * Infinity when the window holds no mass.
 */
function windowDivergence(g: FineGrid, s: number, e: number, levels: number, total: number, foldBelow: boolean): number {
  const { F, mass, occupied, massLogMass } = g;
  const n = e - s;
  const inside = mass[e] - mass[s];
  if (!(inside > 0)) return Infinity;
  const below = foldBelow ? F[s] : 0;
  const above = Math.max(0, total - F[e]);
  const first = mass[s + 1] - mass[s];
  const last = mass[e] - mass[e - 1];
  // The end bins as P holds them: their own mass plus what the window clips on that side.
  const pFirst = first + below + (n === 1 ? above : 0);
  const pLast = n === 1 ? pFirst : last + above;
  let pLogP = massLogMass[e] - massLogMass[s] - xLogX(first) + xLogX(pFirst);
  if (n > 1) pLogP += xLogX(pLast) - xLogX(last);
  const pSum = inside + below + above;
  let pNonzero = 0;
  let qNonzero = 0;
  let qSum = 0;
  // Per group: the mass P holds there (for sum P ln Q) and its q.
  let pDotLogQ = 0;
  let zeroQMass = 0;
  const groupP = GROUP_P.length >= levels ? GROUP_P : (GROUP_P = new Float64Array(levels));
  const groupQ = GROUP_Q.length >= levels ? GROUP_Q : (GROUP_Q = new Float64Array(levels));
  for (let j = 0; j < levels; j++) {
    const a = s + Math.floor((j * n) / levels);
    const b = s + Math.floor(((j + 1) * n) / levels);
    if (b === a) { groupP[j] = 0; groupQ[j] = 0; continue; }
    const m = mass[b] - mass[a];
    let nz = occupied[b] - occupied[a];
    let p = m;
    if (a === s) { if (first === 0 && pFirst > 0) nz++; p += pFirst - first; }
    if (b === e && n > 1) { if (last === 0 && pLast > 0) nz++; p += pLast - last; }
    const q = nz > 0 ? m / nz : 0;
    pNonzero += nz;
    if (q > 0) { qNonzero += nz; qSum += q * nz; }
    groupP[j] = p;
    groupQ[j] = q;
  }
  const eps = Math.min(SMOOTH_EPS, 0.5 / n);
  const pScale = (1 - eps * (n - pNonzero)) / pSum;
  const qScale = (1 - eps * (n - qNonzero)) / qSum;
  for (let j = 0; j < levels; j++) {
    const p = groupP[j];
    if (!(p > 0)) continue;
    // Where Q is empty but P is not (only clipped mass in the group), Q smooths to eps.
    if (groupQ[j] > 0) pDotLogQ += p * Math.log(groupQ[j] * qScale);
    else zeroQMass += p;
  }
  // sum p ln p - sum p ln q with p = P pScale, q = Q qScale (or eps).
  const kl = pScale * pLogP + pScale * Math.log(pScale) * pSum - pScale * pDotLogQ - pScale * zeroQMass * Math.log(eps);
  const clipped = Math.min(1, Math.max(0, 1 - inside / total));
  // w - 1 - ln w with w = 1 - clipped, without cancellation near w = 1.
  return kl - clipped - Math.log1p(-clipped);
}

let GROUP_P = new Float64Array(256);
let GROUP_Q = new Float64Array(256);

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
  const foldBelow = mode === 'asymmetric';
  const grid = fineGrid(h, lo0, hi0, Math.max(levels, Math.round(span)), foldBelow);
  if (opts.work) opts.work.fineBins += grid.negative + grid.positive;
  let best: KlResult = { ...empty, divergence: Infinity };
  // From the widest window down: the mass term w - 1 - ln w alone bounds a window's divergence from below and
  // only grows as windows shrink, so once it exceeds the best divergence no smaller window can win (exact pruning;
  // ties still go to the smaller window).
  let lastS = -1;
  let lastE = -1;
  for (let k = K; k >= kmin; k--) {
    const f = k / K;
    // Whole fine bins, rounded up: the window reaches f * [lo0, hi0] (and so every point mass the bound asked for).
    const s = grid.negative - Math.min(grid.negative, Math.ceil(f * grid.negative - 1e-9));
    const e = grid.negative + Math.min(grid.positive, Math.ceil(f * grid.positive - 1e-9));
    if (e - s < levels || (s === lastS && e === lastE)) continue;
    lastS = s;
    lastE = e;
    const clipped = Math.min(1, Math.max(0, 1 - (grid.mass[e] - grid.mass[s]) / total));
    if (-clipped - Math.log1p(-clipped) > best.divergence + 1e-12) break;
    const d = windowDivergence(grid, s, e, levels, total, foldBelow);
    if (opts.work) {
      opts.work.windows++;
      opts.work.groups += levels;
    }
    if (d <= best.divergence && d < Infinity) {
      const a = grid.x[s];
      const b = grid.x[e];
      best = { lo: mode === 'symmetric' ? -b : a, hi: b, divergence: d, fraction: hi0 > 0 ? b / hi0 : a / lo0 };
    }
  }
  return best;
}
