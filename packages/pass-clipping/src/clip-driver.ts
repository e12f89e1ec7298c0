import { type AnalysisRequirement, type AnyPass, type PassContext, type PassResult, type ReportValue, requirement } from '@nibble/core';
import {
  type Graph, markedValues, NibbleError, type QuantAnnotation, type QuantPoint, type QuantTarget, readerBoundsOf, type Value,
} from '@nibble/ir';
import type { ClipRange, ClipStats } from './math/aciq';
import type { BinnedDensity } from './math/histogram';
import { CALIBRATION_STATS, type CalibrationNeeds } from '@nibble/stats';
import { cappedChannels, type ValueChannels, valueChannels } from './value-stats';

/*
 * What every clipping pass shares: which values it acts on, at what bits
 * and along which axis, where the statistics come from, and how the range
 * is written. A method only maps one channel's statistics to a range.
 */

export const TARGETS = ['activations', 'weights', 'all'] as const;

/** The options every clip-* pass declares (the default target differs: min/max clips everything). */
export function commonClipOptions<T extends QuantTarget>(defaultTarget: T) {
  return {
    target: { type: 'enum' as const, values: TARGETS, default: defaultTarget, description: 'which marked values to clip: activations, weights or all' },
    perChannel: { type: 'boolean' as const, description: 'per channel along the mark\'s axis, or per tensor (default: as the value is annotated or marked)' },
    bits: { type: 'integer' as const, min: 0, max: 8, description: 'bit-width the range is chosen for (default: the annotation\'s, e.g. from alloc-bits, else the mark\'s)' },
    refresh: {
      type: 'boolean' as const, default: false,
      description: 'only recompute the ranges this same invocation set before, at the bit-widths now in the annotation (alloc-bits runs it)',
    },
  };
}

export interface CommonClipValues {
  target: QuantTarget;
  perChannel: boolean | undefined;
  bits: number | undefined;
  refresh: boolean;
}

/** One channel as a method sees it. */
export interface ClipChannel {
  stats: ClipStats;
  /** Only when the method asked for histograms. */
  histogram?: BinnedDensity;
  bits: number;
  /** The channel's levels when its grid is not 2^bits (alloc-bins); only methods that declare `levels` see it. */
  levels?: number;
  oneSided: boolean;
  /** The readers' upper bound (ReLU6: 6); the stats and histogram are already those of min(x, upperBound). */
  upperBound?: number;
  value: Value;
  point: QuantPoint;
  /** The annotation's channel axis (null: per tensor). */
  axis: number | null;
  /** Which channel along the axis (0 per tensor). */
  channel: number;
}

/** A method's range for one channel, and what to count in the report (e.g. which prior was chosen). */
export interface MethodRange extends ClipRange {
  tag?: string;
}

/**
 * What a clipping pass reads, declared as data (its `requires`): the
 * calibration statistics of the activations it clips, with histograms when
 * its method reads them. Clipping only weights needs no calibration.
 */
export function clipRequirements(opts: Pick<CommonClipValues, 'target'>, histograms: boolean): readonly AnalysisRequirement<CalibrationNeeds>[] {
  return opts.target === 'weights' ? [] : [requirement(CALIBRATION_STATS, { histograms })];
}

export interface ClipMethod {
  /** Whether the method reads histograms: the same answer the pass gives clipRequirements. */
  histograms: boolean;
  /**
   * Whether the method chooses ranges for grids of any number of levels
   * (alloc-bins' omega bins). A method without it sees only bit-widths, and
   * a value whose annotation has levels is refused rather than clipped for
   * the wrong grid.
   */
  levels?: boolean;
  /**
   * Whether the range is a function of the channel's statistics, histogram,
   * width, levels and bounds alone (no side effects): then a refresh
   * (alloc-bits) gives a channel whose width did not change the range chosen
   * before, on the same statistics, instead of searching again.
   */
  deterministic?: boolean;
  range(ch: ClipChannel): MethodRange;
}

/** What a clip pass chose for a value, for a refresh at unchanged widths (see ClipMethod.deterministic). */
interface Chosen {
  source: string;
  statistics: object;
  axis: number | null;
  oneSided: boolean;
  upperBound: number | undefined;
  bits: Int32Array;
  levels: Int32Array | undefined;
  lo: Float64Array;
  hi: Float64Array;
  tags: (string | undefined)[];
}
const CHOSEN = new WeakMap<Value, Chosen>();

