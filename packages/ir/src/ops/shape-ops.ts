import type { Dim, Node } from '../graph';
import type { InferContext, KnownValue } from './registry';
import {
  type Dims, attrOrInputInts, broadcastShapes, defineOp, dimsProduct, fmtDims, inDtype, inShape, isNum, knownInts, normalizeAxis, sameAs,
  shapeError, typeOf, unknownDims,
} from './infer-util';

/* Ops that rearrange a tensor's shape without computing on its elements, and Shape/Size. */

/** Product of dims, keeping a lone symbol (e.g. [N] or [N, 1]) as itself. */
function foldDims(d: Dims): Dim {
  const p = dimsProduct(d);
  if (p !== undefined) return p;
  const rest = d.filter((x) => x !== 1);
  return rest.length === 1 ? rest[0] : null;
}

/** The value of Reshape's -1 entry, cancelling equal dims (numbers or symbols) on both sides. */
function inferMinusOne(node: Node, x: Dims, others: Dims): Dim {
  const inRest = [...x];
  const outRest: Dims = [];
  for (const d of others) {
    const j = d === null ? -1 : inRest.indexOf(d);
    if (j >= 0) inRest.splice(j, 1);
    else outRest.push(d);
  }
  const pin = dimsProduct(inRest);
  const pout = dimsProduct(outRest);
  if (pout === undefined) return null;
  if (pin !== undefined) {
    if (pout === 0 || pin % pout !== 0) throw shapeError(node, `cannot reshape ${fmtDims(x)} into ${fmtDims([...others, -1])}: the element count does not divide`);
    return pin / pout;
  }
  const symbols = inRest.filter((d) => !isNum(d));
  const numbers = inRest.filter(isNum);
  return symbols.length === 1 && symbols[0] !== null && numbers.reduce((a, b) => a * b, 1) === pout ? symbols[0] : null;
}

function reshapeShape(node: Node, ctx: InferContext): Dims | undefined {
  const x = inShape(node, 0);
  const attrShape = node.attributes.get('shape');
  const target: Dims | undefined = attrShape?.type === 'ints' ? attrShape.value : ctx.known(node.inputs[1])?.data;
  if (!target) {
    const len = inShape(node, 1)?.[0];
    return isNum(len) ? unknownDims(len) : undefined;
  }
  const allowZero = node.getInt('allowzero', 0) !== 0;
  if (target.filter((d) => d === -1).length > 1) throw shapeError(node, `shape ${fmtDims(target)} has more than one -1`);
  const out = target.map((d, i): Dim => {
    if (d !== 0 || allowZero) return d;
    if (x && i >= x.length) throw shapeError(node, `shape entry ${i} is 0 (copy) but the input ${fmtDims(x)} has no axis ${i}`);
    return x ? x[i] : null;
  });
  const m = out.indexOf(-1);
  if (m >= 0) out[m] = x ? inferMinusOne(node, x, out.filter((_, i) => i !== m)) : null;
  const pin = x && dimsProduct(x);
  const pout = dimsProduct(out);
  if (pin !== undefined && pin !== null && pout !== undefined && pin !== pout) {
    throw shapeError(node, `cannot reshape ${fmtDims(x)} (${pin} elements) into ${fmtDims(out)} (${pout} elements)`);
  }
  return out;
}

/** Known data carried through a reshape-like op. */
function reshapeValue(node: Node, ctx: InferContext): (KnownValue | undefined)[] {
  const k = ctx.known(node.inputs[0]);
  const s = node.outputs[0].type?.shape;
  return [k && s && s.every(isNum) ? { dtype: k.dtype, shape: s as number[], data: k.data } : undefined];
}

defineOp('Reshape', 'new shape from a constant (0 copies a dim, -1 is inferred)', (node, ctx) => [
  typeOf(inDtype(node, 0), reshapeShape(node, ctx)),
], reshapeValue);

defineOp('Flatten', 'to 2-D: [prod(dims before axis), prod(dims from axis)]', (node) => {
  const x = inShape(node, 0);
  if (!x) return [typeOf(inDtype(node, 0), undefined)];
  const a = node.getInt('axis', 1);
  if (a < -x.length || a > x.length) throw shapeError(node, `axis ${a} is out of range for rank ${x.length}`);
  const axis = a < 0 ? a + x.length : a;
  return [typeOf(inDtype(node, 0), [foldDims(x.slice(0, axis)), foldDims(x.slice(axis))])];
}, reshapeValue);

defineOp('Identity', 'the input unchanged', (node) => [sameAs(node)], (node, ctx) => [ctx.known(node.inputs[0])]);

defineOp('Transpose', 'permute axes (default: reverse them)', (node) => {
  const x = inShape(node, 0);
  if (!x) return [typeOf(inDtype(node, 0), undefined)];
  const perm = node.getInts('perm', x.map((_, i) => x.length - 1 - i));
  const ok = perm.length === x.length && [...perm].sort((a, b) => a - b).every((p, i) => p === i);
  if (!ok) throw shapeError(node, `perm [${perm.join(',')}] is not a permutation of the ${x.length} input axes`);
  return [typeOf(inDtype(node, 0), perm.map((p) => x[p]))];
});

