import { NibbleError, QuantAnnotation } from '@nibble/ir';
import { nextFloat32, roundHalfEven, toFloat32 } from './rounding';

/**
 * Affine (asymmetric, gemmlowp-style) quantizer parameters, per tensor
 * (axis null, one entry) or per channel along `axis` (one entry per
 * channel): x^ = (q - zeroPoint) * scale.
 *
 * - `scale` values are always float32-representable, because ONNX and
 *   TFLite store float32 scales; a float64 scale would make our simulation
 *   disagree with the runtime's.
 * - `bits[c]` in [0, 16]. Unsigned view: q in [0, 2^bits - 1]. Signed view
 *   (`signed`): the same grid moved down by 2^(bits-1), q in
 *   [-2^(bits-1), 2^(bits-1) - 1], zero point moved by the same amount, so
 *   int4/int8 containers hold it.
 * - A 0-bit channel is a constant: its one level is q = 1 in both views,
 *   scale = |constant| and zero point 0, 1 or 2 for a positive, zero or
 *   negative constant (scale 1 for zero). The level sits at 1, not 0, so a
 *   positive constant needs no negative zero point and fits uint4.
 */
export interface AffineParams {
  scale: Float64Array;
  zeroPoint: Int32Array;
  bits: Int32Array;
  axis: number | null;
  signed: boolean;
  /**
   * Levels per channel when a grid is not a power of two (alloc-bins: omega
   * levels, 1 <= omega <= 2^bits, bits then being the container width that
   * holds them). Absent: 2^bits levels (1 for a 0-bit constant). The grid is
   * the first `levels` codes of the unsigned view, [0, levels - 1], moved down
   * by the same 2^(bits-1) in the signed view, so a container of `bits` holds it.
   */
  levels?: Int32Array;
}

export const MAX_BITS = 16;

export function checkBits(bits: number, where = 'tensor'): void {
  if (!Number.isInteger(bits) || bits < 0 || bits > MAX_BITS) {
    throw new NibbleError('E_BAD_OPTION', `${where}: bit-width ${bits} is not an integer in [0, ${MAX_BITS}]`, {
      option: 'bits',
      value: where,
      hint: `choose bit-widths from 0 (a constant) to ${MAX_BITS}`,
    });
  }
}

/** How far the signed view moves the unsigned grid down: 2^(bits-1), 0 for a 0-bit constant. */
export function signedOffset(bits: number): number {
  return bits >= 1 ? 2 ** (bits - 1) : 0;
}

/** [qmin, qmax] of a channel with `bits` (and `levels` codes, default 2^bits) in the given view. */
export function levelRange(bits: number, signed: boolean, levels?: number): [number, number] {
  if (bits === 0) return [1, 1];
  const off = signed ? signedOffset(bits) : 0;
  return [-off, (levels ?? 2 ** bits) - 1 - off];
}

/** [qmin, qmax] of channel c of `p`. */
export function channelLevelRange(p: AffineParams, c: number): [number, number] {
  return levelRange(p.bits[c], p.signed, p.levels?.[c]);
}

/** Number of levels of channel c: levels[c], else 2^bits (1 for a constant). */
export function levelCount(p: Pick<AffineParams, 'bits' | 'levels'>, c: number): number {
  return p.levels ? p.levels[c] : p.bits[c] === 0 ? 1 : 2 ** p.bits[c];
}

/** The smallest container width for `levels` codes: ceil(log2 levels) (0 for one level, a constant). */
export function bitsForLevels(levels: number): number {
  return levels <= 1 ? 0 : Math.ceil(Math.log2(levels) - 1e-12);
}

/** Throws unless `levels` fits `bits`: one level exactly for 0 bits, 2..2^bits levels otherwise. */
export function checkLevels(levels: number, bits: number, where = 'tensor'): void {
  const ok = Number.isInteger(levels) && (bits === 0 ? levels === 1 : levels >= 2 && levels <= 2 ** bits);
  if (!ok) {
    throw new NibbleError('E_BAD_OPTION', `${where}: ${levels} levels do not fit a ${bits}-bit grid (${bits === 0 ? 'a 0-bit constant has 1 level' : `2..${2 ** bits} allowed`})`, {
      option: 'levels',
      value: where,
      hint: 'give each channel bits = ceil(log2 levels), as alloc-bins does',
    });
  }
}

