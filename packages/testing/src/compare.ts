/** NHWC (or any [N, ..., C]) data to NCHW: channels first. */
export function nhwcToNchw(data: Float32Array, shape: readonly number[]): Float32Array {
  const [n, h, w, c] = shape;
  const out = new Float32Array(data.length);
  for (let b = 0; b < n; b++) {
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        for (let k = 0; k < c; k++) out[((b * c + k) * h + y) * w + x] = data[((b * h + y) * w + x) * c + k];
      }
    }
  }
  return out;
}

/**
 * max |a - ref| / max |ref|: the error relative to the output's scale (an
 * elementwise ratio would blow up on entries near zero).
 */
export function maxRelError(a: ArrayLike<number>, ref: ArrayLike<number>): number {
  if (a.length !== ref.length) throw new Error(`length ${a.length} vs reference ${ref.length}`);
  let err = 0;
  let scale = 0;
  for (let i = 0; i < ref.length; i++) {
    if (!Number.isFinite(a[i])) return Infinity;
    err = Math.max(err, Math.abs(a[i] - ref[i]));
    scale = Math.max(scale, Math.abs(ref[i]));
  }
  return scale === 0 ? err : err / scale;
}

/** max |a - ref|. */
export function maxAbsError(a: ArrayLike<number>, ref: ArrayLike<number>): number {
  let err = 0;
  for (let i = 0; i < ref.length; i++) err = Math.max(err, Number.isFinite(a[i]) ? Math.abs(a[i] - ref[i]) : Infinity);
  return err;
}

/**
 * Whether `a` matches `ref` to `rtol` relative to the output's scale, or
 * to `atol` absolute (for outputs whose whole scale is tiny, such as a
 * probability near zero).
 */
export function closeTo(a: ArrayLike<number>, ref: ArrayLike<number>, rtol = 1e-4, atol = 1e-7): boolean {
  return maxRelError(a, ref) <= rtol || maxAbsError(a, ref) <= atol;
}
