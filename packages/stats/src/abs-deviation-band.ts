import type { StatsData } from './channels';

/**
 * One-pass mean absolute deviation about the final mean, for one channel.
 *
 * D(mu) = sum |x - mu| needs, for the final mean mu, the count and sum of the
 * values on each side of mu. mu is unknown until the end, but it is known to
 * lie close to the running mean. So a "band" [lo, hi] around the provisional
 * mean is kept: values outside it go into exact per-side accumulators (count,
 * sum of x - c), values inside it are kept (sorted, run-length compressed).
 * If the final mu lies inside the band, every value outside is on a known side
 * of mu and
 *
 *   D = (S_above - n_above (mu - c)) + (n_below (mu - c) - S_below) + sum_band |x - mu|
 *
 * is exact (to float64 rounding). The band only narrows: when the kept values
 * pass a cap it is halved around the running mean (never below a floor of
 * K standard errors of that mean), and the values that leave it join the side
 * accumulators, so memory grows like the standard error, O(sqrt n), not O(n)
 * (about 12 sqrt(n) values for iid data), and never past a hard limit
 * (16 x the capacity) where narrowing ignores the floor.
 *
 * If mu ends outside the band (the mean drifted more than the floor allowed),
 * the values between the band edge and mu were counted on the wrong side. Each
 * such value x contributes 2 |mu - x| <= 2 |mu - edge| of error, and their
 * number is at most the count of a "ring" beside the band (or the whole side
 * if mu is beyond the ring). The estimate is then the midpoint of the interval
 * and the error bound its half width; `exact` is false and the caller may run
 * the exact second pass.
 */

/** Initial band half width, in standard deviations of the first batch. */
const INITIAL_HALF_WIDTH = 0.25;
/** The band is never narrowed below this many standard errors of the running mean. */
const FLOOR_STANDARD_ERRORS = 8;
/** Until this many batches are seen, the between-batch spread of the mean is unknown. */
const MIN_BATCHES_TO_NARROW = 3;
/**
 * Kept in-band values (runs) per channel that the band narrows towards. Above
 * it the band holds what the floor requires, up to HARD_LIMIT_FACTOR times it.
 */
export const DEFAULT_BAND_CAPACITY = 4096;
const HARD_LIMIT_FACTOR = 16;
/** Loose values sampled to decide whether merging duplicates is worth a sort. */
const DEDUPE_PROBE = 512;

export interface AbsDeviationEstimate {
  /** Number of values seen. */
  count: number;
  /** The mean mu that the deviation is taken about. */
  mean: number;
  /** Mean absolute deviation about mu, sum |x - mu| / n. */
  mad: number;
  /** True when `mad` is exact up to float64 rounding. */
  exact: boolean;
  /** Bound on |mad - true mad| when not exact (0 when exact). */
  errorBound: number;
}

export class BandedAbsDeviation {
  private n = 0;
  private s = 0; // sum (x - c)
  private q = 0; // sum (x - c)^2, only for the width heuristics
  private c = 0;
  private lo = 0;
  private hi = -1;
  private ringLo = 0;
  private ringHi = 0;
  private started = false;
  private nBelow = 0;
  private sBelow = 0;
  private ringBelow = 0;
  private nAbove = 0;
  private sAbove = 0;
  private ringAbove = 0;
  private tail = new Float64Array(0);
  private tailLen = 0;
  private runV = new Float64Array(0);
  private runC = new Float64Array(0);
  private runLen = 0;
  private lastDedupe = 0;
  private readonly target: number;
  private capacity: number;
  // Batch means about c, for the cluster-robust standard error of the running mean.
  private batches = 0;
  private bA = 0;
  private bB = 0;
  private bC = 0;
  // Exact second pass.
  private frozenMean = NaN;
  private n2 = 0;
  private abs2 = 0;

