import { attr, DTYPES, type DType, layoutAxis, layoutShape, Tensor, type Value } from '@nibble/ir';
import type { Lowered, TfDim } from './lowered';
import type { GraphOpContext, GraphOpLowering } from './graph-model';
import { canonicalRange, denseSlice, slicedShape } from './strided-slice';

/*
 * TensorFlow's shape, slicing and assembly ops (what converters leave around
 * reshapes, detection heads and post-processing) lowered to ONNX. Ops whose
 * inputs are all constants never get here: the importer folds them
 * (const-eval.ts). Shapes known at import fold to constants here; unknown
 * ones stay computed at run time (Shape, Gather, Concat).
 */

const known = (d: TfDim): d is number => typeof d === 'number';
/** Larger than any dimension: ONNX Slice clamps it to the dimension's end. */
const END = 2 ** 31 - 1;

export const dtypeOf = (l: Lowered): DType => l.value.type?.dtype ?? 'float32';

/** A Lowered holding a constant (layout plain), for shapes known at import. */
export function constantLowered(ctx: GraphOpContext, t: Tensor, name = ctx.name): Lowered {
  return { value: ctx.em.constant(name, t), layout: 'plain', shape: [...t.shape] };
}

/** Input i as int64 (ONNX's index type): a constant copy, or a Cast. */
export function int64Input(ctx: GraphOpContext, i: number, role: string): Value {
  const c = ctx.constant(i);
  if (c) return ctx.em.constant(`${ctx.name}/${role}`, Tensor.from('int64', [...c.shape], c.toNumbers()));
  const x = ctx.input(i);
  return dtypeOf(x) === 'int64' ? ctx.em.as(x, 'plain') : cast(ctx, ctx.em.as(x, 'plain'), 'int64', `${ctx.name}/${role}`, layoutShape(x.shape, 'plain'));
}

export function cast(ctx: GraphOpContext, v: Value, to: DType, name: string, shape: TfDim[]): Value {
  return ctx.em.node('Cast', [v], { to: attr.int(DTYPES[to].onnx) }, name, shape, to);
}

function castOp(ctx: GraphOpContext): Lowered {
  const x = ctx.input(0);
  const to = ctx.dtype('DstT', 'float32');
  if (to === dtypeOf(x)) return x;
  return { ...x, value: cast(ctx, x.value, to, ctx.name, layoutShape(x.shape, x.layout)) };
}

/** Shape / Size / Rank: constants where the shape is known, else computed (int64, cast to TF's out_type). */
function shapeOp(kind: 'Shape' | 'Size' | 'Rank'): GraphOpLowering {
  return (ctx) => {
    const x = ctx.input(0);
    const out = kind === 'Rank' ? 'int32' : ctx.dtype('out_type', 'int32');
    const dims = x.shape;
    if (kind === 'Rank') return constantLowered(ctx, Tensor.from(out, [], [dims.length]));
    if (dims.every(known)) {
      const values = kind === 'Shape' ? (dims as number[]) : [(dims as number[]).reduce((a, b) => a * b, 1)];
      return constantLowered(ctx, Tensor.from(out, kind === 'Shape' ? [dims.length] : [], values));
    }
    const shape: TfDim[] = kind === 'Shape' ? [dims.length] : [];
    const v = ctx.em.node(kind, [ctx.em.as(x, 'plain')], {}, out === 'int64' ? ctx.name : `${ctx.name}/int64`, shape, 'int64');
    return { value: out === 'int64' ? v : cast(ctx, v, out, ctx.name, shape), layout: 'plain', shape };
  };
}

