import { attr, type Attribute, layoutAxis, layoutShape, samePadding, Tensor, transposeTensor } from '@nibble/ir';
import type { Lowered, TfDim } from './lowered';
import type { GraphOpContext, GraphOpLowering } from './graph-model';
import { broadcastShape, harmonize } from './nhwc-ops';
import { cast, dtypeOf, int64Input } from './graph-tensor-ops';

/*
 * Comparisons, selection, integer arithmetic with TF's rounding, arg/top-k,
 * transposed convolution and depth/space rearrangement, lowered to ONNX.
 */

const known = (d: TfDim | undefined): d is number => typeof d === 'number';

/** A broadcasting op whose operands share a layout; `dtype` of the result (bool for comparisons). */
function broadcasting(ctx: GraphOpContext, op: string, operands: Lowered[], name: string, dtype = dtypeOf(operands[0]), attributes = {}): Lowered {
  const shape = broadcastShape(operands.map((o) => o.shape), name);
  const { values, layout } = harmonize(ctx.em, operands, shape.length);
  return { value: ctx.em.node(op, values, attributes, name, layoutShape(shape, layout), dtype), layout, shape };
}

function compare(op: string, negate = false): GraphOpLowering {
  return (ctx) => {
    const r = broadcasting(ctx, op, [ctx.input(0), ctx.input(1)], negate ? `${ctx.name}/eq` : ctx.name, 'bool');
    return negate ? { ...r, value: ctx.em.node('Not', [r.value], {}, ctx.name, layoutShape(r.shape, r.layout), 'bool') } : r;
  };
}

function logical(op: string): GraphOpLowering {
  return (ctx) => broadcasting(ctx, op, [ctx.input(0), ctx.input(1)], ctx.name, 'bool');
}

/** Select (a rank-1 condition picks rows) and SelectV2 (NumPy broadcasting): ONNX Where. */
function selectOp(ctx: GraphOpContext): Lowered {
  let cond = ctx.input(0);
  const t = ctx.input(1);
  if (ctx.node.op === 'Select' && cond.shape.length === 1 && t.shape.length > 1) {
    const shape: TfDim[] = [cond.shape[0], ...new Array<number>(t.shape.length - 1).fill(1)];
    const axes = ctx.em.int64s(`${ctx.name}/cond_axes`, shape.slice(1).map((_, i) => i + 1));
    cond = { value: ctx.em.node('Unsqueeze', [cond.value, axes], {}, `${ctx.name}/cond`, shape, 'bool'), layout: 'plain', shape };
  }
  return broadcasting(ctx, 'Where', [cond, t, ctx.input(2)], ctx.name, dtypeOf(t));
}

/** Where with one input: the coordinates of true elements, [count, rank] int64. */
function whereOp(ctx: GraphOpContext): Lowered {
  if (ctx.inputCount !== 1) return selectOp(ctx);
  const x = ctx.input(0);
  const rank = x.shape.length;
  const nz = ctx.em.node('NonZero', [ctx.em.as(x, 'plain')], {}, `${ctx.name}/nonzero`, [rank, null], 'int64');
  const shape: TfDim[] = [null, rank];
  return { value: ctx.em.node('Transpose', [nz], { perm: attr.ints([1, 0]) }, ctx.name, shape, 'int64'), layout: 'plain', shape };
}

/** FloorDiv / FloorMod: TF floors (ONNX's integer Div truncates); integers go through float32, exact below 2^24. */
function floorOp(mod: boolean): GraphOpLowering {
  return (ctx) => {
    const a = ctx.input(0);
    const b = ctx.input(1);
    const dtype = dtypeOf(a);
    if (mod && dtype !== 'float32') return broadcasting(ctx, 'Mod', [a, b], ctx.name, dtype, { fmod: attr.int(0) });
    const asFloat = (l: Lowered, i: number): Lowered => (dtype === 'float32' ? l : { ...l, value: cast(ctx, l.value, 'float32', `${ctx.name}/f${i}`, layoutShape(l.shape, l.layout)) });
    const fa = asFloat(a, 0);
    const fb = asFloat(b, 1);
    const q = broadcasting(ctx, 'Div', [fa, fb], `${ctx.name}/div`, 'float32');
    const irShape = layoutShape(q.shape, q.layout);
    const floor = ctx.em.node('Floor', [q.value], {}, mod || dtype !== 'float32' ? `${ctx.name}/floor` : ctx.name, irShape);
    if (mod) {
      const back = broadcasting(ctx, 'Mul', [{ ...q, value: floor }, fb], `${ctx.name}/mul`, 'float32');
      return broadcasting(ctx, 'Sub', [fa, back], ctx.name, 'float32');
    }
    return dtype === 'float32' ? { ...q, value: floor } : { ...q, value: cast(ctx, floor, dtype, ctx.name, irShape) };
  };
}

