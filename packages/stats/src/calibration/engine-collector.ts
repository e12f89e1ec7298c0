import { NibbleError, Tensor } from '@nibble/ir';
import { MomentsCollector } from '../moments';
import type { TensorStats } from '../tensor-stats';
import { mergeChannels, type ValueStatsResult } from './value-collector';

/** What one engine run gives for one target: the reductions and the centres they were taken about. */
export interface EngineRunResult {
  /** Values per channel in this run (samples x the spatial extent). */
  n: number;
  centre: Float64Array;
  tensorCentre: number;
  min: Tensor;
  max: Tensor;
  sum: Tensor;
  sumSquares: Tensor;
  absSum?: Tensor;
  absTensorSum?: Tensor;
}

/**
 * What the engine's reductions compute, in JS, for a value the feeds carry
 * (a graph input): per channel (axis 1) min, max, sum d, sum d^2, sum |d|
 * with d = x - centre[c], and sum |x - tensorCentre|, in float64.
 */
export function reduceInJs(x: Tensor, centre: Float64Array, tensorCentre: number, deviation: boolean): Omit<EngineRunResult, 'n' | 'centre' | 'tensorCentre'> {
  const C = x.shape[1];
  const inner = x.shape.slice(2).reduce((a, b) => a * b, 1);
  const data = x.data as Float32Array | Float64Array;
  const lo = new Float64Array(C).fill(Infinity);
  const hi = new Float64Array(C).fill(-Infinity);
  const s1 = new Float64Array(C);
  const s2 = new Float64Array(C);
  const a1 = new Float64Array(C);
  const at = new Float64Array(C);
  const outer = x.shape[0];
  for (let o = 0; o < outer; o++) {
    for (let c = 0; c < C; c++) {
      const base = (o * C + c) * inner;
      const m = centre[c];
      let mn = lo[c];
      let mx = hi[c];
      let p = 0;
      let q = 0;
      let r = 0;
      let t = 0;
      for (let i = base; i < base + inner; i++) {
        const v = data[i];
        if (v < mn) mn = v;
        if (v > mx) mx = v;
        const d = v - m;
        p += d;
        q += d * d;
        if (deviation) {
          r += Math.abs(d);
          t += Math.abs(v - tensorCentre);
        }
      }
      lo[c] = mn;
      hi[c] = mx;
      s1[c] += p;
      s2[c] += q;
      a1[c] += r;
      at[c] += t;
    }
  }
  const f64 = (a: Float64Array) => new Tensor('float64', [C], a);
  return {
    min: f64(lo), max: f64(hi), sum: f64(s1), sumSquares: f64(s2),
    ...(deviation ? { absSum: f64(a1), absTensorSum: f64(at) } : {}),
  };
}

/**
 * The statistics of one activation from the engine's per-channel reductions.
 *
 * Moments: each run gives n, S1 = sum d and S2 = sum d^2 with d = x - m_r
 * (m_r: the run's centre, the running mean before it), so the run's mean is
 * m_r + S1/n and its M2 = S2 - S1^2/n without cancellation (|S1/n| is of
 * the order of std / sqrt(samples seen), not |mean|); runs are merged by the
 * MomentsCollector the fetching path uses (Chan et al.'s pairwise update).
 * Per tensor: mergeChannels.
 *
 * Mean absolute deviation in one pass: each run also gives A_r = sum |x - m_r|.
 * By the triangle inequality ||x - mu| - |x - m_r|| <= |mu - m_r| for every
 * x, so sum_r A_r / N differs from the exact E|x - mu| by at most
 *   B = sum_r n_r |mu - m_r| / N,
 * computable once mu is known (the centres are kept, C numbers per run).
 * The same about the tensor centre for the per-tensor deviation. The bound
 * is first order in the centres' errors, which shrink like 1/sqrt(samples
 * seen): typically a few 1e-3 of b after hundreds of images. Values whose
 * bound exceeds the tolerance get a second pass about the final means
 * (`updateSecondPass`), which is exact (bound 0).
 */
export class EngineValueCollector {
  readonly channels: number;
  private n = 0;
  private readonly moments: MomentsCollector;
  private readonly runs: { n: number; centre: Float64Array; tensorCentre: number }[] = [];
  private readonly abs: Float64Array;
  private absTensor = 0;
  private exact: { abs: Float64Array; absTensor: number; n: number } | undefined;

  constructor(readonly name: string, channels: number, readonly deviation: boolean) {
    this.channels = channels;
    this.moments = new MomentsCollector({ axis: 1, name });
    this.abs = new Float64Array(channels);
  }

  get count(): number {
    return this.n;
  }

  /** The centres for the next run: the running per-channel means and the running tensor mean (0 before any run). */
  centres(): { centre: Float64Array; tensorCentre: number } {
    if (this.n === 0) return { centre: new Float64Array(this.channels), tensorCentre: 0 };
    return this.finalCentres();
  }

