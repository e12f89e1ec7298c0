import { attr, type Attribute, type Dim, type GraphBuilder, layoutAxis, layoutShape, NHWC_TO_NCHW, NibbleError, samePadding, Tensor, type Value, type ValueLayout } from '@nibble/ir';
import type { Lowered, TfDim } from './lowered';

/*
 * TensorFlow operators with NHWC semantics, built as ONNX nodes on NCHW
 * values. Both the layers and the graph converter lower through these, so
 * padding, layout and broadcasting rules live in one place.
 */

export type Padding = 'same' | 'valid' | { explicit: [number, number, number, number] };

const known = (d: TfDim | undefined): d is number => typeof d === 'number';

interface Window {
  kernel: [number, number];
  strides: [number, number];
  dilations: [number, number];
  padding: Padding;
}

/** ONNX padding attributes and the NHWC output shape of a 2-D window op. */
function windowAttrs(x: Lowered, w: Window, outChannels: TfDim): { attrs: Record<string, Attribute>; shape: TfDim[] } {
  const [n, h, wd] = x.shape;
  const spatial = [h, wd];
  const attrs: Record<string, Attribute> = { kernel_shape: attr.ints(w.kernel), strides: attr.ints(w.strides) };
  const out: TfDim[] = [null, null];
  if (w.padding === 'same' && !(known(h) && known(wd))) {
    // Unknown image size: ONNX's SAME_UPPER pads like TF (extra at the end) at run time.
    attrs.auto_pad = attr.string('SAME_UPPER');
    spatial.forEach((d, i) => (out[i] = known(d) ? Math.ceil(d / w.strides[i]) : null));
    return { attrs, shape: [n, out[0], out[1], outChannels] };
  }
  let pads = [0, 0, 0, 0];
  if (w.padding === 'same') {
    const [t, b] = samePadding(h as number, w.kernel[0], w.strides[0], w.dilations[0]);
    const [l, r] = samePadding(wd as number, w.kernel[1], w.strides[1], w.dilations[1]);
    pads = [t, l, b, r];
  } else if (w.padding !== 'valid') {
    pads = [...w.padding.explicit];
  }
  attrs.pads = attr.ints(pads);
  spatial.forEach((d, i) => {
    const eff = (w.kernel[i] - 1) * w.dilations[i] + 1;
    out[i] = known(d) ? Math.floor((d + pads[i] + pads[i + 2] - eff) / w.strides[i]) + 1 : null;
  });
  return { attrs, shape: [n, out[0], out[1], outChannels] };
}

export interface ConvSpec extends Window {
  /** ONNX layout [O, I/group, kh, kw]. */
  weight: Tensor;
  bias?: Tensor | null;
  group: number;
  weightName: string;
  biasName: string;
}

export function conv2d(em: GraphBuilder, x: Lowered, spec: ConvSpec, name: string): Lowered {
  const { attrs, shape } = windowAttrs(x, spec, spec.weight.shape[0]);
  attrs.dilations = attr.ints(spec.dilations);
  attrs.group = attr.int(spec.group);
  const w = em.constant(spec.weightName, spec.weight);
  const b = spec.bias ? em.constant(spec.biasName, spec.bias) : null;
  const value = em.node('Conv', [em.as(x, 'nchw'), w, b], attrs, name, layoutShape(shape, 'nchw'));
  return { value, layout: 'nchw', shape };
}

export interface ConvTransposeSpec {
  /** ONNX layout [I, O, kh, kw]. */
  weight: Tensor;
  bias?: Tensor | null;
  strides: [number, number];
  same: boolean;
  /** Output spatial size (TF computes the padding from it). */
  outSize: [number, number];
  weightName: string;
  biasName: string;
}

/** A transposed convolution with TF's padding: that of the forward convolution from the output back to the input. */
export function convTranspose(em: GraphBuilder, x: Lowered, spec: ConvTransposeSpec, name: string): Lowered {
  const [, kOut, kh, kw] = [0, spec.weight.shape[1], spec.weight.shape[2], spec.weight.shape[3]];
  const pads = [0, 0, 0, 0];
  const outputPadding = [0, 0];
  [[x.shape[1], kh, spec.strides[0], spec.outSize[0]], [x.shape[2], kw, spec.strides[1], spec.outSize[1]]].forEach(([inSize, k, s, out], axis) => {
    if (!known(inSize)) throw new NibbleError('E_UNSUPPORTED', `${name}: transposed convolution needs a known image size`, { node: name });
    const need = (inSize - 1) * (s as number) + (k as number) - (out as number);
    if (need >= 0) {
      pads[axis] = spec.same ? Math.floor(need / 2) : 0;
      pads[axis + 2] = need - pads[axis];
    } else {
      outputPadding[axis] = -need;
    }
  });
  const shape: TfDim[] = [x.shape[0], spec.outSize[0], spec.outSize[1], kOut];
  const w = em.constant(spec.weightName, spec.weight);
  const b = spec.bias ? em.constant(spec.biasName, spec.bias) : null;
  const value = em.node('ConvTranspose', [em.as(x, 'nchw'), w, b], {
    kernel_shape: attr.ints([kh, kw]),
    strides: attr.ints(spec.strides),
    pads: attr.ints(pads),
    output_padding: attr.ints(outputPadding),
  }, name, layoutShape(shape, 'nchw'));
  return { value, layout: 'nchw', shape };
}