function squaredDifference(ctx: GraphOpContext): Lowered {
  const d = broadcasting(ctx, 'Sub', [ctx.input(0), ctx.input(1)], `${ctx.name}/sub`);
  return { ...d, value: ctx.em.node('Mul', [d.value, d.value], {}, ctx.name, layoutShape(d.shape, d.layout), dtypeOf(d)) };
}

/** ArgMax / ArgMin: ONNX's int64 result, cast to TF's output_type. */
function argOp(op: 'ArgMax' | 'ArgMin'): GraphOpLowering {
  return (ctx) => {
    const x = ctx.input(0);
    const rank = x.shape.length;
    let axis = ctx.requireConstant(1, 'dimension').toNumbers()[0];
    if (axis < 0) axis += rank;
    const out = ctx.dtype('output_type', 'int64');
    const shape = x.shape.filter((_, i) => i !== axis);
    const name = out === 'int64' ? ctx.name : `${ctx.name}/int64`;
    const v = ctx.em.node(op, [ctx.em.as(x, 'plain')], { axis: attr.int(axis), keepdims: attr.int(0) }, name, layoutShape(shape, 'plain'), 'int64');
    return { value: out === 'int64' ? v : cast(ctx, v, out, ctx.name, shape), layout: 'plain', shape };
  };
}

/** TopKV2: values and int32 indices along the last axis, sorted (ONNX TopK, largest first). */
function topKOp(ctx: GraphOpContext): Lowered[] {
  const x = ctx.input(0);
  const k = ctx.constant(1)?.toNumbers()[0];
  const shape: TfDim[] = [...x.shape.slice(0, -1), k ?? null];
  const irShape = layoutShape(shape, 'plain');
  const kValue = int64Input(ctx, 1, 'k');
  const kVector = ctx.constant(1) ? ctx.em.int64s(`${ctx.name}/k1`, [k!]) : ctx.em.node('Reshape', [kValue, ctx.em.int64s(`${ctx.name}/k_shape`, [1])], {}, `${ctx.name}/k1`, [1], 'int64');
  const node = ctx.em.graph.addNode({
    opType: 'TopK',
    name: ctx.em.graph.uniqueName(ctx.name),
    inputs: [ctx.em.as(x, 'plain'), kVector],
    outputs: [ctx.em.graph.uniqueName(`${ctx.name}/values`), ctx.em.graph.uniqueName(`${ctx.name}/indices64`)],
    attributes: { axis: attr.int(-1), largest: attr.int(1), sorted: attr.int(1) },
  });
  const [values, indices] = node.outputs;
  values.type = { dtype: dtypeOf(x), shape: irShape };
  indices.type = { dtype: 'int64', shape: irShape };
  return [
    { value: values, layout: 'plain', shape },
    { value: cast(ctx, indices, 'int32', `${ctx.name}/indices`, shape), layout: 'plain', shape },
  ];
}

function logSoftmax(ctx: GraphOpContext): Lowered {
  const x = ctx.input(0);
  return { ...x, value: ctx.em.node('LogSoftmax', [x.value], { axis: attr.int(layoutAxis(-1, x.shape.length, x.layout)) }, ctx.name, layoutShape(x.shape, x.layout)) };
}

/** DepthToSpace / SpaceToDepth: TF's channel order is ONNX's DCR. */
function depthSpace(toSpace: boolean): GraphOpLowering {
  return (ctx) => {
    if (ctx.str('data_format', 'NHWC') !== 'NHWC') throw ctx.error(`data_format ${ctx.str('data_format')} is not supported`, 'nibble reads NHWC graphs');
    const x = ctx.input(0);
    const b = ctx.int('block_size');
    const [n, h, w, c] = x.shape;
    const shape: TfDim[] = toSpace
      ? [n, known(h) ? h * b : null, known(w) ? w * b : null, known(c) ? c / (b * b) : null]
      : [n, known(h) ? h / b : null, known(w) ? w / b : null, known(c) ? c * b * b : null];
    const attributes: Record<string, Attribute> = toSpace ? { blocksize: attr.int(b), mode: attr.string('DCR') } : { blocksize: attr.int(b) };
    const value = ctx.em.node(toSpace ? 'DepthToSpace' : 'SpaceToDepth', [ctx.em.as(x, 'nchw')], attributes, ctx.name, layoutShape(shape, 'nchw'));
    return { value, layout: 'nchw', shape };
  };
}

