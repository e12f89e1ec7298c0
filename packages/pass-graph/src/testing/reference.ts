import { constantNodeTensor, type Graph, type Node, type Tensor, type Value } from '@nibble/ir';

/*
 * A float64 brute-force interpreter for the few ops the graph-pass tests
 * run (Conv, ConvTranspose, Gemm, BatchNormalization, Relu, Add), written
 * straight from the ONNX operator definitions with plain loops, so the
 * passes are checked against arithmetic that shares no code with them.
 */

export interface Dense {
  shape: number[];
  data: Float64Array;
}

/** mulberry32: a small seeded generator, so test data is the same on every run. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Uniform values in [lo, hi), rounded to float32 (they become float32 initializers). */
export function randomValues(rand: () => number, n: number, lo = -1, hi = 1): number[] {
  return Array.from({ length: n }, () => Math.fround(lo + (hi - lo) * rand()));
}

const size = (shape: readonly number[]): number => shape.reduce((a, b) => a * b, 1);

function conv(x: Dense, w: Dense, b: Dense | undefined, node: Node): Dense {
  const [n, c, h, wd] = x.shape;
  const [m, cg, kh, kw] = w.shape;
  const group = node.getInt('group', 1);
  const [pt, pl, pb, pr] = node.getInts('pads', [0, 0, 0, 0]);
  const [sh, sw] = node.getInts('strides', [1, 1]);
  const [dh, dw] = node.getInts('dilations', [1, 1]);
  if (c !== cg * group) throw new Error(`reference conv: ${c} channels for group ${group} and weights [${w.shape}]`);
  const oh = Math.floor((h + pt + pb - dh * (kh - 1) - 1) / sh) + 1;
  const ow = Math.floor((wd + pl + pr - dw * (kw - 1) - 1) / sw) + 1;
  const out = new Float64Array(n * m * oh * ow);
  const mPerGroup = m / group;
  for (let bi = 0; bi < n; bi++)
    for (let oc = 0; oc < m; oc++) {
      const g = Math.floor(oc / mPerGroup);
      for (let y = 0; y < oh; y++)
        for (let xo = 0; xo < ow; xo++) {
          let acc = b ? b.data[oc] : 0;
          for (let ic = 0; ic < cg; ic++)
            for (let ky = 0; ky < kh; ky++)
              for (let kx = 0; kx < kw; kx++) {
                const iy = y * sh - pt + ky * dh;
                const ix = xo * sw - pl + kx * dw;
                if (iy < 0 || iy >= h || ix < 0 || ix >= wd) continue;
                acc += x.data[((bi * c + g * cg + ic) * h + iy) * wd + ix] * w.data[((oc * cg + ic) * kh + ky) * kw + kx];
              }
          out[((bi * m + oc) * oh + y) * ow + xo] = acc;
        }
    }
  return { shape: [n, m, oh, ow], data: out };
}

function convTranspose(x: Dense, w: Dense, b: Dense | undefined, node: Node): Dense {
  const [n, cin, h, wd] = x.shape;
  const [, coutPerGroup, kh, kw] = w.shape;
  const group = node.getInt('group', 1);
  const [pt, pl, pb, pr] = node.getInts('pads', [0, 0, 0, 0]);
  const [sh, sw] = node.getInts('strides', [1, 1]);
  const cout = coutPerGroup * group;
  const cinPerGroup = cin / group;
  const oh = sh * (h - 1) + kh - pt - pb;
  const ow = sw * (wd - 1) + kw - pl - pr;
  const out = new Float64Array(n * cout * oh * ow);
  for (let bi = 0; bi < n; bi++)
    for (let oc = 0; oc < cout; oc++) for (let i = 0; i < oh * ow; i++) out[(bi * cout + oc) * oh * ow + i] = b ? b.data[oc] : 0;
  for (let bi = 0; bi < n; bi++)
    for (let ic = 0; ic < cin; ic++) {
      const g = Math.floor(ic / cinPerGroup);
      for (let iy = 0; iy < h; iy++)
        for (let ix = 0; ix < wd; ix++)
          for (let j = 0; j < coutPerGroup; j++)
            for (let ky = 0; ky < kh; ky++)
              for (let kx = 0; kx < kw; kx++) {
                const y = iy * sh - pt + ky;
                const xo = ix * sw - pl + kx;
                if (y < 0 || y >= oh || xo < 0 || xo >= ow) continue;
                const oc = g * coutPerGroup + j;
                out[((bi * cout + oc) * oh + y) * ow + xo] += x.data[((bi * cin + ic) * h + iy) * wd + ix] * w.data[((ic * coutPerGroup + j) * kh + ky) * kw + kx];
              }
    }
  return { shape: [n, cout, oh, ow], data: out };
}

