import * as tf from '@tensorflow/tfjs';
import { Arch, INPUT } from './arch';
import { conv2dSame, depthwiseSame } from './conv-grad';
import { batchNormTraining, relu6 } from './train-ops';

/** Keras' default is 1e-3; every interpreter (TF.js layers, ONNX) is given this value. */
export const BN_EPSILON = 1e-5;
/** Weight of the old value in the BN moving averages (Keras convention). */
export const BN_MOMENTUM = 0.9;

export type Params = Map<string, tf.Variable>;

/**
 * Runs the architecture on an NHWC batch. In training mode BN uses the batch
 * statistics and returns the new moving averages in `bnUpdates` (the caller
 * assigns them after the step, outside the gradient tape).
 */
export function forward(
  arch: Arch,
  params: Params,
  x: tf.Tensor4D,
  training: boolean,
  bnUpdates?: Map<string, tf.Tensor>,
): tf.Tensor2D {
  const values = new Map<string, tf.Tensor>([[INPUT, x]]);
  const p = (n: string): tf.Variable => {
    const v = params.get(n);
    if (!v) throw new Error(`${arch.name}: missing parameter '${n}'`);
    return v;
  };
  const get = (n: string): tf.Tensor => values.get(n)!;
  for (const l of arch.layers) {
    let y: tf.Tensor;
    switch (l.kind) {
      case 'conv':
        y = conv2dSame(get(l.input) as tf.Tensor4D, p(`${l.name}/kernel`) as tf.Tensor4D, l.stride);
        break;
      case 'dwconv':
        y = depthwiseSame(get(l.input) as tf.Tensor4D, p(`${l.name}/depthwise_kernel`) as tf.Tensor4D, l.stride);
        break;
      case 'bn': {
        const v = get(l.input);
        const gamma = p(`${l.name}/gamma`);
        const beta = p(`${l.name}/beta`);
        if (training) {
          const bn = batchNormTraining(v as tf.Tensor4D, gamma as tf.Tensor1D, beta as tf.Tensor1D, BN_EPSILON);
          y = bn.y;
          if (bnUpdates) {
            const n = v.size / v.shape[3]!;
            // Moving variance uses the unbiased estimate, as Keras does.
            const mm = p(`${l.name}/moving_mean`);
            const mv = p(`${l.name}/moving_variance`);
            bnUpdates.set(`${l.name}/moving_mean`, tf.keep(tf.add(tf.mul(mm, BN_MOMENTUM), tf.mul(bn.mean, 1 - BN_MOMENTUM))));
            bnUpdates.set(`${l.name}/moving_variance`, tf.keep(tf.add(tf.mul(mv, BN_MOMENTUM), tf.mul(bn.variance, (1 - BN_MOMENTUM) * (n / Math.max(n - 1, 1))))));
          }
          bn.mean.dispose();
          bn.variance.dispose();
        } else {
          const scale = tf.mul(tf.rsqrt(tf.add(p(`${l.name}/moving_variance`), BN_EPSILON)), gamma);
          y = tf.add(tf.mul(tf.sub(v, p(`${l.name}/moving_mean`)), scale), beta);
        }
        break;
      }
      case 'relu':
        y = tf.relu(get(l.input));
        break;
      case 'relu6':
        y = training ? relu6(get(l.input)) : tf.relu6(get(l.input));
        break;
      case 'add':
        y = tf.add(get(l.inputs[0]), get(l.inputs[1]));
        break;
      case 'maxpool':
        y = tf.maxPool(get(l.input) as tf.Tensor4D, l.size, l.size, 'valid');
        break;
      case 'gap':
        y = tf.mean(get(l.input), [1, 2]);
        break;
      case 'dense':
        y = tf.add(tf.matMul(get(l.input) as tf.Tensor2D, p(`${l.name}/kernel`) as tf.Tensor2D), p(`${l.name}/bias`));
        break;
    }
    values.set(l.name, y);
  }
  return get(arch.output) as tf.Tensor2D;
}
