import type { Dim, Node } from '../graph';
import type { InferContext, KnownValue } from './registry';
import {
  type Dims, attrOrInputInts, defineOp, fmtDims, inDtype, inShape, isNum, knownInts, normalizeAxis, requireSameDtype, shapeError, typeOf,
  unifyDim, unknownDims,
} from './infer-util';

/* Ops that select or assemble parts of tensors: Concat, Split, Slice, Gather, Pad. */

defineOp('Concat', 'join inputs along axis', (node) => {
  const dtype = requireSameDtype(node, node.inputs.map((_, i) => i));
  const shapes = node.inputs.map((_, i) => inShape(node, i));
  const first = shapes.find((s) => s !== undefined);
  if (!first) return [typeOf(dtype, undefined)];
  const rank = first.length;
  const axis = normalizeAxis(node, node.getInt('axis', 0), rank);
  const out: Dims = [...first];
  let total: Dim = 0;
  for (const [i, s] of shapes.entries()) {
    if (!s) {
      total = null;
      continue;
    }
    if (s.length !== rank) throw shapeError(node, `input ${i} ${fmtDims(s)} has rank ${s.length}, input ranks must agree (${rank})`);
    s.forEach((d, j) => {
      if (j !== axis) out[j] = unifyDim(node, out[j], d, `input ${i} differs on axis ${j}, which is not the concat axis ${axis}`);
    });
    total = isNum(total) && isNum(s[axis]) ? total + s[axis] : null;
  }
  out[axis] = total;
  return [typeOf(dtype, out)];
}, (node, ctx) => {
  const parts = node.inputs.map((v) => ctx.known(v));
  if (parts.some((p) => !p || p.shape.length !== 1)) return [undefined];
  const data = parts.flatMap((p) => p!.data);
  return [{ dtype: parts[0]!.dtype, shape: [data.length], data }];
});

defineOp('Split', 'split along axis by sizes (attribute before opset 13, input since) or evenly', (node, ctx) => {
  const x = inShape(node, 0);
  const dtype = inDtype(node, 0);
  const n = node.outputs.length;
  if (!x) return node.outputs.map(() => typeOf(dtype, undefined));
  const axis = normalizeAxis(node, node.getInt('axis', 0), x.length);
  const d = x[axis];
  const sizes = attrOrInputInts(node, ctx, 'split', 1);
  let parts: Dim[];
  if (sizes) {
    if (sizes.length !== n) throw shapeError(node, `split has ${sizes.length} sizes for ${n} outputs`);
    const sum = sizes.reduce((a, b) => a + b, 0);
    if (isNum(d) && sum !== d) throw shapeError(node, `split sizes [${sizes.join(',')}] add up to ${sum}, axis ${axis} has ${d}`);
    parts = sizes;
  } else if (sizes === undefined || !isNum(d)) {
    parts = unknownDims(n);
  } else if (node.attributes.has('num_outputs')) {
    // Opset 18: the last chunk may be smaller.
    const chunk = Math.ceil(d / n);
    const last = d - chunk * (n - 1);
    parts = Array.from({ length: n }, (_, i) => (i < n - 1 ? chunk : last));
    if (last < 0) throw shapeError(node, `cannot split extent ${d} into ${n} chunks`);
  } else {
    if (d % n !== 0) throw shapeError(node, `axis ${axis} of extent ${d} does not split evenly into ${n} outputs`);
    parts = unknownDims(n).map(() => d / n);
  }
  return parts.map((p) => typeOf(dtype, x.map((e, j) => (j === axis ? p : e))));
});

const BIG = 2 ** 52;

/** [start, count, step] of one sliced axis of numeric extent d (ONNX clamping rules). */
function sliceAxis(node: Node, d: number, s: number, e: number, step: number): [number, number, number] {
  if (step === 0) throw shapeError(node, 'a slice step is 0');
  const fix = (v: number, lo: number, hi: number): number => Math.min(Math.max(v < 0 ? v + d : v, lo), hi);
  if (step > 0) {
    const start = fix(s, 0, d);
    return [start, Math.max(0, Math.ceil((fix(e, 0, d) - start) / step)), step];
  }
  const start = fix(s, 0, d - 1);
  return [start, Math.max(0, Math.ceil((start - fix(e, -1, d - 1)) / -step)), step];
}

interface SliceSpec { starts: number[]; ends: number[]; axes: number[]; steps: number[] }