export function pool2d(em: GraphBuilder, x: Lowered, kind: 'max' | 'avg', w: Omit<Window, 'dilations'>, name: string): Lowered {
  const { attrs, shape } = windowAttrs(x, { ...w, dilations: [1, 1] }, x.shape[3]);
  // TF averages over the pixels inside the image only.
  if (kind === 'avg') attrs.count_include_pad = attr.int(0);
  const value = em.node(kind === 'max' ? 'MaxPool' : 'AveragePool', [em.as(x, 'nchw')], attrs, name, layoutShape(shape, 'nchw'));
  return { value, layout: 'nchw', shape };
}

/** GlobalAveragePool / GlobalMaxPool over H and W; without keepdims the result is [N, C]. */
export function globalPool2d(em: GraphBuilder, x: Lowered, kind: 'max' | 'avg', keepdims: boolean, name: string): Lowered {
  const shape4: TfDim[] = [x.shape[0], 1, 1, x.shape[3]];
  const op = kind === 'max' ? 'GlobalMaxPool' : 'GlobalAveragePool';
  const pooled = em.node(op, [em.as(x, 'nchw')], {}, keepdims ? name : `${name}/pool`, layoutShape(shape4, 'nchw'));
  if (keepdims) return { value: pooled, layout: 'nchw', shape: shape4 };
  const shape: TfDim[] = [x.shape[0], x.shape[3]];
  return { value: em.node('Flatten', [pooled], { axis: attr.int(1) }, name, shape), layout: 'plain', shape };
}

/** NumPy broadcasting of TF shapes (unknown dims stay unknown unless the other side is > 1). */
export function broadcastShape(shapes: TfDim[][], name: string): TfDim[] {
  const rank = Math.max(...shapes.map((s) => s.length));
  const out: TfDim[] = [];
  for (let i = 0; i < rank; i++) {
    let d: TfDim = 1;
    for (const s of shapes) {
      const j = s.length - rank + i;
      const e: TfDim = j < 0 ? 1 : s[j];
      if (e === 1) continue;
      if (d === 1) d = e;
      else if (d === null) d = e ?? null;
      else if (e !== null && e !== d) throw new NibbleError('E_SHAPE', `${name}: shapes ${shapes.map((x) => `[${x.join(',')}]`).join(' and ')} do not broadcast`, { node: name });
    }
    out.push(d);
  }
  return out;
}

/**
 * Operands of a broadcasting op in one layout: when the result is rank 4
 * and an operand already is NCHW, all go NCHW (lower-rank operands padded
 * with leading 1s first, as broadcasting aligns trailing dims); else plain.
 */
export function harmonize(em: GraphBuilder, operands: Lowered[], outRank: number): { values: Value[]; layout: ValueLayout } {
  const nchw = outRank === 4 && operands.some((o) => o.layout === 'nchw' && !o.value.const);
  if (!nchw) return { values: operands.map((o) => em.as(o, 'plain')), layout: 'plain' };
  const values = operands.map((o) => {
    if (o.shape.length === 4) return em.as(o, 'nchw');
    const shape4: TfDim[] = [...new Array<number>(4 - o.shape.length).fill(1), ...o.shape];
    if (o.value.const) {
      const c = em.constant(`${o.value.name}/rank4`, o.value.const.reshape(shape4 as number[]));
      return em.as({ value: c, layout: 'plain', shape: shape4 }, 'nchw');
    }
    const target = shape4.map((d) => d ?? -1);
    const r = em.node('Reshape', [em.as(o, 'plain'), em.int64s(`${o.value.name}/rank4_shape`, target)], {}, `${o.value.name}/rank4`, shape4, o.value.type?.dtype);
    return em.as({ value: r, layout: 'plain', shape: shape4 }, 'nchw');
  });
  return { values, layout: 'nchw' };
}

