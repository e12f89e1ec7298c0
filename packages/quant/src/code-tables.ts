import { constantTensor, type Value } from '@nibble/ir';
import type { QdqParams } from './qdq-ops';
import { roundHalfEven } from './rounding';

/*
 * Elementwise ops on codes as 256-entry tables, computed on the host as
 * onnxruntime's QDQ simulation computes them: DequantizeLinear, then each op,
 * in float32 (Math.fround after every operation: a float32 op computed in
 * float64 and rounded once is the float32 op exactly for + - * /). Both
 * integer backends build the same tables here, so the codes they look up
 * are the same by construction.
 */

/** Per channel (1, or the value's leading axis), the float32 value of each code 0..255. */
export interface CodeValues {
  channels: number;
  values: Float64Array;
}

/** DequantizeLinear of codes as onnxruntime computes it: float32 (q - zp) * s, per channel. */
export function dequantizedCodeValues(grid: { channels: number; scale: Float64Array; zeroPoint: Int32Array }): CodeValues {
  const C = grid.channels;
  const values = new Float64Array(C * 256);
  for (let c = 0; c < C; c++) for (let q = 0; q < 256; q++) values[c * 256 + q] = Math.fround((q - grid.zeroPoint[c]) * grid.scale[c]);
  return { channels: C, values };
}

/** The constant operand `v` as one value per channel of `shape` ([C, ...] per sample): length 1 (a scalar) or C; undefined if it broadcasts otherwise. */
export function channelConstant(v: Value, shape: readonly number[]): Float64Array | undefined {
  const t = constantTensor(v);
  if (!t || !t.dtype.startsWith('float')) return undefined;
  const values = t.toFloat64();
  if (values.length === 1) return Float64Array.of(Math.fround(values[0]));
  // [C, 1, ..., 1] against the per-sample shape, or with the batch axis: [1, C, 1, ..., 1].
  const dims = t.shape.length === shape.length + 1 ? t.shape.slice(1) : t.shape;
  if (t.shape.length === shape.length + 1 && t.shape[0] !== 1) return undefined;
  if (dims.length !== shape.length || dims[0] !== shape[0] || dims.slice(1).some((d) => d !== 1)) return undefined;
  return Float64Array.from(values, (x) => Math.fround(x));
}

/** An operand of a table op: a table of the codes (all tables of one op read the same codes), or per-channel constants. */
export type TableOperand = { kind: 'table'; table: CodeValues } | { kind: 'constant'; values: Float64Array };

/**
 * The table of `f` applied to the operands, per channel and code; undefined
 * when their channels do not line up (1 or L each, L the leading axis of
 * `shape`). `f` gets float32 operands in input order and returns the
 * float32 result (it rounds with Math.fround itself).
 */
export function composeCodeTables(shape: readonly number[], ops: readonly TableOperand[], f: (args: number[]) => number): CodeValues | undefined {
  const widths = ops.map((o) => (o.kind === 'table' ? o.table.channels : o.values.length));
  const L = Math.max(...widths);
  if (widths.some((w) => w !== 1 && w !== L) || (L > 1 && shape[0] !== L)) return undefined;
  const values = new Float64Array(L * 256);
  const args = new Array<number>(ops.length);
  for (let l = 0; l < L; l++) {
    for (let q = 0; q < 256; q++) {
      ops.forEach((o, j) => {
        args[j] = o.kind === 'table' ? o.table.values[(o.table.channels === 1 ? 0 : l) * 256 + q] : o.values[o.values.length === 1 ? 0 : l];
      });
      values[l * 256 + q] = f(args);
    }
  }
  return { channels: L, values };
}

/** onnxruntime's QuantizeLinear of a float32 value: float32 v / s, round half to even (cvtps2dq), + zp, saturated to [lo, hi] (the container, or a channel's levels). */
export function quantizeF32(v: number, s: number, zp: number, lo: number, hi: number): number {
  const q = roundHalfEven(Math.fround(v / s)) + zp;
  return q < lo ? lo : q > hi ? hi : q;
}

/**
 * A table value onto the grid of QuantizeLinear `p` (behind the lowering's
 * Max/Min `clamp`, applied in float32 as onnxruntime does): per channel l of
 * L, the code each source code becomes, and the bounds of the codes that
 * can occur given the source codes' bounds. Undefined when the channel
 * layouts do not line up. `shape`: the value's per-sample shape.
 */
export function tableOntoGrid(
  t: CodeValues, codes: { channels: number; lo: Int32Array; hi: Int32Array }, p: QdqParams, clamp: { lo?: Float64Array; hi?: Float64Array } | undefined, shape: readonly number[],
): { L: number; lut: Uint8Array; lo: Int32Array; hi: Int32Array } | undefined {
  const n = shape.reduce((a, b) => a * b, 1);
  const L = Math.max(t.channels, p.channels);
  if ((p.channels !== 1 && p.channels !== L) || n % L !== 0 || (L > 1 && shape[0] !== L)) return undefined;
  const top = p.container === 'uint4' ? 15 : 255;
  const lut = new Uint8Array(L * 256);
  const lo = new Int32Array(p.channels).fill(top);
  const hi = new Int32Array(p.channels).fill(0);
  const bound = (b: Float64Array | undefined, c: number): number | undefined => (b ? Math.fround(b[b.length === 1 ? 0 : c]) : undefined);
  for (let l = 0; l < L; l++) {
    const co = p.channels === 1 ? 0 : l;
    const sc = codes.channels === 1 ? 0 : l;
    const bLo = bound(clamp?.lo, co);
    const bHi = bound(clamp?.hi, co);
    for (let q = 0; q < 256; q++) {
      let v = t.values[(t.channels === 1 ? 0 : l) * 256 + q];
      if (bLo !== undefined) v = Math.max(v, bLo);
      if (bHi !== undefined) v = Math.min(v, bHi);
      const r = quantizeF32(v, p.scale[co], p.zeroPoint[co], 0, top);
      lut[l * 256 + q] = r;
      if (q >= codes.lo[sc] && q <= codes.hi[sc]) {
        lo[co] = Math.min(lo[co], r);
        hi[co] = Math.max(hi[co], r);
      }
    }
  }
  return { L, lut, lo, hi };
}
