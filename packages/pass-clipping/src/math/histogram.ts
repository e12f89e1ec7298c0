import { NibbleError } from '@nibble/ir';

/**
 * What the clipping searches read of a histogram (@nibble/stats' Histogram,
 * the one histogram type: its counts and edges()): counts[i] values fell in
 * [edges[i], edges[i+1]] (edges.length = counts.length + 1, non-decreasing),
 * read as a piecewise-uniform density, each bin's mass spread evenly over
 * the bin. Edges are free, not a grid: capping at a ReLU6 bound puts an
 * edge at 6, and a zero-width bin is a point mass (the ReLU view below uses
 * one at 0).
 */
export interface BinnedDensity {
  counts: ArrayLike<number>;
  edges: ArrayLike<number>;
}

export function checkHistogram(h: BinnedDensity, where = 'histogram'): void {
  const n = h.counts.length;
  if (n === 0 || h.edges.length !== n + 1) {
    throw new NibbleError('E_SHAPE', `${where}: ${n} counts need ${n + 1} edges, got ${h.edges.length}`, { value: where });
  }
  for (let i = 0; i <= n; i++) {
    if (!Number.isFinite(h.edges[i]) || (i > 0 && h.edges[i] < h.edges[i - 1])) {
      throw new NibbleError('E_NUMERIC', `${where}: edge ${i} = ${h.edges[i]} is not finite and non-decreasing`, { value: where });
    }
  }
  for (let i = 0; i < n; i++) {
    if (!(h.counts[i] >= 0) || !Number.isFinite(h.counts[i])) {
      throw new NibbleError('E_NUMERIC', `${where}: count ${i} = ${h.counts[i]} is not a finite non-negative number`, { value: where });
    }
  }
}

export function totalMass(h: BinnedDensity): number {
  let t = 0;
  for (let i = 0; i < h.counts.length; i++) t += h.counts[i];
  return t;
}

/** The bins that hold mass, in order: empty bins add nothing to the error, so the searches skip them once. */
export interface OccupiedBins {
  mass: Float64Array;
  from: Float64Array;
  to: Float64Array;
}

export function occupiedBins(h: BinnedDensity): OccupiedBins {
  let n = 0;
  for (let i = 0; i < h.counts.length; i++) if (h.counts[i] !== 0) n++;
  const out = { mass: new Float64Array(n), from: new Float64Array(n), to: new Float64Array(n) };
  let j = 0;
  for (let i = 0; i < h.counts.length; i++) {
    if (h.counts[i] === 0) continue;
    out.mass[j] = h.counts[i];
    out.from[j] = h.edges[i];
    out.to[j] = h.edges[i + 1];
    j++;
  }
  return out;
}

/** [first edge, last edge] among bins that hold mass ([0, 0] for an empty histogram). */
export function occupiedRange(h: BinnedDensity): { lo: number; hi: number } {
  let a = -1;
  let b = -1;
  for (let i = 0; i < h.counts.length; i++) {
    if (h.counts[i] > 0) {
      if (a < 0) a = i;
      b = i;
    }
  }
  return a < 0 ? { lo: 0, hi: 0 } : { lo: h.edges[a], hi: h.edges[b + 1] };
}

/**
 * Mass at or below each of the ascending points `xs`, in one sweep
 * (O(bins + points)). Point masses at x count as below x.
 */
export function cdfAtSorted(h: BinnedDensity, xs: ArrayLike<number>): Float64Array {
  const out = new Float64Array(xs.length);
  const n = h.counts.length;
  let bin = 0;
  let below = 0; // mass of bins entirely left of `bin`
  for (let k = 0; k < xs.length; k++) {
    const x = xs[k];
    while (bin < n && h.edges[bin + 1] <= x) below += h.counts[bin++];
    let v = below;
    if (bin < n && x > h.edges[bin]) {
      const w = h.edges[bin + 1] - h.edges[bin];
      v += (h.counts[bin] * (x - h.edges[bin])) / w;
    }
    out[k] = v;
  }
  return out;
}

export function cdfAt(h: BinnedDensity, x: number): number {
  return cdfAtSorted(h, [x])[0];
}