  constructor(private readonly banded: boolean, capacity = DEFAULT_BAND_CAPACITY) {
    this.target = Math.max(16, capacity);
    this.capacity = this.target;
  }

  get count(): number {
    return this.n;
  }

  get mean(): number {
    return this.c + this.s / this.n;
  }

  /** Values currently held in memory (in-band runs plus the unsorted tail). */
  get heldValues(): number {
    return this.runLen + this.tailLen;
  }

  /** Adds one run of values; false if it held NaN or an infinity. */
  add(v: StatsData): boolean {
    const len = v.length;
    if (len === 0) return true;
    if (!this.started && !this.start(v)) return false;
    const sums = SUMS;
    if (this.banded) {
      if (this.tail.length < this.tailLen + len) this.growTail(this.tailLen + len);
      const t = classify(v, this.c, this.lo, this.hi, this.ringLo, this.ringHi, this.tail, this.tailLen, sums);
      // A NaN or an infinity leaves the state as it was (the caller throws).
      if (!Number.isFinite(sums.s) || !Number.isFinite(sums.q)) return false;
      this.tailLen = t;
      this.nBelow += sums.nb;
      this.sBelow += sums.sb;
      this.ringBelow += sums.rb;
      this.nAbove += sums.na;
      this.sAbove += sums.sa;
      this.ringAbove += sums.ra;
    } else {
      centredSums(v, this.c, sums);
    }
    const { s: bs, q } = sums;
    if (!Number.isFinite(bs) || !Number.isFinite(q)) return false;
    this.n += len;
    this.s += bs;
    this.q += q;
    const w = len * len;
    const dj = bs / len;
    this.batches++;
    this.bA += w * dj * dj;
    this.bB += w * dj;
    this.bC += w;
    if (this.banded && this.heldValues > this.capacity) this.compact();
    return true;
  }

  /** Starts (or restarts) the exact second pass about the first pass's mean. */
  beginSecondPass(): void {
    this.frozenMean = this.mean;
    this.n2 = 0;
    this.abs2 = 0;
  }

  addSecond(v: StatsData): void {
    if (Number.isNaN(this.frozenMean)) this.beginSecondPass();
    const mu = this.frozenMean;
    let acc = 0;
    for (let i = 0; i < v.length; i++) acc += Math.abs(v[i] - mu);
    this.abs2 += acc;
    this.n2 += v.length;
  }

  get secondPassCount(): number {
    return this.n2;
  }

  /** True when the one-pass estimate is exact (the mean stayed inside the band). */
  get oneShotExact(): boolean {
    if (!this.banded || this.n === 0) return this.n === 0;
    const mu = this.mean;
    return mu >= this.lo && mu <= this.hi;
  }

  estimate(): AbsDeviationEstimate {
    const n = this.n;
    if (n === 0) return { count: 0, mean: NaN, mad: NaN, exact: true, errorBound: 0 };
    if (this.n2 === n) {
      return { count: n, mean: this.frozenMean, mad: this.abs2 / n, exact: true, errorBound: 0 };
    }
    const mu = this.mean;
    if (!this.banded) return { count: n, mean: mu, mad: NaN, exact: false, errorBound: Infinity };
    const dm = this.s / n;
    let band = 0;
    for (let i = 0; i < this.runLen; i++) band += this.runC[i] * Math.abs(this.runV[i] - mu);
    for (let i = 0; i < this.tailLen; i++) band += Math.abs(this.tail[i] - mu);
    let d = this.sAbove - this.nAbove * dm + (this.nBelow * dm - this.sBelow) + band;
    let bound = 0;
    if (mu > this.hi) {
      bound = (mu - this.hi) * (mu <= this.ringHi ? this.ringAbove : this.nAbove);
    } else if (mu < this.lo) {
      bound = (this.lo - mu) * (mu >= this.ringLo ? this.ringBelow : this.nBelow);
    }
    d += bound;
    return { count: n, mean: mu, mad: d / n, exact: bound === 0 && mu >= this.lo && mu <= this.hi, errorBound: bound / n };
  }

