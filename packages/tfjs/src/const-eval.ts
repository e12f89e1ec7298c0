import { type DType, Tensor } from '@nibble/ir';
import type { GraphOpContext } from './graph-model';
import { canonicalRange, denseSlice } from './strided-slice';

/*
 * TensorFlow ops evaluated at import when every input is a constant: the
 * shape arithmetic converters leave in graphs (Shape -> StridedSlice -> Pack
 * -> Reshape) and small constant subgraphs. TF semantics (int32 stays
 * int32, FloorDiv floors). An op not listed here is lowered as usual.
 */

type Evaluator = (ctx: GraphOpContext, inputs: Tensor[]) => Tensor[];

const size = (shape: readonly number[]): number => shape.reduce((a, b) => a * b, 1);
const make = (dtype: DType, shape: number[], values: ArrayLike<number>): Tensor => Tensor.from(dtype, shape, values);
const strides = (shape: readonly number[]): number[] => {
  const out = new Array<number>(shape.length).fill(1);
  for (let i = shape.length - 2; i >= 0; i--) out[i] = out[i + 1] * shape[i + 1];
  return out;
};
const normAxis = (a: number, rank: number): number => (a < 0 ? a + rank : a);

/** Elements of `t` picked by per-dimension index lists (a gather on every axis). */
function pick(t: Tensor, index: number[][]): number[] {
  const src = t.toNumbers();
  const st = strides(t.shape);
  const out: number[] = [];
  const walk = (d: number, offset: number): void => {
    if (d === index.length) {
      out.push(src[offset]);
      return;
    }
    for (const i of index[d]) walk(d + 1, offset + i * st[d]);
  };
  walk(0, 0);
  return out;
}

const range = (n: number): number[] => Array.from({ length: n }, (_, i) => i);

function broadcastBinary(a: Tensor, b: Tensor, f: (x: number, y: number) => number, dtype: DType): Tensor {
  const rank = Math.max(a.shape.length, b.shape.length);
  const pa = [...new Array<number>(rank - a.shape.length).fill(1), ...a.shape];
  const pb = [...new Array<number>(rank - b.shape.length).fill(1), ...b.shape];
  const shape = pa.map((d, i) => {
    if (d !== pb[i] && d !== 1 && pb[i] !== 1) throw new Error(`shapes [${a.shape}] and [${b.shape}] do not broadcast`);
    return Math.max(d, pb[i]);
  });
  const av = a.toNumbers();
  const bv = b.toNumbers();
  const sa = strides(pa).map((s, i) => (pa[i] === 1 ? 0 : s));
  const sb = strides(pb).map((s, i) => (pb[i] === 1 ? 0 : s));
  const so = strides(shape);
  const out = new Array<number>(size(shape));
  for (let k = 0; k < out.length; k++) {
    let ia = 0;
    let ib = 0;
    let r = k;
    for (let d = 0; d < rank; d++) {
      const c = Math.floor(r / so[d]);
      r -= c * so[d];
      ia += c * sa[d];
      ib += c * sb[d];
    }
    out[k] = f(av[ia], bv[ib]);
  }
  return make(dtype, shape, out);
}

function binary(f: (x: number, y: number) => number, resultType?: DType): Evaluator {
  return (_ctx, [a, b]) => {
    const dtype = resultType ?? a.dtype;
    const g = dtype === 'int32' || dtype === 'int64' ? (x: number, y: number) => Math.trunc(f(x, y)) : f;
    return [broadcastBinary(a, b, g, dtype)];
  };
}

function reduceOp(f: (acc: number, x: number) => number, init: number): Evaluator {
  return (ctx, [x, axesT]) => {
    const rank = x.shape.length;
    const axes = new Set(axesT.toNumbers().map((a) => normAxis(a, rank)));
    const keep = ctx.bool('keep_dims');
    const outShape = x.shape.map((d, i) => (axes.has(i) ? 1 : d));
    const so = strides(outShape);
    const sx = strides(x.shape);
    const out = new Array<number>(size(outShape)).fill(init);
    x.toNumbers().forEach((v, k) => {
      let o = 0;
      let r = k;
      for (let d = 0; d < rank; d++) {
        const c = Math.floor(r / sx[d]);
        r -= c * sx[d];
        if (!axes.has(d)) o += c * so[d];
      }
      out[o] = f(out[o], v);
    });
    return [make(x.dtype, keep ? outShape : x.shape.filter((_, i) => !axes.has(i)), out)];
  };
}

function sliceBy(x: Tensor, index: number[][], shape: number[]): Tensor {
  return make(x.dtype, shape, pick(x, index));
}