/** What a per-channel clip range plus bit-widths turn into. Scalars broadcast. */
export interface RangeSpec {
  lo: ArrayLike<number> | number;
  hi: ArrayLike<number> | number;
  bits: ArrayLike<number> | number;
  axis?: number | null;
  signed?: boolean;
  /** Value of each 0-bit channel; default the midpoint of its [lo, hi]. */
  constant?: ArrayLike<number> | number;
  /** Levels per channel when not 2^bits (see AffineParams.levels): the range's ends are its first and last level. */
  levels?: ArrayLike<number> | number;
  /** Tensor name for error messages. */
  name?: string;
  /**
   * Symmetric grids (zero point 0 in the signed view, what integer runtimes
   * want for weights): scale = max(|lo|, |hi|) / (2^(bits-1) - 1), so the
   * levels -(2^(bits-1) - 1)..2^(bits-1) - 1 cover [-a, a] and the lowest
   * level -2^(bits-1) lies beyond -a (TFLite's narrow-range convention).
   * Needs `signed`.
   */
  symmetric?: boolean;
}

const at = (v: ArrayLike<number> | number, c: number): number => (typeof v === 'number' ? v : v[c]);
const len = (v: ArrayLike<number> | number | undefined): number => (v === undefined || typeof v === 'number' ? 1 : v.length);

/** One value through the quantizer, with the runtime's float32 arithmetic. */
export function fakeQuantizeValue(x: number, scale: number, zeroPoint: number, qmin: number, qmax: number): number {
  let q = roundHalfEven(toFloat32(toFloat32(x) / scale)) + zeroPoint;
  q = q < qmin ? qmin : q > qmax ? qmax : q;
  return toFloat32((q - zeroPoint) * scale);
}

interface Unsigned { scale: number; zeroPoint: number }

function tooWide(where: string, lo: number, hi: number): NibbleError {
  return new NibbleError('E_NUMERIC', `${where}: range [${lo}, ${hi}] gives a scale beyond float32`, {
    value: where,
    hint: 'the clip range is not finite in float32; check the statistics of this tensor',
  });
}

function constantChannel(c: number, where: string): Unsigned {
  const v = toFloat32(c);
  if (!Number.isFinite(v)) throw tooWide(where, c, c);
  if (v > 0) return { scale: v, zeroPoint: 0 };
  if (v < 0) return { scale: -v, zeroPoint: 2 };
  return { scale: 1, zeroPoint: 1 };
}

/**
 * A degenerate range [v, v]: the grid [min(v,0), max(v,0)] with a scale for
 * which v itself comes back exactly (as float32). The plain range / qmax can
 * miss v by an ulp; its float32 neighbours usually hit it, and a scale of |v|
 * (v one step from zero) always does.
 */
function singleValueChannel(v0: number, qmax: number, where: string): Unsigned {
  const v = toFloat32(v0);
  if (!Number.isFinite(v)) throw tooWide(where, v0, v0);
  // A channel that is all zeros in calibration: any scale is exact for 0;
  // 1 is what onnxruntime's calibration tools choose too.
  if (v === 0) return { scale: 1, zeroPoint: 0 };
  const m = Math.abs(v);
  const zeroPoint = v > 0 ? 0 : qmax;
  const first = toFloat32(m / qmax);
  for (const s of [first, nextFloat32(first, 1), nextFloat32(first, -1)]) {
    if (s > 0 && fakeQuantizeValue(v, s, zeroPoint, 0, qmax) === v) return { scale: s, zeroPoint };
  }
  return { scale: m, zeroPoint: v > 0 ? 0 : 1 };
}

/**
 * Clip range -> grid. The range is first widened to contain 0 (lo <- min(lo,
 * 0), hi <- max(hi, 0)), so that with an integer zero point 0 is exactly a
 * level (zero padding and ReLU zeros must stay exact). Then scale =
 * float32(width / qmax) and zp = round(-lo / scale), clamped to [0, qmax]:
 * the grid actually covered is [-zp * scale, (qmax - zp) * scale], i.e. the
 * range nudged by less than half a step.
 */
function rangeChannel(lo0: number, hi0: number, qmax: number, where: string): Unsigned {
  const lo = Math.min(lo0, 0);
  const hi = Math.max(hi0, 0);
  const scale = toFloat32((hi - lo) / qmax);
  if (!Number.isFinite(scale)) throw tooWide(where, lo0, hi0);
  if (scale === 0) return singleValueChannel(Math.abs(lo0) > Math.abs(hi0) ? lo0 : hi0, qmax, where);
  const zp = roundHalfEven(-lo / scale);
  return { scale, zeroPoint: zp < 0 ? 0 : zp > qmax ? qmax : zp };
}

/** An affine grid of qmax + 1 levels for [lo, hi] (lo <= hi, finite): a single value, or a range. */
function affineChannel(lo: number, hi: number, qmax: number, where: string): Unsigned {
  return lo === hi ? singleValueChannel(lo, qmax, where) : rangeChannel(lo, hi, qmax, where);
}

