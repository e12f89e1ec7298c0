import { constantNodeTensor, type Graph, type Node, type QuantAnnotation, type Tensor, type Value } from '@nibble/ir';

/*
 * The one float64 reference interpreter of the tests: plain loops written
 * from the ONNX operator definitions and the quantization annotation
 * contract (docs/quantized-ir.md) alone. It shares no code with the passes,
 * @nibble/quant, @nibble/onnx or onnxruntime, so a graph pass is checked by
 * running the graph before and after it here, and a quantized model's QDQ
 * lowering in onnxruntime is checked against its annotated IR here (fake
 * quantization at every annotated value).
 */

export interface Array64 {
  shape: number[];
  data: Float64Array;
}

const size = (shape: readonly number[]): number => shape.reduce((a, b) => a * b, 1);

/** Round half to even, in float64. */
export function rint(x: number): number {
  const f = Math.floor(x);
  const d = x - f;
  if (d < 0.5) return f;
  if (d > 0.5) return f + 1;
  return f % 2 === 0 ? f : f + 1;
}

/**
 * The integer levels channel c may take: 2^bits of them, or `count` when the annotation gives levels (a grid that
 * is not a power of two); a 0-bit channel: the single level 1. Shifted down by 2^(bits-1) when signed.
 */
function levels(bits: number, signed: boolean, count?: number): [number, number] {
  if (bits === 0) return [1, 1];
  const shift = signed ? 2 ** (bits - 1) : 0;
  return [-shift, (count ?? 2 ** bits) - 1 - shift];
}

/** x^ = (clamp(rint(x / scale) + zp, qmin_c, qmax_c) - zp) * scale per channel, all in float64. */
export function fakeQuant64(t: Array64, q: QuantAnnotation): Array64 {
  if (!q.scale || !q.zeroPoint || !q.bits) throw new Error('annotation without a grid');
  const axis = q.axis === null ? null : q.axis < 0 ? q.axis + t.shape.length : q.axis;
  const channels = axis === null ? 1 : t.shape[axis];
  const inner = axis === null ? t.data.length : size(t.shape.slice(axis + 1));
  const out = new Float64Array(t.data.length);
  for (let i = 0; i < out.length; i++) {
    const c = axis === null ? 0 : Math.floor(i / inner) % channels;
    const s = q.scale[c];
    const zp = q.zeroPoint[c];
    const [lo, hi] = levels(q.bits[c], q.signed ?? false, q.levels?.[c]);
    const level = Math.min(hi, Math.max(lo, rint(t.data[i] / s) + zp));
    out[i] = (level - zp) * s;
  }
  return { shape: t.shape, data: out };
}

function conv(x: Array64, w: Array64, b: Array64 | undefined, node: Node): Array64 {
  const [n, c, h, wd] = x.shape;
  const [m, cg, kh, kw] = w.shape;
  const group = node.getInt('group', 1);
  const [sh, sw] = node.getInts('strides', [1, 1]);
  const [dh, dw] = node.getInts('dilations', [1, 1]);
  const [pt, pl, pb, pr] = node.getInts('pads', [0, 0, 0, 0]);
  if (node.getString('auto_pad', 'NOTSET') !== 'NOTSET') throw new Error(`reference conv ${node.name}: auto_pad unsupported`);
  if (c !== cg * group) throw new Error(`reference conv ${node.name}: ${c} channels for group ${group} and weights [${w.shape}]`);
  const oh = Math.floor((h + pt + pb - dh * (kh - 1) - 1) / sh) + 1;
  const ow = Math.floor((wd + pl + pr - dw * (kw - 1) - 1) / sw) + 1;
  const out = new Float64Array(n * m * oh * ow);
  const mPerGroup = m / group;
  for (let bi = 0; bi < n; bi++) for (let oc = 0; oc < m; oc++) {
    const g = Math.floor(oc / mPerGroup);
    for (let y = 0; y < oh; y++) for (let xo = 0; xo < ow; xo++) {
      let acc = b ? b.data[oc] : 0;
      for (let ic = 0; ic < cg; ic++) for (let ky = 0; ky < kh; ky++) {
        const iy = y * sh - pt + ky * dh;
        if (iy < 0 || iy >= h) continue;
        for (let kx = 0; kx < kw; kx++) {
          const ix = xo * sw - pl + kx * dw;
          if (ix < 0 || ix >= wd) continue;
          acc += x.data[((bi * c + g * cg + ic) * h + iy) * wd + ix] * w.data[((oc * cg + ic) * kh + ky) * kw + kx];
        }
      }
      out[((bi * m + oc) * oh + y) * ow + xo] = acc;
    }
  }
  return { shape: [n, m, oh, ow], data: out };
}

