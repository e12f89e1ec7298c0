import { attr, createModel, Graph, Model, Tensor } from '@nibble/ir';

/** Deterministic pseudo-random numbers in [-1, 1). */
export function prng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2147483648 - 1;
  };
}

export interface ConvNet {
  model: Model;
  w1: Float32Array; b1: Float32Array;
  w2: Float32Array; b2: Float32Array;
  w3: Float32Array; b3: Float32Array;
}

/**
 * x[N,2,6,6] -> Conv 3x3 pad 1 (3 ch) -> Relu ('act1') -> Conv 3x3 stride 2
 * (4 ch) -> GlobalAveragePool -> Flatten -> Gemm (2 outputs). The input
 * declares batch 1, as many exported models do.
 */
export function buildConvNet(): ConvNet {
  const rand = prng(7);
  const fill = (n: number): Float32Array => Float32Array.from({ length: n }, rand);
  const net = { w1: fill(3 * 2 * 9), b1: fill(3), w2: fill(4 * 3 * 9), b2: fill(4), w3: fill(4 * 2), b3: fill(2) };
  const g = new Graph('convnet');
  const x = g.addInput('x', { dtype: 'float32', shape: [1, 2, 6, 6] });
  const init = (name: string, shape: number[], data: Float32Array) => g.addInitializer(name, new Tensor('float32', shape, data));
  const c1 = g.addNode({
    opType: 'Conv', name: 'conv1', inputs: [x, init('w1', [3, 2, 3, 3], net.w1), init('b1', [3], net.b1)], outputs: ['conv1'],
    attributes: { kernel_shape: attr.ints([3, 3]), pads: attr.ints([1, 1, 1, 1]) },
  });
  const r = g.addNode({ opType: 'Relu', name: 'relu1', inputs: [c1.outputs[0]], outputs: ['act1'] });
  r.outputs[0].type = { dtype: 'float32', shape: [1, 3, 6, 6] };
  const c2 = g.addNode({
    opType: 'Conv', name: 'conv2', inputs: [r.outputs[0], init('w2', [4, 3, 3, 3], net.w2), init('b2', [4], net.b2)], outputs: ['conv2'],
    attributes: { kernel_shape: attr.ints([3, 3]), strides: attr.ints([2, 2]) },
  });
  const gap = g.addNode({ opType: 'GlobalAveragePool', name: 'gap', inputs: [c2.outputs[0]], outputs: ['gap'] });
  const flat = g.addNode({ opType: 'Flatten', name: 'flat', inputs: [gap.outputs[0]], outputs: ['flat'], attributes: { axis: attr.int(1) } });
  const fc = g.addNode({ opType: 'Gemm', name: 'fc', inputs: [flat.outputs[0], init('w3', [4, 2], net.w3), init('b3', [2], net.b3)], outputs: ['logits'] });
  fc.outputs[0].type = { dtype: 'float32', shape: [1, 2] };
  g.addOutput(fc.outputs[0]);
  return { model: createModel(g, 17, 8), ...net };
}

/** conv2d in float64, NCHW, square kernel k, no dilation. */
function conv(x: Float64Array, n: number, c: number, h: number, w: number, wt: Float32Array, b: Float32Array, m: number, k: number, stride: number, pad: number) {
  const oh = Math.floor((h + 2 * pad - k) / stride) + 1;
  const ow = Math.floor((w + 2 * pad - k) / stride) + 1;
  const out = new Float64Array(n * m * oh * ow);
  for (let bi = 0; bi < n; bi++) for (let o = 0; o < m; o++) for (let y = 0; y < oh; y++) for (let xx = 0; xx < ow; xx++) {
    let s = b[o];
    for (let ci = 0; ci < c; ci++) for (let ky = 0; ky < k; ky++) for (let kx = 0; kx < k; kx++) {
      const iy = y * stride - pad + ky;
      const ix = xx * stride - pad + kx;
      if (iy < 0 || iy >= h || ix < 0 || ix >= w) continue;
      s += x[((bi * c + ci) * h + iy) * w + ix] * wt[((o * c + ci) * k + ky) * k + kx];
    }
    out[((bi * m + o) * oh + y) * ow + xx] = s;
  }
  return { out, oh, ow };
}

/** The net's activations in float64: act1 [N,3,6,6] and logits [N,2]. */
export function referenceConvNet(net: ConvNet, x: Float32Array, n: number): { act1: Float64Array; logits: Float64Array } {
  const c1 = conv(Float64Array.from(x), n, 2, 6, 6, net.w1, net.b1, 3, 3, 1, 1);
  const act1 = c1.out.map((v) => Math.max(v, 0));
  const c2 = conv(act1, n, 3, 6, 6, net.w2, net.b2, 4, 3, 2, 0);
  const logits = new Float64Array(n * 2);
  const area = c2.oh * c2.ow;
  for (let bi = 0; bi < n; bi++) {
    for (let j = 0; j < 2; j++) {
      let s = net.b3[j];
      for (let ch = 0; ch < 4; ch++) {
        let mean = 0;
        for (let p = 0; p < area; p++) mean += c2.out[(bi * 4 + ch) * area + p];
        s += (mean / area) * net.w3[ch * 2 + j];
      }
      logits[bi * 2 + j] = s;
    }
  }
  return { act1, logits };
}

export function maxRelError(got: ArrayLike<number>, want: ArrayLike<number>): number {
  let worst = 0;
  for (let i = 0; i < want.length; i++) worst = Math.max(worst, Math.abs(got[i] - want[i]) / Math.max(1, Math.abs(want[i])));
  return worst;
}
