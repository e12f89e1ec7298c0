import { SeededRandom, Tensor } from '@nibble/ir';

/** An activation [N, C, H, W] whose channel c holds Laplace(mu[c], b[c]) samples. */
export function laplaceActivation(rand: SeededRandom, shape: [number, number, number, number], mu: readonly number[], b: readonly number[]): Tensor {
  const [N, C, H, W] = shape;
  const data = new Float32Array(N * C * H * W);
  for (let i = 0; i < data.length; i++) {
    const c = Math.floor(i / (H * W)) % C;
    data[i] = rand.laplace(mu[c], b[c]);
  }
  return new Tensor('float32', shape, data);
}

/** `batches` batches in which every named activation [N, C, H, W] holds Laplace samples, per channel mu = c - 1, b = 1 + c / 2. */
export function laplaceActivations(seed: number, shapes: Record<string, [number, number, number, number]>, batches = 4): Record<string, Tensor>[] {
  const rand = new SeededRandom(seed);
  return Array.from({ length: batches }, () => Object.fromEntries(Object.entries(shapes).map(([name, shape]) => {
    const C = shape[1];
    return [name, laplaceActivation(rand, shape, Array.from({ length: C }, (_, c) => c - 1), Array.from({ length: C }, (_, c) => 1 + c / 2))];
  })));
}