/**
 * The range's provenance: the invocation with every option that shapes the
 * range, but not bits or refresh. alloc-bits parses it back to re-run the
 * pass at new bit-widths, and refresh compares it to find its own ranges.
 */
export function rangeSourceOf(pass: AnyPass, opts: Record<string, unknown>): string {
  return pass.format({ ...opts, bits: undefined, refresh: false });
}

function orderError(pass: string, v: Value): NibbleError {
  return new NibbleError('E_BAD_OPTION', `${pass}: '${v.name}' is already quantized (its annotation has a scale)`, {
    pass, value: v.name, hint: 'clipping passes run before quantize; put them earlier in the pipeline',
  });
}

function resolveAxis(v: Value, point: QuantPoint, opts: CommonClipValues): number | null {
  if (opts.refresh) return v.quant!.axis;
  if (opts.perChannel !== undefined) return opts.perChannel ? point.axis : null;
  return v.quant ? v.quant.axis : point.perChannel ? point.axis : null;
}

function resolveBits(pass: string, v: Value, point: QuantPoint, opts: CommonClipValues, channels: number): Int32Array {
  if (opts.bits !== undefined && !opts.refresh) return new Int32Array(channels).fill(opts.bits);
  const have = v.quant?.bits;
  if (have) {
    if (have.length === channels) return have.slice();
    // Uniform widths (an earlier clip along another axis) carry over; per-channel ones from alloc-bits cannot.
    if (have.every((b) => b === have[0])) return new Int32Array(channels).fill(have[0]);
    throw new NibbleError('E_BAD_OPTION', `${pass}: '${v.name}' has ${have.length} bit-widths (from an earlier pass) for ${channels} channels`, {
      pass, value: v.name,
      hint: 'clip along the axis bit allocation used (leave per-channel unset), or give bits explicitly',
    });
  }
  return new Int32Array(channels).fill(point.bits);
}

/** The annotation's levels when they belong to these channels (alloc-bins wrote them), unless bits are given explicitly. */
function resolveLevels(pass: string, v: Value, opts: CommonClipValues, channels: number, method: ClipMethod): Int32Array | undefined {
  const have = v.quant?.levels;
  if (!have || (opts.bits !== undefined && !opts.refresh)) return undefined;
  if (have.length !== channels) {
    throw new NibbleError('E_BAD_OPTION', `${pass}: '${v.name}' has ${have.length} level counts (from alloc-bins) for ${channels} channels`, {
      pass, value: v.name, option: 'per-channel', hint: 'clip along the axis alloc-bins used (leave per-channel unset), or give bits explicitly',
    });
  }
  if (!method.levels) {
    throw new NibbleError('E_UNSUPPORTED', `${pass}: '${v.name}' has grids of levels that are not powers of two (alloc-bins), which ${pass} cannot clip for`, {
      pass, value: v.name, option: 'target', hint: 'clip these values with clip-aciq{dist=laplace|gauss} or clip-minmax, or give bits explicitly',
    });
  }
  return have.slice();
}

/**
 * Runs a clipping method over the marked values of the target; the body of
 * every clip-* pass. Where mark-fused-relu found an upper bound (ReLU6), the
 * method sees the statistics of min(x, bound) and its range is capped there:
 * levels above the bound would only ever encode values no reader keeps.
 */
