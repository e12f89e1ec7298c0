import { NibbleError, Shape } from '@nibble/ir';
import { channelLayout } from './layout';
import { AffineParams, channelLevelRange, checkParams } from './params';
import { toFloat32 } from './rounding';

/*
 * Arithmetic, chosen so that our float64 loops give bit-for-bit what
 * onnxruntime's QuantizeLinear/DequantizeLinear give in float32:
 *   q  = clamp(rint(float32(x) / scale) + zp, qmin, qmax)   (division rounded to float32)
 *   x^ = float32((q - zp) * scale)
 * Both float32 operations are emulated exactly: a float64 quotient or product
 * of float32 operands rounded once to float32 equals the float32 operation
 * (53 >= 2 * 24 + 2, so double rounding is harmless). Rounding the quotient
 * before adding the integer zero point is ONNX's order; METHOD.md writes
 * round(x / scale + zp), which differs only on exact ties with an odd zero
 * point.
 */

/**
 * rint(y) clamped to the integers [lo, hi]. Clamping first is equivalent
 * (the bounds are integers) and keeps y small enough for the parity test.
 */
function roundClamped(y: number, lo: number, hi: number): number {
  if (y <= lo) return lo;
  if (y >= hi) return hi;
  const r = Math.round(y);
  // `| 0` also turns Math.round's -0 into 0, so outputs never carry a -0 the runtime would not.
  return (r - y === 0.5 && (r & 1) !== 0 ? r - 1 : r) | 0;
}

interface ChannelGrid {
  scale: Float64Array;
  zp: Int32Array;
  qmin: Int32Array;
  qmax: Int32Array;
}

function grid(p: AffineParams, where: string): ChannelGrid {
  checkParams(p, where);
  const n = p.scale.length;
  const g: ChannelGrid = { scale: p.scale, zp: p.zeroPoint, qmin: new Int32Array(n), qmax: new Int32Array(n) };
  for (let c = 0; c < n; c++) [g.qmin[c], g.qmax[c]] = channelLevelRange(p, c);
  return g;
}

function notFinite(where: string, i: number, v: number): NibbleError {
  return new NibbleError('E_NUMERIC', `${where}: element ${i} is ${v}`, {
    value: where,
    hint: 'the model or its input produced NaN/Inf; check the float model on the same data first',
  });
}

function checkLength(n: number, size: number, where: string): void {
  if (n !== size) throw new NibbleError('E_SHAPE', `${where}: ${n} values for a shape of ${size} elements`, { value: where });
}

/** Integer levels of `x` (shape `shape`) under `p`, in p's view (signed or unsigned). */
export function quantize(x: ArrayLike<number>, shape: Shape, p: AffineParams, name = 'tensor'): Int32Array {
  const L = channelLayout(shape, p.axis, p.scale.length, name);
  checkLength(x.length, L.size, name);
  const g = grid(p, name);
  const out = new Int32Array(L.size);
  let i = 0;
  for (let o = 0; o < L.outer; o++) {
    for (let c = 0; c < L.channels; c++) {
      const s = g.scale[c], zp = g.zp[c], lo = g.qmin[c], hi = g.qmax[c];
      const ylo = lo - zp, yhi = hi - zp;
      for (let j = 0; j < L.inner; j++, i++) {
        const v = x[i];
        if (!(v - v === 0)) throw notFinite(name, i, v);
        out[i] = roundClamped(toFloat32(toFloat32(v) / s), ylo, yhi) + zp;
      }
    }
  }
  return out;
}

/** Float32 values of integer levels `q` under `p`. Levels outside a channel's range are an error. */
export function dequantize(q: ArrayLike<number>, shape: Shape, p: AffineParams, name = 'tensor'): Float32Array {
  const L = channelLayout(shape, p.axis, p.scale.length, name);
  checkLength(q.length, L.size, name);
  const g = grid(p, name);
  const out = new Float32Array(L.size);
  let i = 0;
  for (let o = 0; o < L.outer; o++) {
    for (let c = 0; c < L.channels; c++) {
      const s = g.scale[c], zp = g.zp[c], lo = g.qmin[c], hi = g.qmax[c];
      for (let j = 0; j < L.inner; j++, i++) {
        const v = q[i];
        if (!(v >= lo && v <= hi) || !Number.isInteger(v)) {
          throw new NibbleError('E_NUMERIC', `${name}: level ${v} at element ${i} is outside channel ${c}'s range [${lo}, ${hi}]`, { value: name });
        }
        out[i] = (v - zp) * s;
      }
    }
  }
  return out;
}

/** dequantize(quantize(x)) in one pass: what the quantized model computes with. */
export function fakeQuantize(x: ArrayLike<number>, shape: Shape, p: AffineParams, name = 'tensor'): Float32Array {
  const L = channelLayout(shape, p.axis, p.scale.length, name);
  checkLength(x.length, L.size, name);
  const g = grid(p, name);
  const out = new Float32Array(L.size);
  let i = 0;
  for (let o = 0; o < L.outer; o++) {
    for (let c = 0; c < L.channels; c++) {
      const s = g.scale[c], zp = g.zp[c], lo = g.qmin[c], hi = g.qmax[c];
      const ylo = lo - zp, yhi = hi - zp;
      for (let j = 0; j < L.inner; j++, i++) {
        const v = x[i];
        if (!(v - v === 0)) throw notFinite(name, i, v);
        // Float32Array store rounds the exact float64 product once: float32 multiply.
        out[i] = roundClamped(toFloat32(toFloat32(v) / s), ylo, yhi) * s;
      }
    }
  }
  return out;
}

/** Mean squared error of fake quantization, overall and per channel (float64 sums). */
export function quantizationMse(x: ArrayLike<number>, shape: Shape, p: AffineParams, name = 'tensor'): { mse: number; perChannel: Float64Array } {
  const L = channelLayout(shape, p.axis, p.scale.length, name);
  const fq = fakeQuantize(x, shape, p, name);
  const perChannel = new Float64Array(L.channels);
  let i = 0;
  let total = 0;
  for (let o = 0; o < L.outer; o++) {
    for (let c = 0; c < L.channels; c++) {
      let acc = 0;
      for (let j = 0; j < L.inner; j++, i++) {
        const d = x[i] - fq[i];
        acc += d * d;
      }
      perChannel[c] += acc;
      total += acc;
    }
  }
  const per = L.outer * L.inner;
  for (let c = 0; c < L.channels; c++) perChannel[c] = per > 0 ? perChannel[c] / per : 0;
  return { mse: L.size > 0 ? total / L.size : 0, perChannel };
}