  private start(v: StatsData): boolean {
    const len = v.length;
    let sum = 0;
    for (let i = 0; i < len; i++) sum += v[i];
    if (!Number.isFinite(sum)) return false;
    const m = sum / len;
    let ss = 0;
    for (let i = 0; i < len; i++) ss += (v[i] - m) * (v[i] - m);
    const h = INITIAL_HALF_WIDTH * Math.sqrt(ss / len);
    this.c = m;
    this.lo = m - h;
    this.hi = m + h;
    this.ringLo = this.lo - h;
    this.ringHi = this.hi + h;
    this.started = true;
    return true;
  }

  private growTail(need: number): void {
    const next = new Float64Array(Math.max(need, this.tail.length * 2, 64));
    next.set(this.tail.subarray(0, this.tailLen));
    this.tail = next;
  }

  /**
   * Brings the held values back under the target: narrow the band (a filter,
   * no sort) down to the floor; if still too many, merge duplicates (sort the
   * loose values into the sorted runs; worth it for quantized data or constant
   * channels, skipped while it keeps failing to halve); past the hard limit,
   * narrow below the floor.
   */
  private compact(): void {
    const floor = this.halfWidthFloor();
    const half = this.target / 2;
    while (this.heldValues > half && this.narrow(floor));
    if (this.heldValues > half && this.heldValues >= 2 * this.lastDedupe) {
      if (this.repeats()) this.dedupe();
      this.lastDedupe = this.heldValues;
    }
    while (this.heldValues > HARD_LIMIT_FACTOR * half && this.narrow(0));
    // At the floor the band cannot shrink without risking the final mean: hold
    // more, and compact again once as many new values have arrived.
    this.capacity = Math.max(this.target, 2 * this.heldValues);
  }

  /** Whether a sample of the loose values repeats enough for a sort to pay. */
  private repeats(): boolean {
    const m = Math.min(this.tailLen, DEDUPE_PROBE);
    if (m < 2) return this.tailLen > 0;
    const probe = this.tail.slice(0, m).sort();
    let same = 0;
    for (let i = 1; i < m; i++) same += +(probe[i] === probe[i - 1]);
    return same * 8 >= m;
  }

  /** Sorts the loose values and merges them, equal values summed, into the runs. */
  private dedupe(): void {
    const tail = this.tail.subarray(0, this.tailLen).sort();
    const total = this.runLen + this.tailLen;
    const v = new Float64Array(total);
    const cnt = new Float64Array(total);
    let i = 0, j = 0, k = 0;
    while (i < this.runLen || j < tail.length) {
      let x: number;
      let w: number;
      if (j >= tail.length || (i < this.runLen && this.runV[i] <= tail[j])) {
        x = this.runV[i];
        w = this.runC[i++];
      } else {
        x = tail[j++];
        w = 1;
      }
      if (k > 0 && v[k - 1] === x) cnt[k - 1] += w;
      else {
        v[k] = x;
        cnt[k++] = w;
      }
    }
    this.runV = v;
    this.runC = cnt;
    this.runLen = k;
    this.tailLen = 0;
  }

  /** Halves the band around the running mean (not below `floor`); false if it could not shrink. */
  private narrow(floor: number): boolean {
    const mu = this.mean;
    if (!(mu >= this.lo && mu <= this.hi)) return false; // already escaped: narrowing cannot help
    const half = Math.max(floor, (this.hi - this.lo) / 4);
    const lo = Math.max(this.lo, mu - half);
    const hi = Math.min(this.hi, mu + half);
    if (lo === this.lo && hi === this.hi) return false;
    // Ring counts stay upper bounds of the values between the new edges and the new ring edges.
    this.ringLo = Math.max(this.ringLo, lo - half);
    this.ringHi = Math.min(this.ringHi, hi + half);
    this.lo = lo;
    this.hi = hi;
    this.runLen = this.release(this.runV, this.runC, this.runLen);
    this.tailLen = this.release(this.tail, null, this.tailLen);
    return true;
  }