export async function runClipping(pass: AnyPass, graph: Graph, ctx: PassContext, opts: CommonClipValues & Record<string, unknown>, method: ClipMethod): Promise<PassResult> {
  const source = rangeSourceOf(pass, opts);
  const tags = new Map<string, number>();
  let values = 0;
  let channelsClipped = 0;
  let aboveBound = 0;
  let reused = 0;
  for (const { value: v, point } of markedValues(graph, opts.target)) {
    if (opts.refresh && v.quant?.rangeSource !== source) continue;
    if (v.quant?.scale) throw orderError(pass.name, v);
    const axis = resolveAxis(v, point, opts);
    const { oneSided, upperBound } = point.kind === 'activation' ? readerBoundsOf(v) : { oneSided: false, upperBound: undefined };
    const observed: ValueChannels = await valueChannels(ctx, v, point.kind, axis, method.histograms, pass.name);
    const data = upperBound === undefined ? observed : cappedChannels(observed, upperBound);
    const C = data.channels;
    const shapeC = axis === null ? 1 : v.type?.shape?.[axis];
    if (typeof shapeC === 'number' && shapeC !== C) {
      throw new NibbleError('E_SHAPE', `${pass.name}: '${v.name}' has ${shapeC} channels along axis ${axis} but its statistics have ${C}`, {
        pass: pass.name, value: v.name, hint: 'the calibration statistics are of another model; recompute them',
      });
    }
    const bits = resolveBits(pass.name, v, point, opts, C);
    const levels = resolveLevels(pass.name, v, opts, C, method);
    const lo = new Float64Array(C);
    const hi = new Float64Array(C);
    const channelTags: (string | undefined)[] = new Array(C);
    // A refresh of this same invocation's ranges on the same statistics: channels at their old width keep their range.
    const before = opts.refresh && method.deterministic ? CHOSEN.get(v) : undefined;
    const reuse = before && before.source === source && before.statistics === observed.source && before.axis === axis
      && before.oneSided === oneSided && before.upperBound === upperBound ? before : undefined;
    for (let c = 0; c < C; c++) {
      if (upperBound !== undefined && observed.stats(c).max > upperBound) aboveBound++;
      if (reuse && reuse.bits[c] === bits[c] && reuse.levels?.[c] === levels?.[c]) {
        reused++;
        lo[c] = reuse.lo[c];
        hi[c] = reuse.hi[c];
        channelTags[c] = reuse.tags[c];
        if (reuse.tags[c]) tags.set(reuse.tags[c]!, (tags.get(reuse.tags[c]!) ?? 0) + 1);
        continue;
      }
      const stats = data.stats(c);
      if (bits[c] === 0) {
        // A 0-bit channel is a constant: its mean ([c, c] is how the annotation says so).
        const mean = oneSided ? Math.max(stats.mean, 0) : stats.mean;
        lo[c] = hi[c] = upperBound === undefined ? mean : Math.min(mean, upperBound);
        continue;
      }
      const r: MethodRange = {
        ...method.range({
          stats, ...(data.histogram ? { histogram: data.histogram(c) } : {}), bits: bits[c], ...(levels ? { levels: levels[c] } : {}), oneSided, ...(upperBound === undefined ? {} : { upperBound }), value: v, point, axis, channel: c,
        }),
      };
      if (upperBound !== undefined) {
        r.lo = Math.min(r.lo, upperBound);
        r.hi = Math.min(r.hi, upperBound);
      }
      if (!(r.lo <= r.hi) || !Number.isFinite(r.lo) || !Number.isFinite(r.hi)) {
        throw new NibbleError('E_NUMERIC', `${pass.name}: '${v.name}' channel ${c}: range [${r.lo}, ${r.hi}] is not finite and ordered`, {
          pass: pass.name, value: v.name, hint: 'the statistics of this value are degenerate; check the calibration data',
        });
      }
      lo[c] = r.lo;
      hi[c] = r.hi;
      channelTags[c] = r.tag;
      if (r.tag) tags.set(r.tag, (tags.get(r.tag) ?? 0) + 1);
    }
    if (method.deterministic && observed.source) {
      CHOSEN.set(v, { source, statistics: observed.source, axis, oneSided, upperBound, bits: bits.slice(), levels: levels?.slice(), lo: lo.slice(), hi: hi.slice(), tags: channelTags });
    }
    const annotation: QuantAnnotation = { axis, range: { lo, hi }, bits, ...(levels ? { levels } : {}), signed: point.signed, rangeSource: source };
    v.quant = annotation;
    values++;
    channelsClipped += C;
    const meanBits = bits.reduce((s, b) => s + b, 0) / C;
    ctx.report.record('range', { channels: C, meanBits, lo: Math.min(...lo), hi: Math.max(...hi) }, v.name);
  }
  const summary: Record<string, ReportValue> = { values, channels: channelsClipped, source };
  // Channels whose calibration max lay above their readers' upper bound (ReLU6), ranges capped there.
  if (aboveBound) summary.aboveUpperBound = aboveBound;
  // Channels a refresh left at the range chosen before (their width unchanged; see ClipMethod.deterministic).
  if (reused) summary.reused = reused;
  if (tags.size) summary.tags = Object.fromEntries([...tags].sort(([a], [b]) => (a < b ? -1 : 1)));
  ctx.report.record('clipped', summary);
  if (values === 0 && !opts.refresh) ctx.logger.warn(`${pass.name}: no marked ${opts.target === 'all' ? '' : `${opts.target} `}values to clip (run quant-policy first)`);
  return { graph, modified: values > 0 };
}