/** One channel's unsigned affine grid, as plain numbers: levels qmin..qmax, value (q - zeroPoint) * scale. */
export interface ChannelGrid {
  scale: number;
  zeroPoint: number;
  qmin: number;
  qmax: number;
}

/**
 * The grid paramsFromRange({ lo, hi, bits, constant }) gives its one
 * channel (unsigned, 2^bits levels, affine), without building typed
 * arrays: the clip searches ask for a grid at every candidate range, about
 * two million on nsfwjs's MobileNetV2, and the allocations were a fifth of
 * clip-mse's time there.
 */
export function channelGridOf(lo: number, hi: number, bits: number, constant?: number): ChannelGrid {
  checkBits(bits, 'tensor');
  if (!Number.isFinite(lo) || !Number.isFinite(hi)) {
    throw new NibbleError('E_NUMERIC', `tensor: clip range [${lo}, ${hi}] is not finite`, { value: 'tensor', hint: 'the statistics of this tensor contain NaN/Inf' });
  }
  if (lo > hi) throw new NibbleError('E_NUMERIC', `tensor: clip range [${lo}, ${hi}] has lo > hi`, { value: 'tensor' });
  const [qmin, qmax] = levelRange(bits, false);
  const u = bits === 0 ? constantChannel(constant === undefined ? (lo + hi) / 2 : constant, 'tensor') : affineChannel(lo, hi, qmax, 'tensor');
  // | 0: as the Int32Array of paramsFromRange holds it (no -0).
  return { scale: u.scale, zeroPoint: u.zeroPoint | 0, qmin, qmax };
}

/** The unsigned view of a symmetric grid: zero point 2^(bits-1), which is 0 once signed. */
function symmetricChannel(lo: number, hi: number, bits: number, where: string): Unsigned {
  const a = Math.max(Math.abs(lo), Math.abs(hi));
  const half = signedOffset(bits);
  if (a === 0) return { scale: 1, zeroPoint: half };
  const scale = toFloat32(bits === 1 ? a : a / (half - 1));
  if (!Number.isFinite(scale) || scale === 0) throw tooWide(where, lo, hi);
  return { scale, zeroPoint: half };
}

/** Affine parameters for clip ranges [lo, hi] at the given bit-widths (see AffineParams). */
export function paramsFromRange(spec: RangeSpec): AffineParams {
  const where = spec.name ?? 'tensor';
  const axis = spec.axis ?? null;
  const signed = spec.signed ?? false;
  const n = Math.max(len(spec.lo), len(spec.hi), len(spec.bits), len(spec.constant), len(spec.levels));
  for (const [k, v] of [['lo', spec.lo], ['hi', spec.hi], ['bits', spec.bits], ['constant', spec.constant], ['levels', spec.levels]] as const) {
    if (len(v) !== 1 && len(v) !== n) {
      throw new NibbleError('E_SHAPE', `${where}: ${k} has ${len(v)} entries, expected 1 or ${n}`, { value: where, option: k });
    }
  }
  if (axis === null && n !== 1) {
    throw new NibbleError('E_SHAPE', `${where}: per-tensor parameters (axis null) need one range, got ${n}`, { value: where });
  }
  if (spec.symmetric && !signed) {
    throw new NibbleError('E_BAD_OPTION', `${where}: a symmetric grid is a signed one (zero point 0 in int4/int8)`, { value: where, option: 'symmetric' });
  }
  const pick = (v: ArrayLike<number> | number, c: number) => (len(v) === 1 ? at(v, 0) : at(v, c));
  const p: AffineParams = {
    scale: new Float64Array(n),
    zeroPoint: new Int32Array(n),
    bits: new Int32Array(n),
    axis,
    signed,
    ...(spec.levels !== undefined ? { levels: new Int32Array(n) } : {}),
  };
  if (spec.levels !== undefined && spec.symmetric) {
    throw new NibbleError('E_UNSUPPORTED', `${where}: a grid of given levels is affine; symmetric grids have 2^bits levels`, {
      value: where, option: 'symmetric',
      hint: 'targets with symmetric weights (ort, tflite) cannot hold the level counts alloc-bins gives (the *-vlc recipes): quantize for --target sim or wasm, or use a power-of-two recipe',
    });
  }
  for (let c = 0; c < n; c++) {
    const bits = pick(spec.bits, c);
    const chWhere = n === 1 ? where : `${where} channel ${c}`;
    checkBits(bits, chWhere);
    const levels = spec.levels === undefined ? (bits === 0 ? 1 : 2 ** bits) : pick(spec.levels, c);
    if (spec.levels !== undefined) checkLevels(levels, bits, chWhere);
    const lo = pick(spec.lo, c);
    const hi = pick(spec.hi, c);
    if (!Number.isFinite(lo) || !Number.isFinite(hi)) {
      throw new NibbleError('E_NUMERIC', `${chWhere}: clip range [${lo}, ${hi}] is not finite`, {
        value: where,
        hint: 'the statistics of this tensor contain NaN/Inf',
      });
    }
    if (lo > hi) {
      throw new NibbleError('E_NUMERIC', `${chWhere}: clip range [${lo}, ${hi}] has lo > hi`, { value: where });
    }
    let u: Unsigned;
    if (bits === 0) {
      const value = spec.constant === undefined ? (lo + hi) / 2 : pick(spec.constant, c);
      u = constantChannel(value, chWhere);
      if (spec.symmetric && u.zeroPoint !== 0) {
        throw new NibbleError('E_UNSUPPORTED', `${chWhere}: a 0-bit channel of constant ${value} has no symmetric grid (its one level needs zero point ${u.zeroPoint})`, {
          value: where, option: 'symmetric', hint: 'give every channel at least 1 bit (alloc-bits{min-bits=1}) or use affine grids',
        });
      }
    } else if (spec.symmetric) u = symmetricChannel(lo, hi, bits, chWhere);
    else u = affineChannel(lo, hi, levels - 1, chWhere);
    p.scale[c] = u.scale;
    p.zeroPoint[c] = u.zeroPoint - (signed ? signedOffset(bits) : 0);
    p.bits[c] = bits;
    if (p.levels) p.levels[c] = levels;
  }
  return p;
}

