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

interface Piece { a: number; b: number; m: number }

function fromPieces(pieces: Piece[]): BinnedDensity {
  const cuts = Array.from(new Set(pieces.flatMap((p) => [p.a, p.b]))).sort((x, y) => x - y);
  const points = pieces.filter((p) => p.a === p.b);
  const spread = pieces.filter((p) => p.a < p.b);
  // Output: a zero-width bin for each point mass, then the ordinary bins.
  const edges: number[] = [];
  const counts: number[] = [];
  const pointMass = new Map<number, number>();
  for (const p of points) pointMass.set(p.a, (pointMass.get(p.a) ?? 0) + p.m);
  const binMass = new Float64Array(Math.max(0, cuts.length - 1));
  for (const p of spread) {
    let k = lowerBound(cuts, p.a);
    while (k < cuts.length - 1 && cuts[k] < p.b) {
      binMass[k] += (p.m * (cuts[k + 1] - cuts[k])) / (p.b - p.a);
      k++;
    }
  }
  for (let k = 0; k < cuts.length; k++) {
    const pm = pointMass.get(cuts[k]);
    if (pm !== undefined) {
      if (edges.length === 0 || edges[edges.length - 1] !== cuts[k]) edges.push(cuts[k]);
      edges.push(cuts[k]);
      counts.push(pm);
    }
    if (k < cuts.length - 1) {
      if (edges.length === 0 || edges[edges.length - 1] !== cuts[k]) edges.push(cuts[k]);
      edges.push(cuts[k + 1]);
      counts.push(binMass[k]);
    }
  }
  if (counts.length === 0) return { counts: [0], edges: [0, 0] };
  return { counts: Float64Array.from(counts), edges: Float64Array.from(edges) };
}

function lowerBound(xs: number[], x: number): number {
  let lo = 0;
  let hi = xs.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (xs[mid] < x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

function pieces(h: BinnedDensity): Piece[] {
  const out: Piece[] = [];
  for (let i = 0; i < h.counts.length; i++) if (h.counts[i] > 0) out.push({ a: h.edges[i], b: h.edges[i + 1], m: h.counts[i] });
  return out;
}

/** The histogram of max(x, 0): mass below 0 becomes a point mass at 0 (a ReLU's output). */
export function reluHistogram(h: BinnedDensity): BinnedDensity {
  const out: Piece[] = [];
  let atZero = 0;
  for (const p of pieces(h)) {
    if (p.b <= 0 && !(p.a === 0 && p.b === 0)) atZero += p.m;
    else if (p.a >= 0) out.push(p);
    else {
      const f = -p.a / (p.b - p.a);
      atZero += p.m * f;
      out.push({ a: 0, b: p.b, m: p.m * (1 - f) });
    }
  }
  if (atZero > 0) out.push({ a: 0, b: 0, m: atZero });
  return fromPieces(out);
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

/** The histogram of |x|: bins straddling 0 split, negative ones mirrored, overlaps merged exactly. */
export function absHistogram(h: BinnedDensity): BinnedDensity {
  const out: Piece[] = [];
  for (const p of pieces(h)) {
    if (p.a >= 0) out.push(p);
    else if (p.b <= 0) out.push({ a: -p.b, b: -p.a, m: p.m });
    else {
      const f = -p.a / (p.b - p.a);
      out.push({ a: 0, b: -p.a, m: p.m * f });
      out.push({ a: 0, b: p.b, m: p.m * (1 - f) });
    }
  }
  return fromPieces(out);
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