/**
 * Conv2DBackpropInput (tf.conv2dTranspose): input_sizes, filter [kh, kw,
 * out, in], the gradient image. ONNX ConvTranspose with the forward
 * convolution's padding as pads and output_padding making the size exact.
 */
function conv2dBackpropInput(ctx: GraphOpContext): Lowered {
  if (ctx.str('data_format', 'NHWC') !== 'NHWC') throw ctx.error(`data_format ${ctx.str('data_format')} is not supported`, 'nibble reads NHWC graphs');
  const sizes = ctx.requireConstant(0, 'output size').toNumbers();
  const f = ctx.requireConstant(1, 'filter');
  const filter = f.dtype === 'float32' ? f : new Tensor('float32', f.shape, f.toFloat32());
  const x = ctx.input(2);
  const [kh, kw, outC] = filter.shape;
  const strides = ctx.ints('strides');
  const dil = ctx.ints('dilations');
  const s: [number, number] = strides.length === 4 ? [strides[1], strides[2]] : [1, 1];
  const d: [number, number] = dil.length === 4 ? [dil[1], dil[2]] : [1, 1];
  const out: [number, number] = [sizes[1], sizes[2]];
  const inHw = [x.shape[1], x.shape[2]];
  if (!known(inHw[0]) || !known(inHw[1])) throw ctx.error('its input image size is unknown', 'give the model input a fixed shape');
  const mode = ctx.str('padding', 'VALID');
  const pads = [0, 0, 0, 0];
  const outputPadding = [0, 0];
  for (let i = 0; i < 2; i++) {
    const k = i === 0 ? kh : kw;
    const keff = (k - 1) * d[i] + 1;
    let [before, after] = [0, 0];
    if (mode === 'SAME') [before, after] = samePadding(out[i], k, s[i], d[i]);
    else if (mode === 'EXPLICIT') {
      const e = ctx.ints('explicit_paddings');
      [before, after] = [e[2 + 2 * i], e[3 + 2 * i]];
    } else if (mode !== 'VALID') throw ctx.error(`padding ${mode} is not supported`);
    pads[i] = before;
    pads[i + 2] = after;
    outputPadding[i] = out[i] - (s[i] * ((inHw[i] as number) - 1) + keff - before - after);
    if (outputPadding[i] < 0) throw ctx.error(`output size ${out[i]} is smaller than the transposed convolution gives`);
  }
  // ONNX ConvTranspose weights: [in, out, kh, kw].
  const weight = transposeTensor(filter, [3, 2, 0, 1]);
  const attributes = {
    kernel_shape: attr.ints([kh, kw]), strides: attr.ints(s), dilations: attr.ints(d), pads: attr.ints(pads), output_padding: attr.ints(outputPadding),
  };
  const shape: TfDim[] = [x.shape[0], out[0], out[1], outC];
  const value = ctx.em.node('ConvTranspose', [ctx.em.as(x, 'nchw'), ctx.em.constant(ctx.node.input![1], weight)], attributes, ctx.name, layoutShape(shape, 'nchw'));
  return { value, layout: 'nchw', shape };
}

export const MATH_OPS: Readonly<Record<string, GraphOpLowering>> = {
  Equal: compare('Equal'),
  NotEqual: compare('Equal', true),
  Less: compare('Less'),
  LessEqual: compare('LessOrEqual'),
  Greater: compare('Greater'),
  GreaterEqual: compare('GreaterOrEqual'),
  LogicalAnd: logical('And'),
  LogicalOr: logical('Or'),
  LogicalNot: (ctx) => {
    const x = ctx.input(0);
    return { ...x, value: ctx.em.node('Not', [x.value], {}, ctx.name, layoutShape(x.shape, x.layout), 'bool') };
  },
  Select: selectOp,
  SelectV2: selectOp,
  Where: whereOp,
  FloorDiv: floorOp(false),
  FloorMod: floorOp(true),
  SquaredDifference: squaredDifference,
  ArgMax: argOp('ArgMax'),
  ArgMin: argOp('ArgMin'),
  TopKV2: topKOp,
  LogSoftmax: logSoftmax,
  DepthToSpace: depthSpace(true),
  SpaceToDepth: depthSpace(false),
  Conv2DBackpropInput: conv2dBackpropInput,
};
