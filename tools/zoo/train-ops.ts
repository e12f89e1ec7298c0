import * as tf from '@tensorflow/tfjs';

/**
 * Training-mode BatchNormalization over NHWC with a hand-written backward
 * pass. Autodiff through tf.moments builds about twice as many full-size
 * temporaries; on a single wasm thread BN was the largest cost after convs.
 * The batch statistics come back too, for the moving averages (the caller
 * owns and disposes them).
 */
export function batchNormTraining(
  x: tf.Tensor4D,
  gamma: tf.Tensor1D,
  beta: tf.Tensor1D,
  epsilon: number,
): { y: tf.Tensor4D; mean: tf.Tensor1D; variance: tf.Tensor1D } {
  let mean: tf.Tensor1D | null = null;
  let variance: tf.Tensor1D | null = null;
  const f = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const [xx, g, b, save] = args as [tf.Tensor4D, tf.Tensor1D, tf.Tensor1D, tf.GradSaveFunc];
    const mu = tf.mean(xx, [0, 1, 2]) as tf.Tensor1D;
    const xc = tf.sub(xx, mu);
    const v = tf.mean(tf.square(xc), [0, 1, 2]) as tf.Tensor1D;
    const rstd = tf.rsqrt(tf.add(v, epsilon));
    const xhat = tf.mul(xc, rstd);
    mean = tf.keep(mu);
    variance = tf.keep(v);
    save([xhat, rstd, g]);
    return {
      value: tf.add(tf.mul(xhat, g), b),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [sxhat, srstd, sg] = saved;
        const m = dy.size / dy.shape[3]!;
        const dbeta = tf.sum(dy, [0, 1, 2]);
        const dgamma = tf.sum(tf.mul(dy, sxhat), [0, 1, 2]);
        // d/dx of gamma * (x - mean) * rstd with mean and variance taken over the batch.
        const inner = tf.sub(tf.sub(dy, tf.div(dbeta, m)), tf.mul(sxhat, tf.div(dgamma, m)));
        return [tf.mul(inner, tf.mul(sg, srstd)), dgamma, dbeta];
      },
    };
  });
  const y = f(x, gamma, beta) as tf.Tensor4D;
  return { y, mean: mean!, variance: variance! };
}

/**
 * ReLU6 whose gradient is a product of two step masks; TF.js' own gradient
 * goes through a boolean LessEqual and a cast, several times slower on wasm.
 * At exactly 0 and 6 the gradient is 0, as in TF.
 */
export function relu6(x: tf.Tensor): tf.Tensor {
  const f = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const [xx, save] = args as [tf.Tensor, tf.GradSaveFunc];
    save([xx]);
    return {
      value: tf.relu6(xx),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => tf.mul(dy, tf.mul(tf.step(saved[0]), tf.step(tf.sub(6, saved[0])))),
    };
  });
  return f(x) as tf.Tensor;
}