function gemm(a: Dense, b: Dense, c: Dense | undefined, node: Node): Dense {
  const transA = node.getInt('transA', 0) === 1;
  const transB = node.getInt('transB', 0) === 1;
  const alpha = node.getFloat('alpha', 1);
  const beta = node.getFloat('beta', 1);
  const [m, k] = transA ? [a.shape[1], a.shape[0]] : a.shape;
  const n = transB ? b.shape[0] : b.shape[1];
  const out = new Float64Array(m * n);
  for (let i = 0; i < m; i++)
    for (let j = 0; j < n; j++) {
      let acc = 0;
      for (let q = 0; q < k; q++) acc += a.data[transA ? q * m + i : i * k + q] * b.data[transB ? j * k + q : q * n + j];
      // C broadcasts: one value, a row [N] / [1,N], or the full [M,N].
      const cv = !c ? 0 : c.data.length === 1 ? c.data[0] : c.data.length === n ? c.data[j] : c.data[i * n + j];
      out[i * n + j] = alpha * acc + beta * cv;
    }
  return { shape: [m, n], data: out };
}

function batchNorm(x: Dense, [gamma, beta, mean, variance]: Dense[], node: Node): Dense {
  const eps = node.getFloat('epsilon', 1e-5);
  const c = x.shape[1];
  const inner = size(x.shape.slice(2));
  const out = new Float64Array(x.data.length);
  for (let i = 0; i < out.length; i++) {
    const ch = Math.floor(i / inner) % c;
    out[i] = (gamma.data[ch] * (x.data[i] - mean.data[ch])) / Math.sqrt(variance.data[ch] + eps) + beta.data[ch];
  }
  return { shape: x.shape, data: out };
}

/** a + b, b broadcast numpy-style onto a's shape (b no larger than a). */
function add(a: Dense, b: Dense): Dense {
  const offset = a.shape.length - b.shape.length;
  const out = new Float64Array(a.data.length);
  for (let i = 0; i < out.length; i++) {
    let rest = i;
    let j = 0;
    for (let ax = 0; ax < a.shape.length; ax++) {
      const inner = size(a.shape.slice(ax + 1));
      const coord = Math.floor(rest / inner);
      rest -= coord * inner;
      if (ax >= offset) j = j * b.shape[ax - offset] + (b.shape[ax - offset] === 1 ? 0 : coord);
    }
    out[i] = a.data[i] + b.data[j];
  }
  return { shape: a.shape, data: out };
}

function dense(t: Tensor): Dense {
  return { shape: [...t.shape], data: t.toFloat64() };
}

/** Run the graph in float64 on the given inputs; returns every graph output by name. */
export function runReference(graph: Graph, feeds: Record<string, Dense>): Record<string, Dense> {
  const env = new Map<Value, Dense>();
  for (const v of graph.initializers) env.set(v, dense(v.const!));
  for (const v of graph.inputs) env.set(v, feeds[v.name]);
  const get = (v: Value | null): Dense | undefined => (v ? env.get(v) : undefined);
  for (const node of graph.nodes) {
    const ins = node.inputs.map(get);
    let out: Dense;
    switch (node.opType) {
      case 'Constant': out = dense(constantNodeTensor(node)!); break;
      case 'Conv': out = conv(ins[0]!, ins[1]!, ins[2], node); break;
      case 'ConvTranspose': out = convTranspose(ins[0]!, ins[1]!, ins[2], node); break;
      case 'Gemm': out = gemm(ins[0]!, ins[1]!, ins[2], node); break;
      case 'BatchNormalization': out = batchNorm(ins[0]!, ins.slice(1, 5) as Dense[], node); break;
      case 'Relu': out = { shape: ins[0]!.shape, data: ins[0]!.data.map((v) => Math.max(v, 0)) }; break;
      case 'Add': out = add(ins[0]!, ins[1]!); break;
      default: throw new Error(`reference interpreter: no ${node.opType}`);
    }
    env.set(node.outputs[0], out);
  }
  return Object.fromEntries(graph.outputs.map((v) => [v.name, env.get(v)!]));
}

/** max |a - b| / max |a|, the relative error of b against the reference a. */
export function relativeError(a: Dense, b: Dense): number {
  if (a.shape.join() !== b.shape.join()) throw new Error(`shapes differ: [${a.shape}] vs [${b.shape}]`);
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < a.data.length; i++) {
    diff = Math.max(diff, Math.abs(a.data[i] - b.data[i]));
    scale = Math.max(scale, Math.abs(a.data[i]));
  }
  return diff / (scale || 1);
}
