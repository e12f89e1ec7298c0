import { SeededRandom } from '@nibble/quant';

/** Test data: a synthetic conv weight [O, I, 3, 3], per-channel std varying 10x, some channel means away from 0. */
export function syntheticWeight(seed: number, O = 16, I = 8) {
  const r = new SeededRandom(seed);
  const shape = [O, I, 3, 3];
  const per = I * 9;
  const w = new Float32Array(O * per);
  for (let o = 0; o < O; o++) {
    const std = 0.01 * 10 ** r.uniform();
    const mean = r.normal(0, std / 2);
    for (let j = 0; j < per; j++) w[o * per + j] = r.laplace(mean, std / Math.SQRT2);
  }
  return { w, shape, per, O };
}

