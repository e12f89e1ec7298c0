import type { ImageSet } from './fmnist';
import type { Prng } from './prng';

export interface Normalisation {
  /** Pixels are first scaled by 1/255 to [0,1], then (x - mean) / std. */
  scale: number;
  mean: number;
  std: number;
}

/** Normalised float pixels of a whole split, N*H*W, HW layout (one channel). */
export function normalise(set: ImageSet, norm: Normalisation): Float32Array {
  const out = new Float32Array(set.images.length);
  for (let i = 0; i < out.length; i++) out[i] = (set.images[i] * norm.scale - norm.mean) / norm.std;
  return out;
}

export interface Augment {
  /** Random translation by up to `pad` pixels (zero-pad then crop), 0 disables. */
  pad: number;
  flip: boolean;
}

/**
 * Fills `out` (B*H*W) with the images `indices`, each randomly shifted and
 * flipped. Pixels shifted in from outside take the value of a black pixel
 * after normalisation, as zero padding of the raw image would.
 */
export function fillBatch(
  pixels: Float32Array,
  h: number,
  w: number,
  indices: ArrayLike<number>,
  out: Float32Array,
  aug: Augment,
  rng: Prng | null,
  background: number,
): void {
  const hw = h * w;
  for (let b = 0; b < indices.length; b++) {
    const src = indices[b] * hw;
    const dst = b * hw;
    let dy = 0;
    let dx = 0;
    let flip = false;
    if (rng) {
      if (aug.pad > 0) {
        dy = rng.int(2 * aug.pad + 1) - aug.pad;
        dx = rng.int(2 * aug.pad + 1) - aug.pad;
      }
      if (aug.flip) flip = rng.next() < 0.5;
    }
    for (let y = 0; y < h; y++) {
      const sy = y + dy;
      for (let x = 0; x < w; x++) {
        const ox = flip ? w - 1 - x : x;
        const sx = ox + dx;
        out[dst + y * w + x] = sy >= 0 && sy < h && sx >= 0 && sx < w ? pixels[src + sy * w + sx] : background;
      }
    }
  }
}