/** ONNX Slice of x on TF axes (kept in x's layout: slicing commutes with the transpose). */
function slice(ctx: GraphOpContext, x: Lowered, axes: number[], starts: number[], ends: number[], steps: number[], shape: TfDim[], name: string): Lowered {
  const rank = x.shape.length;
  const em = ctx.em;
  const irAxes = axes.map((a) => layoutAxis(a, rank, x.layout));
  const inputs = [x.value, em.int64s(`${name}/starts`, starts), em.int64s(`${name}/ends`, ends), em.int64s(`${name}/axes`, irAxes)];
  if (steps.some((s) => s !== 1)) inputs.push(em.int64s(`${name}/steps`, steps));
  return { value: em.node('Slice', inputs, {}, name, layoutShape(shape, x.layout), dtypeOf(x)), layout: x.layout, shape };
}

/** Squeeze then Unsqueeze (plain layout): a slice's shrunk and new axes. */
function reshapeAxes(ctx: GraphOpContext, x: Lowered, squeeze: number[], unsqueeze: number[], shape: TfDim[], name: string): Lowered {
  const em = ctx.em;
  let v = em.as(x, 'plain');
  if (squeeze.length) {
    const mid = x.shape.filter((_, i) => !squeeze.includes(i));
    v = em.node('Squeeze', [v, em.int64s(`${name}/squeeze_axes`, squeeze)], {}, unsqueeze.length ? `${name}/squeeze` : name, layoutShape(mid, 'plain'), dtypeOf(x));
  }
  if (unsqueeze.length) v = em.node('Unsqueeze', [v, em.int64s(`${name}/unsqueeze_axes`, unsqueeze)], {}, name, layoutShape(shape, 'plain'), dtypeOf(x));
  return { value: v, layout: 'plain', shape };
}

function stridedSliceOp(ctx: GraphOpContext): Lowered {
  const x = ctx.input(0);
  const rank = x.shape.length;
  const spec = denseSlice(rank, ctx.requireConstant(1, 'begin').toNumbers(), ctx.requireConstant(2, 'end').toNumbers(), ctx.requireConstant(3, 'strides').toNumbers(), {
    begin: ctx.int('begin_mask'), end: ctx.int('end_mask'), ellipsis: ctx.int('ellipsis_mask'), newAxis: ctx.int('new_axis_mask'), shrinkAxis: ctx.int('shrink_axis_mask'),
  });
  const outShape = slicedShape(spec, x.shape);
  const axes: number[] = [];
  const starts: number[] = [];
  const ends: number[] = [];
  const steps: number[] = [];
  const kept: TfDim[] = [];
  spec.dims.forEach((d, i) => {
    const size = x.shape[i];
    if (known(size)) {
      const r = canonicalRange(d, size);
      kept.push(r.count);
      if (r.start === 0 && r.step === 1 && r.count === size) return;
      axes.push(i);
      starts.push(r.start);
      // A negative step ending before index 0 needs an end below -size (ONNX reads -1 as the last element).
      ends.push(r.step > 0 ? r.start + r.count * r.step : r.start + r.count * r.step < 0 ? -END : r.start + r.count * r.step);
      steps.push(r.step);
      return;
    }
    kept.push(d.shrink ? 1 : null);
    if (d.beginMasked && d.endMasked && d.stride === 1) return;
    axes.push(i);
    if (d.shrink) {
      starts.push(d.begin);
      ends.push(d.begin === -1 ? END : d.begin + 1);
      steps.push(1);
      return;
    }
    starts.push(d.beginMasked ? (d.stride > 0 ? 0 : END) : d.begin);
    ends.push(d.endMasked ? (d.stride > 0 ? END : -END) : d.end);
    steps.push(d.stride);
  });
  const sliced = axes.length ? slice(ctx, x, axes, starts, ends, steps, kept, spec.dims.some((d) => d.shrink) || spec.output.includes('new') ? `${ctx.name}/slice` : ctx.name) : x;
  const squeeze = spec.dims.flatMap((d, i) => (d.shrink ? [i] : []));
  const unsqueeze = spec.output.flatMap((o, i) => (o === 'new' ? [i] : []));
  if (!squeeze.length && !unsqueeze.length) {
    if (sliced !== x) return sliced;
    return { ...x, value: ctx.em.node('Identity', [x.value], {}, ctx.name, layoutShape(x.shape, x.layout), dtypeOf(x)) };
  }
  return reshapeAxes(ctx, sliced, squeeze, unsqueeze, outShape, ctx.name);
}

