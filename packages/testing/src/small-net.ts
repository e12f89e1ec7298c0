import { SeededRandom, Tensor } from '@nibble/ir';
import { laplaceActivation } from './laplace-activations';

/**
 * The clipping and allocation passes' test net: conv1 -> relu (c one-sided)
 * -> conv2 (d signed, read by the residual Add) -> pool -> fc (logits l).
 */
export const SMALL_NET = `graph g(%x : f32[1,2,4,4]) {
  %w : f32[3,2,1,1] = const [1, 0.5, -0.5, 1, 0.25, -1]
  %w2 : f32[3,3,1,1] = const [1, 0, 0, 0, 1, 0, 0, 0, 1]
  %wfc : f32[2,3] = const [1, -1, 0.5, 0.5, 1, -1]
  %c : f32[1,3,4,4] = Conv(%x, %w) @conv1
  %r : f32[1,3,4,4] = Relu(%c)
  %d : f32[1,3,4,4] = Conv(%r, %w2) @conv2
  %s : f32[1,3,4,4] = Add(%d, %r)
  %g : f32[1,3,1,1] = GlobalAveragePool(%s)
  %f : f32[1,3] = Flatten(%g)
  %l : f32[1,2] = Gemm(%f, %wfc) {transB=1} @fc
  return %l
}
`;

/** Laplace activations for c and d, uniform logits; `n` batches of 8 (for fakeCalibration). */
export function smallNetBatches(seed: number, n = 8): Record<string, Tensor>[] {
  const rand = new SeededRandom(seed);
  return Array.from({ length: n }, () => ({
    c: laplaceActivation(rand, [8, 3, 4, 4], [0.5, -0.2, 1], [1, 0.5, 2]),
    d: laplaceActivation(rand, [8, 3, 4, 4], [0, 1, -1], [0.3, 1, 0.7]),
    l: new Tensor('float32', [8, 2], Float32Array.from({ length: 16 }, () => Math.fround(10 * rand.uniform() - 3))),
  }));
}

/** All values of channel `ch` (axis 1) of `name` over the batches, or of the whole tensor. */
export function samplesOf(all: readonly Record<string, Tensor>[], name: string, ch: number | null): Float64Array {
  const vals: number[] = [];
  for (const b of all) {
    const t = b[name];
    const inner = t.shape.slice(2).reduce((a, x) => a * x, 1);
    const data = t.toFloat64();
    for (let i = 0; i < data.length; i++) if (ch === null || Math.floor(i / inner) % t.shape[1] === ch) vals.push(data[i]);
  }
  return Float64Array.from(vals);
}
