import { attr, createModel, Graph, type Model, Tensor, type Value } from '@nibble/ir';
import type { CalibrationData } from '../calibration/service';
import { rng } from './distributions';

/**
 * x[N,3,8,8] -> conv1 (4, 3x3 pad 1) -> relu -> conv2 (6, 3x3 stride 2) + a
 * 1x1 stride-2 shortcut -> add -> Mul by a Constant-node scale -> relu ->
 * GlobalAveragePool -> Reshape to [N, 6] (target computed by Shape -> Slice
 * -> Concat, a shape path the analysis must skip) -> Gemm (B [6,5], not
 * transposed). Intermediate values carry no types, as in many imported files.
 */
export function smallConvNet(): Model {
  const u = rng(11);
  const fill = (shape: number[], scale = 0.5) => {
    const n = shape.reduce((a, b) => a * b, 1);
    return new Tensor('float32', shape, Float32Array.from({ length: n }, () => scale * (2 * u() - 1)));
  };
  const g = new Graph('small-convnet');
  const init = (name: string, shape: number[], scale?: number) => g.addInitializer(name, fill(shape, scale));
  const x = g.addInput('x', { dtype: 'float32', shape: ['N', 3, 8, 8] });
  const node = (opType: string, name: string, inputs: (Value | null)[], attributes = {}) =>
    g.addNode({ opType, name, inputs, outputs: [name], attributes }).outputs[0];
  const conv = (attrs: { k: number; s: number; p: number }) => ({
    kernel_shape: attr.ints([attrs.k, attrs.k]), strides: attr.ints([attrs.s, attrs.s]), pads: attr.ints([attrs.p, attrs.p, attrs.p, attrs.p]),
  });
  const c1 = node('Conv', 'c1', [x, init('w1', [4, 3, 3, 3]), init('b1', [4])], conv({ k: 3, s: 1, p: 1 }));
  const r1 = node('Relu', 'r1', [c1]);
  const c2 = node('Conv', 'c2', [r1, init('w2', [6, 4, 3, 3]), init('b2', [6])], conv({ k: 3, s: 2, p: 1 }));
  const sc = node('Conv', 'sc', [x, init('w3', [6, 3, 1, 1]), init('b3', [6], 2)], conv({ k: 1, s: 2, p: 0 }));
  const sum = node('Add', 'sum', [c2, sc]);
  const scale = g.addNode({
    opType: 'Constant', name: 'scale_const', inputs: [], outputs: ['scale'],
    attributes: { value: attr.tensor(Tensor.from('float32', [1, 6, 1, 1], [0.5, 1, 1.5, 2, -1, 3])) },
  }).outputs[0];
  const scaled = node('Mul', 'scaled', [sum, scale]);
  const r2 = node('Relu', 'r2', [scaled]);
  const gap = node('GlobalAveragePool', 'gap', [r2]);
  const shape = node('Shape', 'shp', [gap]);
  const i64 = (name: string, v: number[]) => g.addInitializer(name, Tensor.from('int64', [v.length], v));
  const batch = node('Slice', 'batch', [shape, i64('zero', [0]), i64('one', [1])]);
  const target = node('Concat', 'target', [batch, i64('minus_one', [-1])], { axis: attr.int(0) });
  const flat = node('Reshape', 'flat', [gap, target]);
  const logits = node('Gemm', 'logits', [flat, init('wfc', [6, 5]), init('bfc', [5])]);
  g.addOutput(logits);
  return createModel(g, 17, 8);
}

/** Observed activations of smallConvNet, in graph order. */
export const SMALL_NET_ACTIVATIONS = ['x', 'c1', 'r1', 'c2', 'sc', 'sum', 'scaled', 'r2', 'gap', 'flat', 'logits'];

/** Seeded inputs [n, 3, 8, 8]: per-channel offsets and scales, so channels differ. */
export function seededInputs(n: number, seed: number): Float32Array {
  const u = rng(seed);
  const out = new Float32Array(n * 3 * 64);
  for (let i = 0; i < out.length; i++) {
    const c = Math.floor(i / 64) % 3;
    out[i] = (c - 1) * 0.7 + (1 + c) * (2 * u() - 1);
  }
  return out;
}

/** In-memory calibration data: `x` split into batches of `batch` samples (the last may be smaller). */
export function arrayData(input: string, x: Float32Array, sampleShape: number[], batch: number): CalibrationData & { calls: number } {
  const per = sampleShape.reduce((a, b) => a * b, 1);
  const n = x.length / per;
  const data = {
    samples: n,
    description: `seeded ${n} samples`,
    calls: 0,
    async *batches() {
      data.calls++;
      for (let s = 0; s < n; s += batch) {
        const k = Math.min(batch, n - s);
        yield { [input]: new Tensor('float32', [k, ...sampleShape], x.slice(s * per, (s + k) * per)) };
      }
    },
  };
  return data;
}