/** The value below which a fraction `p` in [0, 1] of the mass lies (linear within bins). */
export function quantile(h: BinnedDensity, p: number): number {
  const total = totalMass(h);
  const n = h.counts.length;
  if (total === 0) return 0;
  const target = Math.min(Math.max(p, 0), 1) * total;
  let acc = 0;
  for (let i = 0; i < n; i++) {
    const c = h.counts[i];
    if (c > 0 && acc + c >= target) {
      const f = (target - acc) / c;
      return h.edges[i] + f * (h.edges[i + 1] - h.edges[i]);
    }
    acc += c;
  }
  return occupiedRange(h).hi;
}

/** Re-bin onto new ascending edges, assuming uniform density within each old bin (exact for that model). */
export function rebin(h: BinnedDensity, edges: ArrayLike<number>): BinnedDensity {
  const cdf = cdfAtSorted(h, edges);
  const counts = new Float64Array(edges.length - 1);
  for (let i = 0; i < counts.length; i++) counts[i] = Math.max(0, cdf[i + 1] - cdf[i]);
  // Mass outside the new edges is added to the end bins, so nothing is lost.
  if (counts.length > 0) {
    counts[0] += cdf[0];
    counts[counts.length - 1] += totalMass(h) - cdf[cdf.length - 1];
  }
  return { counts, edges: Float64Array.from(edges) };
}

/**
 * Scratch for the relu and abs views, grown to the largest histogram seen
 * (room for n input bins, each split in two at most): one call per channel
 * allocated 100 kB before.
 */
interface PieceBuffers {
  n: number;
  A: Float64Array; B: Float64Array; M: Float64Array;
  cuts: Float64Array; startCut: Int32Array; pointMass: Float64Array; hasPoint: Uint8Array; binMass: Float64Array;
  edges: Float64Array; counts: Float64Array;
}
let RELU_SCRATCH = pieceBuffers(0);

function pieceBuffers(n: number): PieceBuffers {
  const p = n + 1;
  return {
    n, A: new Float64Array(p), B: new Float64Array(p), M: new Float64Array(p),
    cuts: new Float64Array(2 * p + 1), startCut: new Int32Array(p), pointMass: new Float64Array(2 * p + 1),
    hasPoint: new Uint8Array(2 * p + 1), binMass: new Float64Array(2 * p + 1), edges: new Float64Array(4 * p + 3), counts: new Float64Array(4 * p + 2),
  };
}

/** Zeroes the per-cut accumulators of the first nc cuts. */
function clearCuts(b: PieceBuffers, nc: number): void {
  b.pointMass.fill(0, 0, nc);
  b.hasPoint.fill(0, 0, nc);
  b.binMass.fill(0, 0, nc);
}

function reluScratch(n: number): PieceBuffers {
  if (RELU_SCRATCH.n < n) RELU_SCRATCH = pieceBuffers(n);
  return RELU_SCRATCH;
}

/**
 * The histogram of max(x, 0): mass below 0 becomes a point mass at 0 (a
 * ReLU's output), in one sweep: the pieces kept (bins at or above 0, the
 * upper part of a bin straddling 0) are already in order and never
 * overlap, so their ends are the sorted cuts and each spread piece is
 * exactly one output bin. The clipping searches call this once per channel
 * and candidate set; a general sort-and-merge of pieces was most of
 * clip-percentile's time on nsfwjs's 17k activation channels. Gaps between
 * occupied bins become one empty bin (see assemble).
 */