function sliceOp(ctx: GraphOpContext): Lowered {
  const x = ctx.input(0);
  const begin = ctx.requireConstant(1, 'begin').toNumbers();
  const sizes = ctx.requireConstant(2, 'size').toNumbers();
  const shape = x.shape.map((d, i) => (sizes[i] === -1 ? (known(d) ? d - begin[i] : null) : sizes[i]));
  const axes = begin.map((_, i) => i);
  return slice(ctx, x, axes, begin, sizes.map((n, i) => (n === -1 ? END : begin[i] + n)), axes.map(() => 1), shape, ctx.name);
}

/** Split (num_split equal parts) and SplitV (sizes): one Slice per part, in the input's layout. */
function splitOp(v: boolean): GraphOpLowering {
  return (ctx) => {
    const x = ctx.input(v ? 0 : 1);
    const rank = x.shape.length;
    let axis = ctx.requireConstant(v ? 2 : 0, 'axis').toNumbers()[0];
    if (axis < 0) axis += rank;
    const dim = x.shape[axis];
    let sizes: number[];
    if (v) {
      sizes = ctx.requireConstant(1, 'size_splits').toNumbers();
      const rest = sizes.indexOf(-1);
      if (rest >= 0) {
        if (!known(dim)) throw ctx.error(`splits a dimension of unknown size with a -1 part`, 'give the input a fixed shape');
        sizes[rest] = dim - sizes.reduce((a, b) => (b === -1 ? a : a + b), 0);
      }
    } else {
      const n = ctx.int('num_split');
      if (!known(dim)) throw ctx.error(`splits a dimension of unknown size into ${n}`, 'give the input a fixed shape');
      sizes = new Array<number>(n).fill(dim / n);
    }
    let start = 0;
    return sizes.map((n, k) => {
      const shape = x.shape.map((d, i) => (i === axis ? n : d));
      const part = slice(ctx, x, [axis], [start], [start + n], [1], shape, `${ctx.name}/${k}`);
      start += n;
      return part;
    });
  };
}

function packOp(ctx: GraphOpContext): Lowered {
  const parts = Array.from({ length: ctx.inputCount }, (_, i) => ctx.input(i));
  const rank = parts[0].shape.length + 1;
  let axis = ctx.int('axis');
  if (axis < 0) axis += rank;
  const em = ctx.em;
  const dtype = dtypeOf(parts[0]);
  const shape: TfDim[] = [...parts[0].shape.slice(0, axis), parts.length, ...parts[0].shape.slice(axis)];
  const one: TfDim[] = [...parts[0].shape.slice(0, axis), 1, ...parts[0].shape.slice(axis)];
  const axes = em.int64s(`${ctx.name}/axes`, [axis]);
  const values = parts.map((p, i) => em.node('Unsqueeze', [em.as(p, 'plain'), axes], {}, `${ctx.name}/${i}`, layoutShape(one, 'plain'), dtype));
  return { value: em.node('Concat', values, { axis: attr.int(axis) }, ctx.name, layoutShape(shape, 'plain'), dtype), layout: 'plain', shape };
}

function unpackOp(ctx: GraphOpContext): Lowered[] {
  const x = ctx.input(0);
  const rank = x.shape.length;
  let axis = ctx.int('axis');
  if (axis < 0) axis += rank;
  const n = x.shape[axis] ?? ctx.int('num');
  const shape = x.shape.filter((_, i) => i !== axis);
  return Array.from({ length: n }, (_, k) => {
    const part = slice(ctx, x, [axis], [k], [k + 1], [1], x.shape.map((d, i) => (i === axis ? 1 : d)), `${ctx.name}/${k}/slice`);
    return reshapeAxes(ctx, part, [axis], [], shape, `${ctx.name}/${k}`);
  });
}

