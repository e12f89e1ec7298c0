import * as tf from '@tensorflow/tfjs';
import { randomFloats as values } from '@nibble/testing';
import { initWasmBackend } from './tf-wasm';
import { conv2dSame, depthwiseSame, samePadding } from './conv-grad';

interface Case {
  name: string;
  x: number[];
  w: number[];
  stride: number;
  depthwise: boolean;
}

const CASES: Case[] = [
  { name: 'conv 3x3 s1', x: [2, 6, 6, 3], w: [3, 3, 3, 4], stride: 1, depthwise: false },
  { name: 'conv 3x3 s2 even input (asymmetric same pad)', x: [2, 8, 8, 3], w: [3, 3, 3, 5], stride: 2, depthwise: false },
  { name: 'conv 3x3 s2 odd input', x: [3, 7, 7, 2], w: [3, 3, 2, 3], stride: 2, depthwise: false },
  { name: 'conv 1x1 s1', x: [2, 5, 5, 4], w: [1, 1, 4, 3], stride: 1, depthwise: false },
  { name: 'conv 1x1 s2', x: [2, 6, 6, 4], w: [1, 1, 4, 3], stride: 2, depthwise: false },
  { name: 'conv 5x5 s1 non-square', x: [1, 6, 9, 2], w: [5, 5, 2, 3], stride: 1, depthwise: false },
  { name: 'depthwise 3x3 s1', x: [2, 6, 6, 4], w: [3, 3, 4, 1], stride: 1, depthwise: true },
  { name: 'depthwise 3x3 s2 even input', x: [2, 8, 8, 3], w: [3, 3, 3, 1], stride: 2, depthwise: true },
  { name: 'depthwise 3x3 s2 odd input', x: [2, 7, 7, 3], w: [3, 3, 3, 1], stride: 2, depthwise: true },
];

type Grads = { y: Float32Array; dx: Float32Array; dw: Float32Array };

/** Loss = sum(y * r) so that dy = r is not uniform and every tap matters. */
function run(c: Case, useOurs: boolean): Grads {
  return tf.tidy(() => {
    const x = tf.tensor4d(values(c.x.reduce((a, b) => a * b), 1), c.x as [number, number, number, number]);
    const w = tf.tensor4d(values(c.w.reduce((a, b) => a * b), 2), c.w as [number, number, number, number]);
    const fwd = (a: tf.Tensor4D, b: tf.Tensor4D): tf.Tensor4D => {
      if (useOurs) return c.depthwise ? depthwiseSame(a, b, c.stride) : conv2dSame(a, b, c.stride);
      return c.depthwise ? tf.depthwiseConv2d(a, b, c.stride, 'same') : tf.conv2d(a, b, c.stride, 'same');
    };
    const y = fwd(x, w);
    const r = tf.tensor(values(y.size, 3), y.shape);
    const g = tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.mul(fwd(a as tf.Tensor4D, b as tf.Tensor4D), r)));
    const [dx, dw] = g([x, w]);
    return { y: y.dataSync() as Float32Array, dx: dx.dataSync() as Float32Array, dw: dw.dataSync() as Float32Array };
  });
}

function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

describe('samePadding', () => {
  it('puts the odd pixel after, as TF does', () => {
    expect(samePadding(28, 3, 2)).toEqual({ before: 0, after: 1, out: 14 });
    expect(samePadding(7, 3, 2)).toEqual({ before: 1, after: 1, out: 4 });
    expect(samePadding(28, 3, 1)).toEqual({ before: 1, after: 1, out: 28 });
    expect(samePadding(14, 1, 2)).toEqual({ before: 0, after: 0, out: 7 });
  });
});

describe('custom conv gradients', () => {
  const reference = new Map<string, Grads>();

  beforeAll(async () => {
    // TF's own gradients on the cpu backend are the reference.
    await tf.setBackend('cpu');
    for (const c of CASES) reference.set(c.name, run(c, false));
  });

  it.each(CASES.map((c) => [c.name, c] as const))('%s: cpu backend, ours == TF', (_n, c) => {
    const ours = run(c, true);
    const ref = reference.get(c.name)!;
    expect(maxAbsDiff(ours.y, ref.y)).toBeLessThan(1e-5);
    expect(maxAbsDiff(ours.dx, ref.dx)).toBeLessThan(1e-4);
    expect(maxAbsDiff(ours.dw, ref.dw)).toBeLessThan(1e-4);
  });

  it('wasm backend: ours == TF cpu for every case', async () => {
    await initWasmBackend();
    expect(tf.getBackend()).toBe('wasm');
    for (const c of CASES) {
      const ours = run(c, true);
      const ref = reference.get(c.name)!;
      expect([c.name, maxAbsDiff(ours.y, ref.y) < 1e-4]).toEqual([c.name, true]);
      expect([c.name, maxAbsDiff(ours.dx, ref.dx) < 1e-3]).toEqual([c.name, true]);
      expect([c.name, maxAbsDiff(ours.dw, ref.dw) < 1e-3]).toEqual([c.name, true]);
    }
  });

  it('the wasm backend really lacks the filter gradient (why this file exists)', async () => {
    await initWasmBackend();
    const x = tf.ones([1, 4, 4, 1]) as tf.Tensor4D;
    const w = tf.ones([3, 3, 1, 1]) as tf.Tensor4D;
    expect(() => tf.grad((b: tf.Tensor) => tf.sum(tf.conv2d(x, b as tf.Tensor4D, 1, 'same')))(w)).toThrow();
    x.dispose();
    w.dispose();
  });
});