const EVALUATORS: Record<string, Evaluator> = {
  Cast: (ctx, [x]) => {
    const to = ctx.dtype('DstT', 'float32');
    const v = x.toNumbers();
    const conv = to === 'bool' ? v.map((e) => (e !== 0 ? 1 : 0)) : to === 'float32' ? v : v.map(Math.trunc);
    return [make(to, [...x.shape], conv)];
  },
  Reshape: (_ctx, [x, s]) => {
    const target = s.toNumbers();
    const known = target.filter((d) => d !== -1).reduce((a, b) => a * b, 1);
    return [x.reshape(target.map((d) => (d === -1 ? size(x.shape) / known : d)))];
  },
  ExpandDims: (_ctx, [x, a]) => {
    const axis = normAxis(a.toNumbers()[0], x.shape.length + 1);
    return [x.reshape([...x.shape.slice(0, axis), 1, ...x.shape.slice(axis)])];
  },
  Squeeze: (ctx, [x]) => {
    const axes = ctx.ints('squeeze_dims').map((a) => normAxis(a, x.shape.length));
    return [x.reshape(x.shape.filter((d, i) => (axes.length ? !axes.includes(i) : d !== 1)))];
  },
  StridedSlice: (ctx, [x, b, e, s]) => {
    const spec = denseSlice(x.shape.length, b.toNumbers(), e.toNumbers(), s.toNumbers(), {
      begin: ctx.int('begin_mask'), end: ctx.int('end_mask'), ellipsis: ctx.int('ellipsis_mask'), newAxis: ctx.int('new_axis_mask'), shrinkAxis: ctx.int('shrink_axis_mask'),
    });
    const index = spec.dims.map((d, i) => {
      const r = canonicalRange(d, x.shape[i]);
      return range(r.count).map((k) => r.start + k * r.step);
    });
    const shape = spec.output.map((o) => (o === 'new' ? 1 : index[o].length));
    return [sliceBy(x, index, shape)];
  },
  Slice: (_ctx, [x, b, s]) => {
    const begin = b.toNumbers();
    const sizes = s.toNumbers().map((n, i) => (n === -1 ? x.shape[i] - begin[i] : n));
    return [sliceBy(x, sizes.map((n, i) => range(n).map((k) => begin[i] + k)), sizes)];
  },
  Pack: (ctx, parts) => {
    const rank = parts[0].shape.length + 1;
    const axis = normAxis(ctx.int('axis'), rank);
    const expanded = parts.map((p) => p.reshape([...p.shape.slice(0, axis), 1, ...p.shape.slice(axis)]));
    return [concatTensors(expanded, axis)];
  },
  Unpack: (ctx, [x]) => {
    const axis = normAxis(ctx.int('axis'), x.shape.length);
    const shape = x.shape.filter((_, i) => i !== axis);
    return range(x.shape[axis]).map((k) => sliceBy(x, x.shape.map((d, i) => (i === axis ? [k] : range(d))), shape));
  },
  ConcatV2: (_ctx, inputs) => {
    const axisT = inputs[inputs.length - 1];
    const parts = inputs.slice(0, -1);
    return [concatTensors(parts, normAxis(axisT.toNumbers()[0], parts[0].shape.length))];
  },
  GatherV2: (ctx, [x, idx, a]) => {
    if (ctx.int('batch_dims') !== 0) throw ctx.error('batch_dims other than 0 is not supported');
    const axis = normAxis(a.toNumbers()[0], x.shape.length);
    const ids = idx.toNumbers().map((i) => (i < 0 ? i + x.shape[axis] : i));
    const flat = sliceBy(x, x.shape.map((d, i) => (i === axis ? ids : range(d))), x.shape.map((d, i) => (i === axis ? ids.length : d)));
    return [flat.reshape([...x.shape.slice(0, axis), ...idx.shape, ...x.shape.slice(axis + 1)])];
  },
  Fill: (_ctx, [dims, v]) => {
    const shape = dims.toNumbers();
    return [make(v.dtype, shape, new Array<number>(size(shape)).fill(v.toNumbers()[0]))];
  },
  Range: (_ctx, [start, limit, delta]) => {
    const [s, l, d] = [start, limit, delta].map((t) => t.toNumbers()[0]);
    const n = Math.max(0, Math.ceil((l - s) / d));
    return [make(start.dtype, [n], range(n).map((k) => s + k * d))];
  },
  Add: binary((x, y) => x + y),
  AddV2: binary((x, y) => x + y),
  Sub: binary((x, y) => x - y),
  Mul: binary((x, y) => x * y),
  RealDiv: binary((x, y) => x / y),
  FloorDiv: binary((x, y) => Math.floor(x / y)),
  FloorMod: binary((x, y) => x - Math.floor(x / y) * y),
  Maximum: binary(Math.max),
  Minimum: binary(Math.min),
  Equal: binary((x, y) => Number(x === y), 'bool'),
  Prod: reduceOp((a, x) => a * x, 1),
  Sum: reduceOp((a, x) => a + x, 0),
  Max: reduceOp(Math.max, -Infinity),
  Min: reduceOp(Math.min, Infinity),
  Neg: (_ctx, [x]) => [make(x.dtype, [...x.shape], x.toNumbers().map((v) => -v))],
};

function concatTensors(parts: Tensor[], axis: number): Tensor {
  const shape = [...parts[0].shape];
  shape[axis] = parts.reduce((s, p) => s + p.shape[axis], 0);
  const outer = size(shape.slice(0, axis));
  const values: number[] = [];
  const data = parts.map((p) => p.toNumbers());
  for (let o = 0; o < outer; o++) {
    parts.forEach((p, j) => {
      const inner = size(p.shape.slice(axis));
      for (let k = 0; k < inner; k++) values.push(data[j][o * inner + k]);
    });
  }
  return make(parts[0].dtype, shape, values);
}

/** The op evaluated on its constant inputs, or null when it is not one nibble evaluates (or the inputs are too large to be shape arithmetic). */
export function foldConstantOp(ctx: GraphOpContext): Tensor[] | null {
  const f = EVALUATORS[ctx.node.op];
  if (!f) return null;
  const inputs = Array.from({ length: ctx.inputCount }, (_, i) => ctx.constant(i)!);
  // Weights pass through the lowering (a Reshape of a big kernel stays a node that fold-constants handles).
  if (inputs.some((t) => size(t.shape) > 4096 || !['float32', 'int32', 'int64', 'bool'].includes(t.dtype))) return null;
  try {
    return f(ctx, inputs);
  } catch (e) {
    throw ctx.error(`cannot evaluate on its constant inputs: ${(e as Error).message}`);
  }
}