function convTranspose(x: Array64, w: Array64, b: Array64 | undefined, node: Node): Array64 {
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
  for (let bi = 0; bi < n; bi++) for (let oc = 0; oc < cout; oc++) out.fill(b ? b.data[oc] : 0, (bi * cout + oc) * oh * ow, (bi * cout + oc + 1) * oh * ow);
  for (let bi = 0; bi < n; bi++) for (let ic = 0; ic < cin; ic++) {
    const g = Math.floor(ic / cinPerGroup);
    for (let iy = 0; iy < h; iy++) for (let ix = 0; ix < wd; ix++) for (let j = 0; j < coutPerGroup; j++) {
      for (let ky = 0; ky < kh; ky++) for (let kx = 0; kx < kw; kx++) {
        const y = iy * sh - pt + ky;
        const xo = ix * sw - pl + kx;
        if (y < 0 || y >= oh || xo < 0 || xo >= ow) continue;
        const oc = g * coutPerGroup + j;
        out[((bi * cout + oc) * oh + y) * ow + xo] += x.data[((bi * cin + ic) * h + iy) * wd + ix] * w.data[((ic * coutPerGroup + j) * kh + ky) * kw + kx];
      }
    }
  }
  return { shape: [n, cout, oh, ow], data: out };
}

function maxPool(x: Array64, node: Node): Array64 {
  const [n, c, h, w] = x.shape;
  const [kh, kw] = node.getInts('kernel_shape', []);
  const [sh, sw] = node.getInts('strides', [1, 1]);
  const [pt, pl, pb, pr] = node.getInts('pads', [0, 0, 0, 0]);
  if (node.getInt('ceil_mode', 0) !== 0) throw new Error(`reference max pool ${node.name}: ceil_mode unsupported`);
  const oh = Math.floor((h + pt + pb - kh) / sh) + 1;
  const ow = Math.floor((w + pl + pr - kw) / sw) + 1;
  const out = new Float64Array(n * c * oh * ow);
  for (let p = 0; p < n * c; p++) for (let y = 0; y < oh; y++) for (let xx = 0; xx < ow; xx++) {
    let best = -Infinity;
    for (let ky = 0; ky < kh; ky++) for (let kx = 0; kx < kw; kx++) {
      const iy = y * sh - pt + ky;
      const ix = xx * sw - pl + kx;
      if (iy >= 0 && iy < h && ix >= 0 && ix < w) best = Math.max(best, x.data[(p * h + iy) * w + ix]);
    }
    out[(p * oh + y) * ow + xx] = best;
  }
  return { shape: [n, c, oh, ow], data: out };
}

/** Elementwise a op b with numpy broadcasting. */
function broadcast(a: Array64, b: Array64, op: (x: number, y: number) => number): Array64 {
  const rank = Math.max(a.shape.length, b.shape.length);
  const pad = (s: number[]) => [...new Array<number>(rank - s.length).fill(1), ...s];
  const sa = pad(a.shape), sb = pad(b.shape);
  const shape = sa.map((d, i) => Math.max(d, sb[i]));
  const out = new Float64Array(size(shape));
  const idx = new Array<number>(rank).fill(0);
  const offset = (s: number[]) => idx.reduce((o, k, i) => o * s[i] + (s[i] === 1 ? 0 : k), 0);
  for (let i = 0; i < out.length; i++) {
    out[i] = op(a.data[offset(sa)], b.data[offset(sb)]);
    for (let k = rank - 1; k >= 0 && ++idx[k] === shape[k]; k--) idx[k] = 0;
  }
  return { shape, data: out };
}