/** An n-ary elementwise op (Add, Mul, Sub, Div, Max, Min, ...) as a chain of binary nodes. */
export function elementwise(em: GraphBuilder, op: string, inputs: Lowered[], name: string): Lowered {
  const shape = broadcastShape(inputs.map((i) => i.shape), name);
  const { values, layout } = harmonize(em, inputs, shape.length);
  const ir = layoutShape(shape, layout);
  let acc = values[0];
  for (let i = 1; i < values.length; i++) {
    acc = em.node(op, [acc, values[i]], {}, i === values.length - 1 ? name : `${name}/${i}`, ir, values[0].type?.dtype);
  }
  return { value: acc, layout, shape };
}

export function concat(em: GraphBuilder, inputs: Lowered[], axis: number, name: string): Lowered {
  const rank = inputs[0].shape.length;
  const a = axis < 0 ? axis + rank : axis;
  const layout: ValueLayout = rank === 4 && inputs.some((t) => t.layout === 'nchw' && !t.value.const) ? 'nchw' : 'plain';
  const shape = [...inputs[0].shape];
  shape[a] = inputs.reduce<TfDim>((s, t) => (s === null || t.shape[a] === null ? null : s + (t.shape[a] as number)), 0);
  const value = em.node('Concat', inputs.map((t) => em.as(t, layout)), { axis: attr.int(layoutAxis(a, rank, layout)) }, name, layoutShape(shape, layout), inputs[0].value.type?.dtype);
  return { value, layout, shape };
}

/** Pad with TF paddings [[before, after], ...] per TF axis. */
export function pad(em: GraphBuilder, x: Lowered, paddings: [number, number][], name: string, mode: 'constant' | 'reflect' = 'constant', value = 0): Lowered {
  const rank = x.shape.length;
  const order = x.layout === 'nchw' ? NHWC_TO_NCHW : [...Array(rank).keys()];
  const pads = [...order.map((a) => paddings[a][0]), ...order.map((a) => paddings[a][1])];
  const inputs = [x.value, em.int64s(`${name}/pads`, pads)];
  if (value !== 0) inputs.push(em.floatScalar(`${name}/value`, value));
  const shape = x.shape.map((d, i) => (known(d) ? d + paddings[i][0] + paddings[i][1] : null));
  const attributes: Record<string, Attribute> = mode === 'reflect' ? { mode: attr.string('reflect') } : {};
  return { value: em.node('Pad', inputs, attributes, name, layoutShape(shape, x.layout), x.value.type?.dtype), layout: x.layout, shape };
}

/** ReduceMean/ReduceSum/...: keeps NCHW with keepdims, else goes plain (transposing first if the kept axes would reorder). */
export function reduce(em: GraphBuilder, x: Lowered, op: string, axesIn: number[], keepdims: boolean, name: string): Lowered {
  const rank = x.shape.length;
  const axes = [...new Set(axesIn.map((a) => (a < 0 ? a + rank : a)))].sort();
  let src = x;
  if (!keepdims && x.layout === 'nchw') {
    const left = NHWC_TO_NCHW.filter((a) => !axes.includes(a));
    if (left.some((a, i) => i > 0 && a < left[i - 1])) src = { ...x, value: em.as(x, 'plain'), layout: 'plain' };
  }
  const shape = keepdims ? x.shape.map((d, i) => (axes.includes(i) ? 1 : d)) : x.shape.filter((_, i) => !axes.includes(i));
  const layout: ValueLayout = keepdims ? src.layout : 'plain';
  const irAxes = axes.map((a) => layoutAxis(a, rank, src.layout));
  const value = em.node(op, [src.value, em.int64s(`${name}/axes`, irAxes)], { keepdims: attr.int(keepdims ? 1 : 0) }, name, layoutShape(shape, layout));
  return { value, layout, shape };
}

/** Reshape to a TF shape (-1 allowed once; a leading unknown batch copies the input's). */
export function reshape(em: GraphBuilder, x: Lowered, target: number[], name: string): Lowered {
  const total = x.shape.every(known) ? (x.shape as number[]).reduce((a, b) => a * b, 1) : null;
  const shape: TfDim[] = target.map((d) => (d === -1 ? null : d));
  const rest = target.filter((d) => d !== -1 && d !== 0).reduce((a, b) => a * b, 1);
  const minus = target.indexOf(-1);
  if (minus >= 0 && total !== null) shape[minus] = total / rest;
  const value = em.node('Reshape', [em.as(x, 'plain'), em.int64s(`${name}/shape`, target)], {}, name, layoutShape(shape, 'plain'), x.value.type?.dtype);
  return { value, layout: 'plain', shape };
}