function squeezeShape(node: Node, ctx: InferContext): Dims | undefined {
  const x = inShape(node, 0);
  const axes = attrOrInputInts(node, ctx, 'axes', 1);
  if (!x || axes === undefined) return undefined;
  if (axes === null) return x.some((d) => !isNum(d)) ? undefined : x.filter((d) => d !== 1);
  const set = new Set(axes.map((a) => normalizeAxis(node, a, x.length, 'squeeze axis')));
  for (const i of set) if (isNum(x[i]) && x[i] !== 1) throw shapeError(node, `cannot squeeze axis ${i} of extent ${x[i]} in ${fmtDims(x)}`);
  return x.filter((_, i) => !set.has(i));
}

function unsqueezeShape(node: Node, ctx: InferContext): Dims | undefined {
  const x = inShape(node, 0);
  const axes = attrOrInputInts(node, ctx, 'axes', 1);
  if (!x || !axes) return undefined;
  const rank = x.length + axes.length;
  const set = new Set(axes.map((a) => normalizeAxis(node, a, rank, 'unsqueeze axis')));
  if (set.size !== axes.length) throw shapeError(node, `axes [${axes.join(',')}] repeat an axis`);
  const out: Dims = [];
  let j = 0;
  for (let i = 0; i < rank; i++) out.push(set.has(i) ? 1 : x[j++]);
  return out;
}

defineOp('Squeeze', 'drop axes of extent 1 (attribute axes before opset 13, input since)', (node, ctx) => [
  typeOf(inDtype(node, 0), squeezeShape(node, ctx)),
], reshapeValue);

defineOp('Unsqueeze', 'insert axes of extent 1 (attribute axes before opset 13, input since)', (node, ctx) => [
  typeOf(inDtype(node, 0), unsqueezeShape(node, ctx)),
], reshapeValue);

function shapeRange(node: Node, rank: number): [number, number] {
  const clamp = (v: number): number => Math.min(Math.max(v < 0 ? v + rank : v, 0), rank);
  return [clamp(node.getInt('start', 0)), clamp(node.getInt('end', rank))];
}

defineOp('Shape', 'the input shape as int64 (start/end since opset 15)', (node) => {
  const x = inShape(node, 0);
  if (!x) return [typeOf('int64', [null])];
  const [s, e] = shapeRange(node, x.length);
  return [typeOf('int64', [Math.max(e - s, 0)])];
}, (node) => {
  const x = inShape(node, 0);
  if (!x) return [undefined];
  const [s, e] = shapeRange(node, x.length);
  const data = x.slice(s, e);
  return [{ dtype: 'int64', shape: [data.length], data }];
});

defineOp('Size', 'the element count as an int64 scalar', () => [typeOf('int64', [])], (node) => {
  const x = inShape(node, 0);
  const n = x && dimsProduct(x);
  return [n === undefined || n === null ? undefined : { dtype: 'int64', shape: [], data: [n] }];
});

defineOp('Expand', 'broadcast to a shape given as input', (node, ctx) => {
  const x = inShape(node, 0);
  const target = ctx.known(node.inputs[1])?.data;
  if (target) return [typeOf(inDtype(node, 0), broadcastShapes(node, [x, target]))];
  const len = inShape(node, 1)?.[0];
  return [typeOf(inDtype(node, 0), x && isNum(len) ? unknownDims(Math.max(len, x.length)) : undefined)];
});

defineOp('Tile', 'repeat the input along each axis', (node, ctx) => {
  const x = inShape(node, 0);
  const reps = knownInts(ctx, node.inputs[1]);
  if (!x) return [typeOf(inDtype(node, 0), undefined)];
  if (!reps) return [typeOf(inDtype(node, 0), unknownDims(x.length))];
  if (reps.length !== x.length) throw shapeError(node, `repeats has ${reps.length} entries for rank ${x.length}`);
  return [typeOf(inDtype(node, 0), x.map((d, i) => (reps[i] === 1 ? d : isNum(d) ? d * reps[i] : null)))];
});

function blockDims(node: Node, toSpace: boolean): Dims | undefined {
  const x = inShape(node, 0);
  const b = node.getInt('blocksize', 0);
  if (!(b >= 1)) throw shapeError(node, `blocksize ${b} must be >= 1`);
  if (!x) return undefined;
  if (x.length !== 4) throw shapeError(node, `input ${fmtDims(x)} must be 4-D [N, C, H, W]`);
  const [n, c, h, w] = x;
  const div = (d: Dim, k: number, what: string): Dim => {
    if (!isNum(d)) return null;
    if (d % k !== 0) throw shapeError(node, `${what} ${d} is not divisible by ${k} (blocksize ${b})`);
    return d / k;
  };
  const mul = (d: Dim, k: number): Dim => (isNum(d) ? d * k : null);
  return toSpace ? [n, div(c, b * b, 'channel count'), mul(h, b), mul(w, b)] : [n, mul(c, b * b), div(h, b, 'height'), div(w, b, 'width')];
}

defineOp('DepthToSpace', 'move channel blocks into spatial blocks', (node) => [typeOf(inDtype(node, 0), blockDims(node, true))]);
defineOp('SpaceToDepth', 'move spatial blocks into channels', (node) => [typeOf(inDtype(node, 0), blockDims(node, false))]);