export function reluHistogram(h: BinnedDensity): BinnedDensity {
  const n = h.counts.length;
  const buf = reluScratch(n);
  const { A, B, M, cuts, startCut, pointMass, hasPoint, binMass } = buf;
  let kept = 0;
  let atZero = 0;
  for (let i = 0; i < n; i++) {
    const m = h.counts[i];
    if (!(m > 0)) continue;
    const a = h.edges[i];
    const b = h.edges[i + 1];
    if (b <= 0 && !(a === 0 && b === 0)) atZero += m;
    else if (a >= 0) { A[kept] = a; B[kept] = b; M[kept++] = m; }
    else {
      const f = -a / (b - a);
      atZero += m * f;
      A[kept] = 0; B[kept] = b; M[kept++] = m * (1 - f);
    }
  }
  // Sorted distinct cuts; 0 (the point mass's place) comes first, from a kept piece when one starts there.
  let nc = 0;
  if (atZero > 0 && !(kept > 0 && A[0] === 0)) cuts[nc++] = 0;
  for (let j = 0; j < kept; j++) {
    // + 0: a cut at zero is +0 (an input edge may be -0; the cuts were a Set, which keeps +0).
    if (nc === 0 || cuts[nc - 1] !== A[j]) cuts[nc++] = A[j] + 0;
    startCut[j] = nc - 1;
    if (cuts[nc - 1] !== B[j]) cuts[nc++] = B[j] + 0;
  }
  if (nc === 0) return { counts: [0], edges: [0, 0] };
  clearCuts(buf, nc);
  for (let j = 0; j < kept; j++) {
    const k = startCut[j];
    if (A[j] === B[j]) {
      pointMass[k] = (hasPoint[k] ? pointMass[k] : 0) + M[j];
      hasPoint[k] = 1;
    } else {
      binMass[k] += (M[j] * (cuts[k + 1] - cuts[k])) / (B[j] - A[j]);
    }
  }
  if (atZero > 0) {
    pointMass[0] = (hasPoint[0] ? pointMass[0] : 0) + atZero;
    hasPoint[0] = 1;
  }
  return assemble(buf, nc);
}

/**
 * The output of a piece merge: for each cut in order, a zero-width bin for
 * the point mass there (if any), then the bin up to the next cut (empty
 * when no piece covers it: gaps between occupied bins become one bin).
 */
function assemble(b: PieceBuffers, nc: number): BinnedDensity {
  const { cuts, pointMass, hasPoint, binMass, edges, counts } = b;
  let ne = 0;
  let nb = 0;
  for (let k = 0; k < nc; k++) {
    if (hasPoint[k]) {
      if (ne === 0 || edges[ne - 1] !== cuts[k]) edges[ne++] = cuts[k];
      edges[ne++] = cuts[k];
      counts[nb++] = pointMass[k];
    }
    if (k < nc - 1) {
      if (ne === 0 || edges[ne - 1] !== cuts[k]) edges[ne++] = cuts[k];
      edges[ne++] = cuts[k + 1];
      counts[nb++] = binMass[k];
    }
  }
  if (nb === 0) return { counts: [0], edges: [0, 0] };
  return { counts: counts.slice(0, nb), edges: edges.slice(0, ne) };
}

/**
 * The histogram of min(x, u): mass above u becomes a point mass at u (what
 * a reader that clips at u sees; a ReLU6's 6). Unchanged when nothing lies
 * above u.
 */
export function capHistogram(h: BinnedDensity, u: number): BinnedDensity {
  const n = h.counts.length;
  let k = 0;
  while (k < n && h.edges[k + 1] <= u) k++;
  let above = 0;
  for (let i = k; i < n; i++) above += h.counts[i];
  if (above === 0) return h;
  const edges: number[] = [];
  const counts: number[] = [];
  for (let i = 0; i < k; i++) { edges.push(h.edges[i]); counts.push(h.counts[i]); }
  if (k < n && h.edges[k] < u) {
    // The bin straddling u: its share below u stays spread, the rest joins the point mass.
    const below = (h.counts[k] * (u - h.edges[k])) / (h.edges[k + 1] - h.edges[k]);
    edges.push(h.edges[k]);
    counts.push(below);
    above -= below;
  }
  edges.push(u, u);
  counts.push(above);
  return { counts: Float64Array.from(counts), edges: Float64Array.from(edges) };
}

/**
 * The histogram of |x|: bins straddling 0 split, negative ones mirrored,
 * overlaps merged exactly (the pieces' ends are the cuts; each piece's mass
 * spread over the cuts it covers). The mirrored negative pieces, read
 * backwards, and the positive ones are two ascending runs, so the cuts are
 * their merge: no sort.
 */
