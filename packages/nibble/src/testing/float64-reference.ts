import type { Graph, Node, QuantAnnotation, Value } from '@nibble/ir';

/*
 * An independent float64 interpreter for small conv nets with fake
 * quantization at the annotated points, written from the ONNX operator
 * definitions and the annotation contract (docs/quantized-ir.md) alone. It
 * shares no code with @nibble/quant, @nibble/onnx or onnxruntime: its
 * quantizer, convolution and pooling are its own. Tests compare it with
 * onnxruntime running the QDQ lowering of the same model.
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

/** The integer levels channel c may take: 2^bits of them (a 0-bit channel: the single level 1), shifted down by 2^(bits-1) when signed. */
function levels(bits: number, signed: boolean): [number, number] {
  if (bits === 0) return [1, 1];
  const shift = signed ? 2 ** (bits - 1) : 0;
  return [-shift, 2 ** bits - 1 - shift];
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
    const [lo, hi] = levels(q.bits[c], q.signed ?? false);
    const level = Math.min(hi, Math.max(lo, rint(t.data[i] / s) + zp));
    out[i] = (level - zp) * s;
  }
  return { shape: t.shape, data: out };
}

function ints(node: Node, name: string, fallback: number[]): number[] {
  const a = node.attributes.get(name);
  return a && a.type === 'ints' ? a.value : fallback;
}

function int(node: Node, name: string, fallback: number): number {
  const a = node.attributes.get(name);
  return a && a.type === 'int' ? a.value : fallback;
}

function float(node: Node, name: string, fallback: number): number {
  const a = node.attributes.get(name);
  return a && a.type === 'float' ? a.value : fallback;
}

function conv(x: Array64, w: Array64, b: Array64 | undefined, node: Node): Array64 {
  const [n, c, h, wd] = x.shape;
  const [m, cg, kh, kw] = w.shape;
  const group = int(node, 'group', 1);
  const [sh, sw] = ints(node, 'strides', [1, 1]);
  const [dh, dw] = ints(node, 'dilations', [1, 1]);
  const [pt, pl, pb, pr] = ints(node, 'pads', [0, 0, 0, 0]);
  if (int(node, 'auto_pad', 0) !== 0 || cg * group !== c) throw new Error(`conv ${node.name}: unsupported`);
  const oh = Math.floor((h + pt + pb - dh * (kh - 1) - 1) / sh) + 1;
  const ow = Math.floor((wd + pl + pr - dw * (kw - 1) - 1) / sw) + 1;
  const out = new Float64Array(n * m * oh * ow);
  const mg = m / group;
  for (let bi = 0; bi < n; bi++) for (let o = 0; o < m; o++) {
    const g = Math.floor(o / mg);
    for (let y = 0; y < oh; y++) for (let xx = 0; xx < ow; xx++) {
      let s = b ? b.data[o] : 0;
      for (let ci = 0; ci < cg; ci++) for (let ky = 0; ky < kh; ky++) {
        const iy = y * sh - pt + ky * dh;
        if (iy < 0 || iy >= h) continue;
        for (let kx = 0; kx < kw; kx++) {
          const ix = xx * sw - pl + kx * dw;
          if (ix < 0 || ix >= wd) continue;
          s += x.data[((bi * c + g * cg + ci) * h + iy) * wd + ix] * w.data[((o * cg + ci) * kh + ky) * kw + kx];
        }
      }
      out[((bi * m + o) * oh + y) * ow + xx] = s;
    }
  }
  return { shape: [n, m, oh, ow], data: out };
}