/** alpha * A' B' + beta * C, C broadcast onto [M, N]. */
function gemm(a: Array64, b: Array64, c: Array64 | undefined, node: Node): Array64 {
  const ta = node.getInt('transA', 0) === 1;
  const tb = node.getInt('transB', 0) === 1;
  const alpha = node.getFloat('alpha', 1);
  const beta = node.getFloat('beta', 1);
  const [m, k] = ta ? [a.shape[1], a.shape[0]] : a.shape;
  const n = tb ? b.shape[0] : b.shape[1];
  const out = new Float64Array(m * n);
  for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) {
    let s = 0;
    for (let p = 0; p < k; p++) s += a.data[ta ? p * m + i : i * k + p] * b.data[tb ? j * k + p : p * n + j];
    out[i * n + j] = alpha * s;
  }
  const y = { shape: [m, n], data: out };
  return c ? broadcast(y, { shape: c.shape, data: c.data.map((v) => beta * v) }, (u, v) => u + v) : y;
}

function batchNorm(x: Array64, [gamma, beta, mean, variance]: Array64[], node: Node): Array64 {
  const eps = node.getFloat('epsilon', 1e-5);
  const inner = size(x.shape.slice(2));
  const c = x.shape[1];
  return { shape: x.shape, data: x.data.map((u, i) => {
    const k = Math.floor(i / inner) % c;
    return (gamma.data[k] * (u - mean.data[k])) / Math.sqrt(variance.data[k] + eps) + beta.data[k];
  }) };
}

function dequantizeLinear(q: Array64, scale: Array64, zp: Array64 | undefined, node: Node): Array64 {
  const perAxis = scale.data.length > 1 || scale.shape.length === 1;
  const axisRaw = node.getInt('axis', 1);
  const axis = axisRaw < 0 ? axisRaw + q.shape.length : axisRaw;
  const inner = perAxis ? size(q.shape.slice(axis + 1)) : q.data.length;
  const channels = perAxis ? q.shape[axis] : 1;
  return { shape: q.shape, data: q.data.map((v, i) => {
    const c = perAxis ? Math.floor(i / inner) % channels : 0;
    return (v - (zp ? zp.data[c] : 0)) * scale.data[c];
  }) };
}

function globalAveragePool(x: Array64): Array64 {
  const [n, c] = x.shape;
  const inner = size(x.shape.slice(2));
  const out = new Float64Array(n * c);
  for (let p = 0; p < n * c; p++) {
    let s = 0;
    for (let j = 0; j < inner; j++) s += x.data[p * inner + j];
    out[p] = s / inner;
  }
  return { shape: [n, c, ...x.shape.slice(2).map(() => 1)], data: out };
}

function concatAxis(xs: Array64[], axisRaw: number): Array64 {
  const rank = xs[0].shape.length;
  const axis = axisRaw < 0 ? axisRaw + rank : axisRaw;
  const outer = size(xs[0].shape.slice(0, axis));
  const shape = [...xs[0].shape];
  shape[axis] = xs.reduce((a, t) => a + t.shape[axis], 0);
  const out = new Float64Array(size(shape));
  let o = 0;
  for (let i = 0; i < outer; i++) for (const t of xs) {
    const block = size(t.shape.slice(axis));
    out.set(t.data.subarray(i * block, (i + 1) * block), o);
    o += block;
  }
  return { shape, data: out };
}

/** Nearest Resize of a rank-4 tensor to the node's output size, asymmetric coordinates with floor only. */
function resizeNearest(x: Array64, node: Node): Array64 {
  const mode = node.getString('mode', 'nearest');
  const coords = node.getString('coordinate_transformation_mode', 'half_pixel');
  if (mode !== 'nearest' || coords !== 'asymmetric' || node.getString('nearest_mode', 'round_prefer_floor') !== 'floor') {
    throw new Error(`reference resize ${node.name}: only nearest, asymmetric, floor`);
  }
  const shape = node.outputs[0].type?.shape;
  if (!shape || shape.some((d) => typeof d !== 'number')) throw new Error(`reference resize ${node.name}: output shape unknown`);
  const [n, c, h, w] = x.shape;
  const [, , oh, ow] = shape as number[];
  const out = new Float64Array(n * c * oh * ow);
  for (let p = 0; p < n * c; p++) for (let y = 0; y < oh; y++) for (let xx = 0; xx < ow; xx++) {
    out[(p * oh + y) * ow + xx] = x.data[(p * h + Math.floor((y * h) / oh)) * w + Math.floor((xx * w) / ow)];
  }
  return { shape: [n, c, oh, ow], data: out };
}