export function absHistogram(h: BinnedDensity): BinnedDensity {
  const n = h.counts.length;
  const buf = reluScratch(n);
  const { A, B, M, cuts, pointMass, hasPoint, binMass } = buf;
  // The pieces in bin order (how masses are added up): mirrored negatives, the straddling bin's two halves, positives.
  let np = 0;
  let firstPositive = -1;
  for (let i = 0; i < n; i++) {
    const m = h.counts[i];
    if (!(m > 0)) continue;
    const a = h.edges[i];
    const b = h.edges[i + 1];
    if (a >= 0) { if (firstPositive < 0) firstPositive = np; A[np] = a; B[np] = b; M[np++] = m; }
    else if (b <= 0) { A[np] = -b; B[np] = -a; M[np++] = m; }
    else {
      const f = -a / (b - a);
      A[np] = 0; B[np] = -a; M[np++] = m * f;
      firstPositive = np;
      A[np] = 0; B[np] = b; M[np++] = m * (1 - f);
    }
  }
  if (firstPositive < 0) firstPositive = np;
  // Run 1: the mirrored pieces backwards (the straddle's negative half, if any, is the last of them), ends ascending.
  // Run 2: the positive pieces in order.
  const negEnd = firstPositive;
  let i1 = negEnd - 1;
  let side1 = 0; // 0: A of piece i1 next, 1: its B
  let i2 = negEnd;
  let side2 = 0;
  let nc = 0;
  const next1 = () => (side1 === 0 ? A[i1] : B[i1]);
  const next2 = () => (side2 === 0 ? A[i2] : B[i2]);
  while (i1 >= 0 || i2 < np) {
    let x: number;
    if (i2 >= np || (i1 >= 0 && next1() <= next2())) {
      x = next1();
      if (side1 === 0) side1 = 1;
      else { side1 = 0; i1--; }
    } else {
      x = next2();
      if (side2 === 0) side2 = 1;
      else { side2 = 0; i2++; }
    }
    // + 0: a cut at zero is +0, whichever side's -0 came first (the cuts were a Set, which keeps +0).
    if (nc === 0 || cuts[nc - 1] !== x) cuts[nc++] = x + 0;
  }
  if (nc === 0) return { counts: [0], edges: [0, 0] };
  clearCuts(buf, nc);
  for (let j = 0; j < np; j++) {
    const a = A[j];
    const b = B[j];
    let k = firstAtLeast(cuts, a, 0, nc);
    if (a === b) {
      pointMass[k] = (hasPoint[k] ? pointMass[k] : 0) + M[j];
      hasPoint[k] = 1;
      continue;
    }
    while (k < nc - 1 && cuts[k] < b) {
      binMass[k] += (M[j] * (cuts[k + 1] - cuts[k])) / (b - a);
      k++;
    }
  }
  return assemble(buf, nc);
}

/** The first index k in [from, n) with xs[k] > x (n when none); xs ascending. */
export function firstAbove(xs: ArrayLike<number>, x: number, from = 0, n = xs.length): number {
  let lo = from;
  let hi = n;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (xs[mid] <= x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** The first index k in [from, n) with xs[k] >= x (n when none); xs ascending. */
export function firstAtLeast(xs: ArrayLike<number>, x: number, from = 0, n = xs.length): number {
  let lo = from;
  let hi = n;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (xs[mid] < x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** A histogram of samples over [min, max] with `bins` equal bins (the last bin closed). */
export function histogramOf(x: ArrayLike<number>, bins: number, range?: { lo: number; hi: number }): BinnedDensity {
  let lo = range?.lo ?? Infinity;
  let hi = range?.hi ?? -Infinity;
  if (!range) for (let i = 0; i < x.length; i++) { if (x[i] < lo) lo = x[i]; if (x[i] > hi) hi = x[i]; }
  if (!(hi > lo)) { lo = Number.isFinite(lo) ? lo : 0; hi = lo; }
  const counts = new Float64Array(bins);
  const edges = new Float64Array(bins + 1);
  for (let i = 0; i <= bins; i++) edges[i] = lo + ((hi - lo) * i) / bins;
  edges[bins] = hi;
  const w = (hi - lo) / bins;
  for (let i = 0; i < x.length; i++) {
    const v = x[i];
    if (!Number.isFinite(v)) throw new NibbleError('E_NUMERIC', `histogramOf: element ${i} is ${v}`);
    let k = w > 0 ? Math.floor((v - lo) / w) : 0;
    k = k < 0 ? 0 : k >= bins ? bins - 1 : k;
    counts[k]++;
  }
  return { counts, edges };
}
