import * as tf from '@tensorflow/tfjs';
import { randomFloats } from '@nibble/testing';
import { initWasmBackend } from './tf-wasm';
import { batchNormTraining, relu6 } from './train-ops';
import { everyNth } from './conv-grad';

/** Seeded values in [offset - scale, offset + scale). */
const values = (n: number, seed: number, scale = 1, offset = 0): Float32Array => randomFloats(n, seed, offset - scale, offset + scale);

function maxAbsDiff(a: tf.Tensor, b: tf.Tensor): number {
  expect(a.shape).toEqual(b.shape);
  return tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]);
}

/** BN written the plain way; autodiff through tf.moments is the reference. */
function referenceBn(x: tf.Tensor, g: tf.Tensor, b: tf.Tensor, eps: number): tf.Tensor {
  const { mean, variance } = tf.moments(x, [0, 1, 2]);
  return tf.add(tf.mul(tf.div(tf.sub(x, mean), tf.sqrt(tf.add(variance, eps))), g), b);
}

describe.each(['cpu', 'wasm'])('training ops on the %s backend', (backend) => {
  beforeAll(async () => {
    if (backend === 'wasm') await initWasmBackend();
    else await tf.setBackend('cpu');
  });

  it('batchNormTraining matches autodiff of the textbook formula (value, dx, dgamma, dbeta, stats)', () => {
    tf.tidy(() => {
      const shape: [number, number, number, number] = [3, 4, 5, 6];
      const x = tf.tensor4d(values(360, 7, 2, 0.5), shape);
      const g = tf.tensor1d(values(6, 8, 0.5, 1));
      const b = tf.tensor1d(values(6, 9));
      const r = tf.tensor4d(values(360, 10), shape);
      const eps = 1e-5;
      const ours = tf.grads((a: tf.Tensor, c: tf.Tensor, d: tf.Tensor) => {
        const bn = batchNormTraining(a as tf.Tensor4D, c as tf.Tensor1D, d as tf.Tensor1D, eps);
        bn.mean.dispose();
        bn.variance.dispose();
        return tf.sum(tf.mul(bn.y, r));
      })([x, g, b]);
      const ref = tf.grads((a: tf.Tensor, c: tf.Tensor, d: tf.Tensor) => tf.sum(tf.mul(referenceBn(a, c, d, eps), r)))([x, g, b]);
      for (let i = 0; i < 3; i++) expect(maxAbsDiff(ours[i], ref[i])).toBeLessThan(2e-4);
      const bn = batchNormTraining(x, g as tf.Tensor1D, b as tf.Tensor1D, eps);
      expect(maxAbsDiff(bn.y, referenceBn(x, g, b, eps))).toBeLessThan(1e-5);
      const { mean, variance } = tf.moments(x, [0, 1, 2]);
      expect(maxAbsDiff(bn.mean, mean)).toBeLessThan(1e-6);
      expect(maxAbsDiff(bn.variance, variance)).toBeLessThan(1e-5);
      bn.mean.dispose();
      bn.variance.dispose();
    });
  });

  it('batchNormTraining hands back its statistics without leaking tensors', () => {
    const before = tf.memory().numTensors;
    tf.tidy(() => {
      const x = tf.tensor4d(values(48, 3), [2, 2, 3, 4]);
      const bn = batchNormTraining(x, tf.ones([4]) as tf.Tensor1D, tf.zeros([4]) as tf.Tensor1D, 1e-5);
      bn.mean.dispose();
      bn.variance.dispose();
    });
    expect(tf.memory().numTensors).toBe(before);
  });

  it('relu6 has the gradient of tf.relu6 away from the kinks', () => {
    tf.tidy(() => {
      const x = tf.tensor1d(values(200, 11, 8, 3)); // spans below 0, inside, above 6
      const r = tf.tensor1d(values(200, 12));
      const ours = tf.grad((a: tf.Tensor) => tf.sum(tf.mul(relu6(a), r)))(x);
      const ref = tf.grad((a: tf.Tensor) => tf.sum(tf.mul(tf.relu6(a), r)))(x);
      expect(maxAbsDiff(relu6(x), tf.relu6(x))).toBe(0);
      expect(maxAbsDiff(ours, ref)).toBe(0);
      const mask = Array.from(tf.step(ours.abs()).dataSync()).reduce((s, v) => s + v, 0);
      expect(mask).toBeGreaterThan(20); // some inside (0,6) ...
      expect(mask).toBeLessThan(180); // ... and some clipped
    });
  });

  it.each([
    [8, 8, 0, 0, 4, 4, 2],
    [7, 7, 1, 1, 4, 4, 2],
    [9, 9, 2, 1, 4, 4, 2],
    [9, 6, 0, 2, 3, 2, 3],
  ])('everyNth on %ix%i from (%i,%i), %ix%i, stride %i equals a strided slice', (h, w, top, left, ho, wo, s) => {
    tf.tidy(() => {
      const t = tf.tensor4d(values(2 * h * w * 3, 13), [2, h, w, 3]);
      const ours = everyNth(t, top, left, ho, wo, s);
      expect(ours.shape).toEqual([2, ho, wo, 3]);
      // Positions past the input read as zero (the caller's padding).
      const padded = tf.pad(t, [[0, 0], [0, s * ho], [0, s * wo], [0, 0]]);
      const ref = tf.stridedSlice(padded, [0, top, left, 0], [2, top + (ho - 1) * s + 1, left + (wo - 1) * s + 1, 3], [1, s, s, 1]);
      expect(maxAbsDiff(ours, ref)).toBe(0);
    });
  });
});