/** Throws unless `p` is internally consistent (lengths, bit-widths, positive float32 scales). */
export function checkParams(p: AffineParams, where = 'tensor'): void {
  const n = p.scale.length;
  if (p.zeroPoint.length !== n || p.bits.length !== n || n === 0 || (p.axis === null && n !== 1)) {
    throw new NibbleError(
      'E_SHAPE',
      `${where}: quantization parameters disagree (scale ${n}, zeroPoint ${p.zeroPoint.length}, bits ${p.bits.length}, axis ${p.axis})`,
      { value: where },
    );
  }
  if (p.levels && p.levels.length !== n) {
    throw new NibbleError('E_SHAPE', `${where}: quantization parameters disagree (scale ${n}, levels ${p.levels.length})`, { value: where });
  }
  for (let c = 0; c < n; c++) {
    checkBits(p.bits[c], where);
    if (p.levels) checkLevels(p.levels[c], p.bits[c], `${where} channel ${c}`);
    const s = p.scale[c];
    if (!(s > 0) || !Number.isFinite(s) || toFloat32(s) !== s) {
      throw new NibbleError('E_NUMERIC', `${where}: scale[${c}] = ${s} is not a positive finite float32`, { value: where });
    }
  }
}

/** The same grid in the other view (signed <-> unsigned): zero points move by 2^(bits-1). */
export function withSignedness(p: AffineParams, signed: boolean): AffineParams {
  if (p.signed === signed) return p;
  const zeroPoint = new Int32Array(p.zeroPoint.length);
  for (let c = 0; c < zeroPoint.length; c++) {
    const off = signedOffset(p.bits[c]);
    zeroPoint[c] = p.zeroPoint[c] + (signed ? -off : off);
  }
  return { scale: p.scale, zeroPoint, bits: p.bits, axis: p.axis, signed, ...(p.levels ? { levels: p.levels } : {}) };
}

/** The float interval each channel's grid covers: [(qmin - zp) * scale, (qmax - zp) * scale]. */
export function representableRange(p: AffineParams): { lo: Float64Array; hi: Float64Array } {
  const n = p.scale.length;
  const lo = new Float64Array(n);
  const hi = new Float64Array(n);
  for (let c = 0; c < n; c++) {
    const [qmin, qmax] = channelLevelRange(p, c);
    lo[c] = toFloat32((qmin - p.zeroPoint[c]) * p.scale[c]);
    hi[c] = toFloat32((qmax - p.zeroPoint[c]) * p.scale[c]);
  }
  return { lo, hi };
}

/** The affine parameters an annotation carries, once `quantize` has filled them in. */
export function paramsOfAnnotation(a: QuantAnnotation, where = 'tensor'): AffineParams {
  if (!a.scale || !a.zeroPoint || !a.bits) {
    throw new NibbleError('E_INVALID_GRAPH', `${where}: quantization annotation has no scale/zeroPoint/bits yet`, {
      value: where,
      hint: 'run the quantize pass after clipping and bit allocation',
    });
  }
  const p: AffineParams = { scale: a.scale, zeroPoint: a.zeroPoint, bits: a.bits, axis: a.axis, signed: a.signed ?? false, ...(a.levels ? { levels: a.levels } : {}) };
  checkParams(p, where);
  return p;
}
