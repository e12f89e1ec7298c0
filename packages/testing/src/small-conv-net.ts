import { type Attribute, attr, createModel, Graph, type Model, Tensor, type Value } from '@nibble/ir';
import { lcg } from './random';

export const SMALL_NET_INPUT = [3, 12, 12] as const;
export const SMALL_NET_CLASSES = 10;

/**
 * A small residual CNN exercising what the QDQ simulation must get right:
 *
 *   x[N,3,12,12] -> Conv 3->8 k3 pad1 -> BatchNorm -> Relu -> MaxPool k2 s2 (8,6,6)
 *     -> Conv 8->8 k3 pad1 group 2 -> Relu -> Conv 8->8 k1 -> Add(residual) -> Relu
 *     -> Conv 8->16 k3 stride 2 pads [0,0,1,1] -> Relu (16,3,3)
 *     -> GlobalAveragePool -> Flatten -> Gemm 16->10 (transB) = logits
 *
 * Weights are seeded (by `lcg`: the nibble facade's agreement and accuracy
 * expectations were measured on its exact sequence); `withBatchNorm: false` leaves out the BatchNorm (for
 * graphs whose float64 reference should not need fold-bn).
 */
export function buildSmallConvNet(options: { seed?: number; withBatchNorm?: boolean } = {}): Model {
  const rand = lcg(options.seed ?? 1234);
  const g = new Graph('small_resnet');
  const x = g.addInput('x', { dtype: 'float32', shape: ['N', ...SMALL_NET_INPUT] });
  const weight = (name: string, shape: number[], scale: number, offset = 0): Value => {
    const n = shape.reduce((a, b) => a * b, 1);
    return g.addInitializer(name, new Tensor('float32', shape, Float32Array.from({ length: n }, () => offset + scale * (rand() * 2 - 1))));
  };
  const node = (opType: string, name: string, inputs: Value[], attributes: Record<string, Attribute> = {}): Value =>
    g.addNode({ opType, name, inputs, outputs: [name], attributes }).outputs[0];
  const k = (n: number) => attr.ints([n, n]);

  let h = node('Conv', 'conv1', [x, weight('conv1.w', [8, 3, 3, 3], 0.4), weight('conv1.b', [8], 0.1)], { kernel_shape: k(3), pads: attr.ints([1, 1, 1, 1]) });
  if (options.withBatchNorm !== false) {
    h = node('BatchNormalization', 'bn1', [h, weight('bn1.scale', [8], 0.4, 1), weight('bn1.bias', [8], 0.2), weight('bn1.mean', [8], 0.1), weight('bn1.var', [8], 0.3, 1)], { epsilon: attr.float(1e-5) });
  }
  h = node('Relu', 'relu1', [h]);
  const pooled = node('MaxPool', 'pool1', [h], { kernel_shape: k(2), strides: attr.ints([2, 2]) });
  h = node('Conv', 'conv2', [pooled, weight('conv2.w', [8, 4, 3, 3], 0.3), weight('conv2.b', [8], 0.1)], { kernel_shape: k(3), pads: attr.ints([1, 1, 1, 1]), group: attr.int(2) });
  h = node('Relu', 'relu2', [h]);
  h = node('Conv', 'conv3', [h, weight('conv3.w', [8, 8, 1, 1], 0.4), weight('conv3.b', [8], 0.1)], { kernel_shape: k(1) });
  h = node('Add', 'residual', [h, pooled]);
  h = node('Relu', 'relu3', [h]);
  h = node('Conv', 'conv4', [h, weight('conv4.w', [16, 8, 3, 3], 0.25), weight('conv4.b', [16], 0.1)], { kernel_shape: k(3), strides: attr.ints([2, 2]), pads: attr.ints([0, 0, 1, 1]) });
  h = node('Relu', 'relu4', [h]);
  h = node('GlobalAveragePool', 'gap', [h]);
  h = node('Flatten', 'flatten', [h], { axis: attr.int(1) });
  const logits = node('Gemm', 'fc', [h, weight('fc.w', [SMALL_NET_CLASSES, 16], 0.5), weight('fc.b', [SMALL_NET_CLASSES], 0.1)], { transB: attr.int(1) });
  logits.type = { dtype: 'float32', shape: ['N', SMALL_NET_CLASSES] };
  g.addOutput(logits);
  return createModel(g, 21, 10);
}

/** Seeded inputs for the small net: [n, 3, 12, 12], smooth images plus noise in [0, 1]. */
export function smallNetInputs(n: number, seed: number): Tensor {
  const rand = lcg(seed);
  const [c, h, w] = SMALL_NET_INPUT;
  const data = new Float32Array(n * c * h * w);
  for (let i = 0; i < n; i++) {
    const fx = 0.2 + rand(), fy = 0.2 + rand(), ph = 6 * rand();
    for (let ch = 0; ch < c; ch++) for (let y = 0; y < h; y++) for (let xx = 0; xx < w; xx++) {
      const smooth = 0.5 + 0.4 * Math.sin(fx * xx + fy * y + ph + ch);
      data[((i * c + ch) * h + y) * w + xx] = Math.min(1, Math.max(0, smooth + 0.2 * (rand() - 0.5)));
    }
  }
  return new Tensor('float32', [n, c, h, w], data);
}