function sliceSpec(node: Node, ctx: InferContext, rank: number): SliceSpec | undefined {
  const starts = attrOrInputInts(node, ctx, 'starts', 1);
  const ends = attrOrInputInts(node, ctx, 'ends', 2);
  const axesRaw = attrOrInputInts(node, ctx, 'axes', 3);
  const steps = node.inputs[4] ? knownInts(ctx, node.inputs[4]) : null;
  if (!starts || !ends || axesRaw === undefined || steps === undefined) return undefined;
  const axes = (axesRaw ?? starts.map((_, i) => i)).map((a) => normalizeAxis(node, a, rank, 'slice axis'));
  if (ends.length !== starts.length || axes.length !== starts.length || (steps && steps.length !== starts.length)) {
    throw shapeError(node, 'starts, ends, axes and steps differ in length');
  }
  return { starts, ends, axes, steps: steps ?? starts.map(() => 1) };
}

defineOp('Slice', 'strided slice (attributes before opset 10, inputs since)', (node, ctx) => {
  const x = inShape(node, 0);
  if (!x) return [typeOf(inDtype(node, 0), undefined)];
  const spec = sliceSpec(node, ctx, x.length);
  if (!spec) return [typeOf(inDtype(node, 0), unknownDims(x.length))];
  const out: Dims = [...x];
  spec.axes.forEach((a, i) => {
    const d = x[a];
    const whole = spec.steps[i] === 1 && (spec.starts[i] === 0 || spec.starts[i] <= -BIG) && spec.ends[i] >= BIG;
    out[a] = isNum(d) ? sliceAxis(node, d, spec.starts[i], spec.ends[i], spec.steps[i])[1] : whole ? d : null;
  });
  return [typeOf(inDtype(node, 0), out)];
}, (node, ctx) => {
  const k = ctx.known(node.inputs[0]);
  if (!k || k.shape.length !== 1) return [undefined];
  const spec = sliceSpec(node, ctx, 1);
  if (!spec) return [undefined];
  const [start, count, step] = spec.axes.length ? sliceAxis(node, k.data.length, spec.starts[0], spec.ends[0], spec.steps[0]) : [0, k.data.length, 1];
  const data = Array.from({ length: count }, (_, i) => k.data[start + i * step]);
  return [{ dtype: k.dtype, shape: [count], data }];
});

defineOp('Gather', 'take entries along axis at the given indices', (node) => {
  const x = inShape(node, 0);
  const idx = inShape(node, 1);
  if (!x || !idx) return [typeOf(inDtype(node, 0), undefined)];
  const axis = normalizeAxis(node, node.getInt('axis', 0), x.length);
  return [typeOf(inDtype(node, 0), [...x.slice(0, axis), ...idx, ...x.slice(axis + 1)])];
}, (node, ctx): (KnownValue | undefined)[] => {
  const k = ctx.known(node.inputs[0]);
  const idx = ctx.known(node.inputs[1]);
  if (!k || !idx || k.shape.length !== 1 || !idx.data.every(isNum)) return [undefined];
  const n = k.data.length;
  const data: Dim[] = [];
  for (const i of idx.data as number[]) {
    if (i < -n || i >= n) throw shapeError(node, `index ${i} is out of range for extent ${n}`);
    data.push(k.data[i < 0 ? i + n : i]);
  }
  return [{ dtype: k.dtype, shape: [...idx.shape], data }];
});

defineOp('Pad', 'pad each axis by [begins..., ends...] (attribute before opset 11, input since)', (node, ctx) => {
  const x = inShape(node, 0);
  const pads = node.attributes.has('paddings') ? node.getInts('paddings', []) : attrOrInputInts(node, ctx, 'pads', 1);
  if (!x) return [typeOf(inDtype(node, 0), undefined)];
  if (!pads) return [typeOf(inDtype(node, 0), unknownDims(x.length))];
  const axesRaw = node.inputs[3] ? knownInts(ctx, node.inputs[3]) : x.map((_, i) => i);
  if (!axesRaw) return [typeOf(inDtype(node, 0), unknownDims(x.length))];
  const axes = axesRaw.map((a) => normalizeAxis(node, a, x.length, 'pad axis'));
  if (pads.length !== 2 * axes.length) throw shapeError(node, `pads has ${pads.length} entries for ${axes.length} axes (needs ${2 * axes.length})`);
  const out: Dims = [...x];
  axes.forEach((a, i) => {
    const d = x[a];
    const ext = pads[i] + pads[i + axes.length];
    if (!isNum(d)) out[a] = ext === 0 ? d : null;
    else if (d + ext < 0) throw shapeError(node, `axis ${a} of extent ${d} padded by ${ext} would be negative`);
    else out[a] = d + ext;
  });
  return [typeOf(inDtype(node, 0), out)];
});