const dense = (t: Tensor): Array64 => ({ shape: [...t.shape], data: t.toFloat64() });

function evalNode(node: Node, ins: (Array64 | undefined)[]): Array64 {
  const x = ins[0]!;
  switch (node.opType) {
    case 'Constant': return dense(constantNodeTensor(node)!);
    case 'Conv': return conv(x, ins[1]!, ins[2], node);
    case 'ConvTranspose': return convTranspose(x, ins[1]!, ins[2], node);
    case 'Gemm': return gemm(x, ins[1]!, ins[2], node);
    case 'BatchNormalization': return batchNorm(x, ins.slice(1, 5) as Array64[], node);
    case 'Relu': return { shape: x.shape, data: x.data.map((v) => Math.max(v, 0)) };
    case 'Clip': { const lo = ins[1]?.data[0] ?? -Infinity, hi = ins[2]?.data[0] ?? Infinity; return { shape: x.shape, data: x.data.map((v) => Math.min(hi, Math.max(lo, v))) }; }
    case 'MaxPool': return maxPool(x, node);
    case 'GlobalAveragePool': return globalAveragePool(x);
    case 'Add': return broadcast(x, ins[1]!, (a, b) => a + b);
    case 'Mul': return broadcast(x, ins[1]!, (a, b) => a * b);
    case 'Div': return broadcast(x, ins[1]!, (a, b) => a / b);
    case 'HardSigmoid': {
      const [alpha, beta] = [node.getFloat('alpha', 0.2), node.getFloat('beta', 0.5)];
      return { shape: x.shape, data: x.data.map((v) => Math.min(1, Math.max(0, alpha * v + beta))) };
    }
    case 'Sigmoid': return { shape: x.shape, data: x.data.map((v) => 1 / (1 + Math.exp(-v))) };
    case 'Sign': return { shape: x.shape, data: x.data.map((v) => Math.sign(v)) };
    case 'Concat': return concatAxis(ins.filter((t): t is Array64 => t !== undefined), node.getInt('axis', 0));
    case 'Resize': return resizeNearest(x, node);
    case 'Flatten': {
      const axis = node.getInt('axis', 1);
      return { shape: [size(x.shape.slice(0, axis)), size(x.shape.slice(axis))], data: x.data };
    }
    case 'DequantizeLinear': return dequantizeLinear(x, ins[1]!, ins[2], node);
    case 'Identity': return x;
    default: throw new Error(`float64 reference: no ${node.opType}`);
  }
}

const lowered = (v: Value): boolean => v.producer?.opType === 'DequantizeLinear';

/**
 * Runs the graph on float64 inputs. Every value with a quantization grid
 * (scale, zero point, bits) passes through fakeQuant64 where it is produced
 * (outputs of DequantizeLinear are already on their grid); a graph without
 * annotations runs in plain float64. Returns the graph outputs and any
 * values named in `fetch`.
 */
export function runFloat64(graph: Graph, feeds: Record<string, Array64>, fetch: readonly string[] = []): Record<string, Array64> {
  const env = new Map<Value, Array64>();
  const quantized = (v: Value, t: Array64): Array64 => (v.quant?.scale && !lowered(v) ? fakeQuant64(t, v.quant) : t);
  for (const v of graph.initializers) env.set(v, quantized(v, dense(v.const!)));
  for (const v of graph.inputs) {
    if (env.has(v)) continue;
    const t = feeds[v.name];
    if (!t) throw new Error(`no feed for ${v.name}`);
    env.set(v, quantized(v, t));
  }
  for (const node of graph.nodes) {
    const y = evalNode(node, node.inputs.map((v) => (v ? env.get(v) : undefined)));
    env.set(node.outputs[0], quantized(node.outputs[0], y));
  }
  const out: Record<string, Array64> = {};
  for (const v of graph.outputs) out[v.name] = env.get(v)!;
  for (const name of fetch) {
    const v = graph.value(name);
    if (!v || !env.has(v)) throw new Error(`cannot fetch ${name}`);
    out[name] = env.get(v)!;
  }
  return out;
}