function maxPool(x: Array64, node: Node): Array64 {
  const [n, c, h, w] = x.shape;
  const [kh, kw] = ints(node, 'kernel_shape', []);
  const [sh, sw] = ints(node, 'strides', [1, 1]);
  const [pt, pl, pb, pr] = ints(node, 'pads', [0, 0, 0, 0]);
  if (int(node, 'ceil_mode', 0) !== 0) throw new Error('ceil_mode unsupported');
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

function gemm(a: Array64, b: Array64, c: Array64 | undefined, node: Node): Array64 {
  const ta = int(node, 'transA', 0), tb = int(node, 'transB', 0);
  const alpha = float(node, 'alpha', 1), beta = float(node, 'beta', 1);
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

function dequantizeLinear(q: Array64, scale: Array64, zp: Array64 | undefined, node: Node): Array64 {
  const perAxis = scale.data.length > 1 || scale.shape.length === 1;
  const axisRaw = int(node, 'axis', 1);
  const axis = axisRaw < 0 ? axisRaw + q.shape.length : axisRaw;
  const inner = perAxis ? size(q.shape.slice(axis + 1)) : q.data.length;
  const channels = perAxis ? q.shape[axis] : 1;
  return { shape: q.shape, data: q.data.map((v, i) => {
    const c = perAxis ? Math.floor(i / inner) % channels : 0;
    return (v - (zp ? zp.data[c] : 0)) * scale.data[c];
  }) };
}

function batchNorm(x: Array64, [s, b, mean, v]: Array64[], node: Node): Array64 {
  const eps = float(node, 'epsilon', 1e-5);
  const inner = size(x.shape.slice(2));
  const c = x.shape[1];
  return { shape: x.shape, data: x.data.map((u, i) => {
    const k = Math.floor(i / inner) % c;
    return ((u - mean.data[k]) / Math.sqrt(v.data[k] + eps)) * s.data[k] + b.data[k];
  }) };
}

function evalNode(node: Node, ins: (Array64 | undefined)[]): Array64 {
  const x = ins[0]!;
  switch (node.opType) {
    case 'Conv': return conv(x, ins[1]!, ins[2], node);
    case 'Relu': return { shape: x.shape, data: x.data.map((v) => Math.max(v, 0)) };
    case 'MaxPool': return maxPool(x, node);
    case 'Add': return broadcast(x, ins[1]!, (a, b) => a + b);
    case 'Mul': return broadcast(x, ins[1]!, (a, b) => a * b);
    case 'GlobalAveragePool': {
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
    case 'Flatten': {
      const axis = int(node, 'axis', 1);
      return { shape: [size(x.shape.slice(0, axis)), size(x.shape.slice(axis))], data: x.data };
    }
    case 'Gemm': return gemm(x, ins[1]!, ins[2], node);
    case 'BatchNormalization': return batchNorm(x, ins.slice(1) as Array64[], node);
    case 'DequantizeLinear': return dequantizeLinear(x, ins[1]!, ins[2], node);
    case 'Identity': return x;
    default: throw new Error(`float64 reference: no ${node.opType}`);
  }
}

const lowered = (v: Value): boolean => v.producer?.opType === 'DequantizeLinear';

/**
 * Runs the graph on float64 inputs; every value with a quantization grid
 * (scale, zero point, bits) passes through fakeQuant64 where it is produced
 * (outputs of DequantizeLinear are already on their grid). Returns the
 * graph outputs and any values named in `fetch`.
 */
export function runFloat64(graph: Graph, feeds: Record<string, Array64>, fetch: readonly string[] = []): Record<string, Array64> {
  const env = new Map<Value, Array64>();
  const quantized = (v: Value, t: Array64): Array64 => (v.quant?.scale && !lowered(v) ? fakeQuant64(t, v.quant) : t);
  for (const v of graph.initializers) {
    env.set(v, quantized(v, { shape: [...v.const!.shape], data: v.const!.toFloat64() }));
  }
  for (const v of graph.inputs) {
    if (env.has(v)) continue;
    const t = feeds[v.name];
    if (!t) throw new Error(`no feed for ${v.name}`);
    env.set(v, quantized(v, t));
  }
  for (const node of graph.nodes) {
    const ins = node.inputs.map((v) => (v ? env.get(v) : undefined));
    const y = evalNode(node, ins);
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
