import { NibbleError } from '@nibble/ir';
import { Histogram } from '../histogram';
import type { TensorStats } from '../tensor-stats';

/** A float64 in JSON: a number, or 'NaN' / 'Infinity' / '-Infinity', which JSON numbers cannot hold. */
export type JSONNumber = number | 'NaN' | 'Infinity' | '-Infinity';

export interface HistogramJSON {
  bins: number;
  binWidth: number;
  start: number;
  min: JSONNumber;
  max: JSONNumber;
  /** Index of the first bin held in `counts`; bins outside [first, first + counts.length) are empty. */
  first: number;
  counts: number[];
}

export interface TensorStatsJSON {
  axis: number | null;
  channels: number;
  count: JSONNumber[];
  min: JSONNumber[];
  max: JSONNumber[];
  mean: JSONNumber[];
  variance: JSONNumber[];
  std: JSONNumber[];
  populationVariance: JSONNumber[];
  mad: JSONNumber[];
  madExact: number[];
  madErrorBound: JSONNumber[];
  histograms?: HistogramJSON[];
}

export function encodeNumber(x: number): JSONNumber {
  if (Number.isFinite(x)) return x;
  return Number.isNaN(x) ? 'NaN' : x > 0 ? 'Infinity' : '-Infinity';
}

export function decodeNumber(x: unknown, where: string): number {
  if (typeof x === 'number') return x;
  if (x === 'NaN') return NaN;
  if (x === 'Infinity') return Infinity;
  if (x === '-Infinity') return -Infinity;
  throw new NibbleError('E_FILE_FORMAT', `${where}: '${String(x)}' is not a number`, { hint: 'the statistics file is damaged; recompute it' });
}

const numbers = (a: ArrayLike<number>): JSONNumber[] => Array.from(a, encodeNumber);

function encodeHistogram(h: Histogram): HistogramJSON {
  let first = 0;
  let last = h.bins - 1;
  while (first <= last && h.counts[first] === 0) first++;
  while (last >= first && h.counts[last] === 0) last--;
  return {
    bins: h.bins, binWidth: h.binWidth, start: h.start, min: encodeNumber(h.min), max: encodeNumber(h.max),
    first, counts: Array.from(h.counts.subarray(first, last + 1)),
  };
}

function decodeHistogram(j: HistogramJSON, where: string): Histogram {
  if (!j || !Number.isInteger(j.bins) || !Array.isArray(j.counts) || j.first + j.counts.length > j.bins) {
    throw new NibbleError('E_FILE_FORMAT', `${where}: a histogram is malformed`, { hint: 'the statistics file is damaged; recompute it' });
  }
  const counts = new Float64Array(j.bins);
  counts.set(j.counts, j.first);
  return new Histogram(counts, j.binWidth, j.start, decodeNumber(j.min, where), decodeNumber(j.max, where));
}

export function encodeTensorStats(s: TensorStats): TensorStatsJSON {
  return {
    axis: s.axis, channels: s.channels,
    count: numbers(s.count), min: numbers(s.min), max: numbers(s.max), mean: numbers(s.mean),
    variance: numbers(s.variance), std: numbers(s.std), populationVariance: numbers(s.populationVariance),
    mad: numbers(s.mad), madExact: Array.from(s.madExact), madErrorBound: numbers(s.madErrorBound),
    ...(s.histograms ? { histograms: s.histograms.map(encodeHistogram) } : {}),
  };
}

const FIELDS = ['count', 'min', 'max', 'mean', 'variance', 'std', 'populationVariance', 'mad', 'madErrorBound'] as const;

export function decodeTensorStats(j: TensorStatsJSON, where: string): TensorStats {
  if (!j || typeof j !== 'object' || !Number.isInteger(j.channels)) {
    throw new NibbleError('E_FILE_FORMAT', `${where}: statistics are malformed`, { hint: 'the statistics file is damaged; recompute it' });
  }
  const arrays = {} as Record<(typeof FIELDS)[number], Float64Array>;
  for (const f of FIELDS) {
    const a = j[f];
    if (!Array.isArray(a) || a.length !== j.channels) {
      throw new NibbleError('E_FILE_FORMAT', `${where}: '${f}' needs ${j.channels} entries`, { hint: 'the statistics file is damaged; recompute it' });
    }
    arrays[f] = Float64Array.from(a, (x) => decodeNumber(x, `${where}: ${f}`));
  }
  return {
    axis: j.axis, channels: j.channels, ...arrays,
    madExact: Uint8Array.from(j.madExact ?? []),
    ...(j.histograms ? { histograms: j.histograms.map((h) => decodeHistogram(h, where)) } : {}),
  };
}