  /** Moves held values now outside [lo, hi] to the side accumulators; returns how many stay. */
  private release(v: Float64Array, counts: Float64Array | null, len: number): number {
    const { lo, hi, ringLo, ringHi, c } = this;
    let nb = 0, sb = 0, rb = 0, na = 0, sa = 0, ra = 0;
    let k = 0;
    for (let i = 0; i < len; i++) {
      const x = v[i];
      const w = counts ? counts[i] : 1;
      if (x < lo) {
        nb += w;
        sb += w * (x - c);
        if (x >= ringLo) rb += w;
      } else if (x > hi) {
        na += w;
        sa += w * (x - c);
        if (x <= ringHi) ra += w;
      } else {
        v[k] = x;
        if (counts) counts[k] = w;
        k++;
      }
    }
    this.nBelow += nb;
    this.sBelow += sb;
    this.ringBelow += rb;
    this.nAbove += na;
    this.sAbove += sa;
    this.ringAbove += ra;
    return k;
  }

  /** K standard errors of the running mean: iid (sd / sqrt n) or between batches, whichever is larger. */
  private halfWidthFloor(): number {
    const n = this.n;
    const dm = this.s / n;
    const sd = Math.sqrt(Math.max(this.q / n - dm * dm, 0));
    if (this.batches < MIN_BATCHES_TO_NARROW) return INITIAL_HALF_WIDTH * sd;
    const b = this.batches;
    const spread = Math.max(this.bA - 2 * dm * this.bB + dm * dm * this.bC, 0);
    const seBatches = Math.sqrt((spread * b) / (b - 1)) / n;
    return FLOOR_STANDARD_ERRORS * Math.max(sd / Math.sqrt(n), seBatches);
  }
}

/** Per-call sums of the hot loops (one shared object: no allocation per channel and batch). */
interface Sums {
  s: number;
  q: number;
  nb: number;
  sb: number;
  rb: number;
  na: number;
  sa: number;
  ra: number;
}

const SUMS: Sums = { s: 0, q: 0, nb: 0, sb: 0, rb: 0, na: 0, sa: 0, ra: 0 };

function centredSums(v: StatsData, c: number, out: Sums): void {
  let s = 0;
  let q = 0;
  for (let i = 0; i < v.length; i++) {
    const d = v[i] - c;
    s += d;
    q += d * d;
  }
  out.s = s;
  out.q = q;
}

/**
 * Sorts one run of values into below / band / above. Branch-free: which side a
 * value falls on is unpredictable, and mispredicted branches cost three times
 * the whole loop. `+(x < lo)` compiles to a flag move; every value is written
 * to the tail and kept (t advances) only if it is in the band. Small and
 * separate so that the optimizing compiler treats it alone. Returns the new tail length.
 */
function classify(
  v: StatsData, c: number, lo: number, hi: number, rlo: number, rhi: number, tail: Float64Array, t0: number, out: Sums,
): number {
  let s = 0, q = 0, nb = 0, sb = 0, rb = 0, na = 0, sa = 0, ra = 0;
  let t = t0;
  for (let i = 0; i < v.length; i++) {
    const x = v[i];
    const d = x - c;
    s += d;
    q += d * d;
    const below = +(x < lo);
    const above = +(x > hi);
    nb += below;
    sb += below * d;
    rb += below * +(x >= rlo);
    na += above;
    sa += above * d;
    ra += above * +(x <= rhi);
    tail[t] = x;
    t += 1 - below - above;
  }
  out.s = s;
  out.q = q;
  out.nb = nb;
  out.sb = sb;
  out.rb = rb;
  out.na = na;
  out.sa = sa;
  out.ra = ra;
  return t;
}