  update(r: EngineRunResult): void {
    const C = this.channels;
    const s1 = r.sum.data as Float64Array;
    const s2 = r.sumSquares.data as Float64Array;
    const lo = r.min.data as ArrayLike<number>;
    const hi = r.max.data as ArrayLike<number>;
    if (s1.length !== C) {
      throw new NibbleError('E_INTERNAL', `engine statistics of '${this.name}' have ${s1.length} channels, the graph said ${C}`);
    }
    const nb = r.n;
    for (let c = 0; c < C; c++) {
      this.moments.mergeRun(C, c, nb, { min: lo[c], max: hi[c], mean: r.centre[c] + s1[c] / nb, m2: s2[c] - (s1[c] * s1[c]) / nb });
    }
    this.n += nb;
    if (this.deviation) {
      const a = r.absSum!.data as Float64Array;
      const at = r.absTensorSum!.data as Float64Array;
      let t = 0;
      for (let c = 0; c < C; c++) {
        this.abs[c] += a[c];
        t += at[c];
      }
      this.absTensor += t;
      this.runs.push({ n: nb, centre: r.centre, tensorCentre: r.tensorCentre });
    }
  }

  /** Per-channel and per-tensor bounds B on |one-pass deviation - exact deviation| (see the class comment). */
  deviationBounds(): { channel: Float64Array; tensor: number } {
    const C = this.channels;
    const channel = new Float64Array(C);
    const { centre: mean, tensorCentre: mt } = this.finalCentres();
    let tensor = 0;
    for (const run of this.runs) {
      for (let c = 0; c < C; c++) channel[c] += run.n * Math.abs(mean[c] - run.centre[c]);
      tensor += run.n * C * Math.abs(mt - run.tensorCentre);
    }
    for (let c = 0; c < C; c++) channel[c] /= this.n;
    return { channel, tensor: tensor / (this.n * C) };
  }

  /** Whether a bound exceeds `tolerance` x the deviation it bounds, so that a second pass is due. */
  needsSecondPass(tolerance: number): boolean {
    if (!this.deviation || this.exact || this.n === 0) return false;
    const b = this.deviationBounds();
    const C = this.channels;
    for (let c = 0; c < C; c++) if (b.channel[c] > tolerance * (this.abs[c] / this.n)) return true;
    return b.tensor > tolerance * (this.absTensor / (this.n * C));
  }

  /** The final means: the centres of an exact second pass. */
  finalCentres(): { centre: Float64Array; tensorCentre: number } {
    const centre = Float64Array.from({ length: this.channels }, (_, c) => this.moments.meanOf(c));
    return { centre, tensorCentre: centre.reduce((a, b) => a + b, 0) / this.channels };
  }

  /** A second-pass run about the final means: sum |x - mu_c| and sum |x - mu| exactly. */
  updateSecondPass(absSum: Tensor, absTensorSum: Tensor, n: number): void {
    const e = (this.exact ??= { abs: new Float64Array(this.channels), absTensor: 0, n: 0 });
    const a = absSum.data as Float64Array;
    const at = absTensorSum.data as Float64Array;
    for (let c = 0; c < this.channels; c++) {
      e.abs[c] += a[c];
      e.absTensor += at[c];
    }
    e.n += n;
  }

  result(perChannel: boolean): ValueStatsResult {
    const m = this.moments.result();
    const whole = mergeChannels(m);
    const dev = this.deviations();
    const perTensor: TensorStats = { ...whole, ...dev.tensor };
    return perChannel ? { perTensor, perChannel: { ...m, ...dev.channel } } : { perTensor };
  }

  private deviations(): Record<'channel' | 'tensor', Pick<TensorStats, 'mad' | 'madExact' | 'madErrorBound'>> {
    const C = this.channels;
    if (!this.deviation) {
      const none = () => ({ mad: new Float64Array(C).fill(NaN), madExact: new Uint8Array(C), madErrorBound: new Float64Array(C).fill(Infinity) });
      return { channel: none(), tensor: { ...none(), mad: Float64Array.of(NaN), madExact: new Uint8Array(1), madErrorBound: Float64Array.of(Infinity) } };
    }
    if (this.exact) {
      const e = this.exact;
      if (e.n !== this.n) {
        throw new NibbleError('E_DATA', `activation '${this.name}': the second pass saw ${e.n} values per channel, the first ${this.n}`, {
          hint: 'feed the second pass exactly the batches of the first (same dataset, same seed and limit)',
        });
      }
      return {
        channel: { mad: e.abs.map((a) => a / this.n), madExact: new Uint8Array(C).fill(1), madErrorBound: new Float64Array(C) },
        tensor: { mad: Float64Array.of(e.absTensor / (this.n * C)), madExact: Uint8Array.of(1), madErrorBound: new Float64Array(1) },
      };
    }
    const b = this.deviationBounds();
    return {
      channel: { mad: this.abs.map((a) => a / this.n), madExact: Uint8Array.from(b.channel, (x) => (x === 0 ? 1 : 0)), madErrorBound: b.channel },
      tensor: { mad: Float64Array.of(this.absTensor / (this.n * C)), madExact: Uint8Array.of(b.tensor === 0 ? 1 : 0), madErrorBound: Float64Array.of(b.tensor) },
    };
  }
}
