import type { Tensor } from '@nibble/ir';

/**
 * A tensor's values as a TFLite file lays them out: a rank-4 NCHW tensor
 * (nibble's layout) as NHWC, its shape with it; other ranks as they are.
 * For feeding a file and reading nibble's results beside a file's.
 */
export function toTfliteLayout(t: Tensor): { shape: number[]; data: Float64Array } {
  const src = t.toFloat64();
  const shape = t.shape as number[];
  if (shape.length !== 4) return { shape: [...shape], data: src };
  const [n, c, h, w] = shape;
  const out = new Float64Array(src.length);
  for (let i = 0; i < n; i++) for (let k = 0; k < c; k++) for (let p = 0; p < h * w; p++) out[(i * h * w + p) * c + k] = src[(i * c + k) * h * w + p];
  return { shape: [n, h, w, c], data: out };
}