/** Flatten all but the batch dimension in TF (NHWC) element order. */
export function flatten(em: GraphBuilder, x: Lowered, name: string): Lowered {
  const rest = x.shape.slice(1);
  const shape: TfDim[] = [x.shape[0], rest.every(known) ? (rest as number[]).reduce((a, b) => a * b, 1) : null];
  const value = em.node('Flatten', [em.as(x, 'plain')], { axis: attr.int(1) }, name, shape as Dim[], x.value.type?.dtype);
  return { value, layout: 'plain', shape };
}

/** Inference batch normalization over the last (channel) axis. */
export function batchNorm(em: GraphBuilder, x: Lowered, p: { gamma: Tensor; beta: Tensor; mean: Tensor; variance: Tensor; epsilon: number }, name: string): Lowered {
  const layout: ValueLayout = x.shape.length === 4 ? 'nchw' : 'plain';
  if (x.shape.length !== 4 && x.shape.length !== 2) {
    throw new NibbleError('E_UNSUPPORTED', `${name}: batch normalization of a rank-${x.shape.length} tensor is not supported`, { node: name });
  }
  const inputs = [em.as(x, layout), em.constant(`${name}/gamma`, p.gamma), em.constant(`${name}/beta`, p.beta),
    em.constant(`${name}/moving_mean`, p.mean), em.constant(`${name}/moving_variance`, p.variance)];
  const value = em.node('BatchNormalization', inputs, { epsilon: attr.float(p.epsilon) }, name, layoutShape(x.shape, layout));
  return { value, layout, shape: x.shape };
}

/** x @ W + b over the last axis: Gemm for rank 2 (weights stored [out, in]), MatMul + Add above. */
export function dense(em: GraphBuilder, x: Lowered, kernel: Tensor, bias: Tensor | null, name: string, weightName: string, biasName: string): Lowered {
  const [inDim, units] = kernel.shape;
  const shape: TfDim[] = [...x.shape.slice(0, -1), units];
  const input = em.as(x, 'plain');
  if (x.shape.length === 2) {
    const w = em.constant(weightName, transpose2d(kernel));
    const inputs = bias ? [input, w, em.constant(biasName, bias)] : [input, w];
    return { value: em.node('Gemm', inputs, { transB: attr.int(1) }, name, shape), layout: 'plain', shape };
  }
  if (x.shape[x.shape.length - 1] !== inDim && known(x.shape[x.shape.length - 1])) {
    throw new NibbleError('E_SHAPE', `${name}: kernel [${kernel.shape.join(',')}] does not fit input [${x.shape.join(',')}]`, { node: name });
  }
  const mm = em.node('MatMul', [input, em.constant(weightName, kernel)], {}, bias ? `${name}/matmul` : name, shape);
  if (!bias) return { value: mm, layout: 'plain', shape };
  return { value: em.node('Add', [mm, em.constant(biasName, bias)], {}, name, shape), layout: 'plain', shape };
}

export function transpose2d(t: Tensor): Tensor {
  const [r, c] = t.shape;
  const src = t.data as Float32Array;
  const out = new Float32Array(r * c);
  for (let i = 0; i < r; i++) for (let j = 0; j < c; j++) out[j * r + i] = src[i * c + j];
  return new Tensor('float32', [c, r], out);
}

/** Resize the image of an NHWC tensor with one of TF's sampling conventions. */
export function resize(
  em: GraphBuilder,
  x: Lowered,
  size: [number, number],
  mode: 'nearest' | 'bilinear',
  convention: 'asymmetric' | 'align_corners' | 'half_pixel',
  name: string,
): Lowered {
  const shape: TfDim[] = [x.shape[0], size[0], size[1], x.shape[3]];
  const attributes: Record<string, Attribute> = {
    mode: attr.string(mode === 'bilinear' ? 'linear' : 'nearest'),
    coordinate_transformation_mode: attr.string(convention),
  };
  // TF's nearest rounds: floor for plain scaling, half up for the other two conventions.
  if (mode === 'nearest') attributes.nearest_mode = attr.string(convention === 'asymmetric' ? 'floor' : 'round_prefer_ceil');
  // Sizes of H and W only (Resize's axes): exact whatever the batch, where scales could round down.
  attributes.axes = attr.ints([2, 3]);
  const sizeInputs = [null, null, em.int64s(`${name}/sizes`, size)];
  const value = em.node('Resize', [em.as(x, 'nchw'), ...sizeInputs], attributes, name, layoutShape(shape, 'nchw'));
  return { value, layout: 'nchw', shape };
}

export function softmax(em: GraphBuilder, x: Lowered, axis: number, name: string): Lowered {
  const value = em.node('Softmax', [x.value], { axis: attr.int(layoutAxis(axis, x.shape.length, x.layout)) }, name, layoutShape(x.shape, x.layout));
  return { ...x, value };
}