function tileOp(ctx: GraphOpContext): Lowered {
  const x = ctx.input(0);
  const m = ctx.constant(1)?.toNumbers();
  const shape = x.shape.map((d, i) => (m && known(d) ? d * m[i] : null));
  const value = ctx.em.node('Tile', [ctx.em.as(x, 'plain'), int64Input(ctx, 1, 'repeats')], {}, ctx.name, layoutShape(shape, 'plain'), dtypeOf(x));
  return { value, layout: 'plain', shape };
}

function gatherOp(ctx: GraphOpContext): Lowered {
  if (ctx.int('batch_dims') !== 0) throw ctx.error(`batch_dims ${ctx.int('batch_dims')} is not supported`, 'only batch_dims 0 maps to ONNX Gather');
  const x = ctx.input(0);
  const idx = ctx.input(1);
  let axis = ctx.node.op === 'Gather' ? 0 : ctx.requireConstant(2, 'axis').toNumbers()[0];
  if (axis < 0) axis += x.shape.length;
  const shape: TfDim[] = [...x.shape.slice(0, axis), ...idx.shape, ...x.shape.slice(axis + 1)];
  const value = ctx.em.node('Gather', [ctx.em.as(x, 'plain'), ctx.em.as(idx, 'plain')], { axis: attr.int(axis) }, ctx.name, layoutShape(shape, 'plain'), dtypeOf(x));
  return { value, layout: 'plain', shape };
}

function gatherNdOp(ctx: GraphOpContext): Lowered {
  const x = ctx.input(0);
  const idx = ctx.input(1);
  const depth = idx.shape[idx.shape.length - 1];
  if (!known(depth)) throw ctx.error('its index depth (last dimension of the indices) is unknown');
  const shape: TfDim[] = [...idx.shape.slice(0, -1), ...x.shape.slice(depth)];
  const value = ctx.em.node('GatherND', [ctx.em.as(x, 'plain'), int64Input(ctx, 1, 'indices')], {}, ctx.name, layoutShape(shape, 'plain'), dtypeOf(x));
  return { value, layout: 'plain', shape };
}

function fillOp(ctx: GraphOpContext): Lowered {
  const dims = ctx.constant(0)?.toNumbers();
  const v = ctx.input(1);
  const shape: TfDim[] = dims ?? Array.from({ length: ctx.input(0).shape[0] ?? 0 }, () => null);
  const value = ctx.em.node('Expand', [ctx.em.as(v, 'plain'), int64Input(ctx, 0, 'shape')], {}, ctx.name, layoutShape(shape, 'plain'), dtypeOf(v));
  return { value, layout: 'plain', shape };
}

function rangeOp(ctx: GraphOpContext): Lowered {
  const parts = [0, 1, 2].map((i) => ctx.input(i));
  const dtype = dtypeOf(parts[0]);
  const scalars = parts.map((p, i) => {
    const v = ctx.em.as(p, 'plain');
    return p.shape.length === 0 ? v : ctx.em.node('Squeeze', [v], {}, `${ctx.name}/${['start', 'limit', 'delta'][i]}`, [], dtype);
  });
  const shape: TfDim[] = [null];
  return { value: ctx.em.node('Range', scalars, {}, ctx.name, shape, dtype), layout: 'plain', shape };
}

export const TENSOR_OPS: Readonly<Record<string, GraphOpLowering>> = {
  Cast: castOp,
  Shape: shapeOp('Shape'),
  Size: shapeOp('Size'),
  Rank: shapeOp('Rank'),
  StridedSlice: stridedSliceOp,
  Slice: sliceOp,
  Split: splitOp(false),
  SplitV: splitOp(true),
  Pack: packOp,
  Unpack: unpackOp,
  Tile: tileOp,
  GatherV2: gatherOp,
  Gather: gatherOp,
  GatherNd: gatherNdOp,
  Fill: fillOp,
  Range: rangeOp,
};
