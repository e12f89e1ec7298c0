import { type DType, DTYPES } from '../dtype';
import { NibbleError } from '../errors';
import type { Dim, Node, Value, ValueType } from '../graph';
import { createInferContext } from './context';
import { type InferContext, type KnownValue, type OpSchema, registerOp } from './registry';

/*
 * Shared pieces of the per-op inference functions. Dims follow the IR: a
 * number, a symbolic name, or null when unknown. A function returns undefined
 * where it cannot know something and throws E_SHAPE (via shapeError) only
 * when the known facts contradict each other.
 */

export type Dims = Dim[];
type Infer = (node: Node, ctx: InferContext) => (ValueType | undefined)[];
type InferValues = (node: Node, ctx: InferContext) => (KnownValue | undefined)[];

/** Register one op whose inference always sees a context. */
export function defineOp(opType: string, summary: string, infer: Infer, inferValues?: InferValues, domain = ''): void {
  const schema: OpSchema = {
    opType,
    domain,
    summary,
    inferTypes: (node, ctx) => infer(node, ctx ?? createInferContext()),
  };
  if (inferValues) schema.inferValues = inferValues;
  registerOp(schema);
}

export function shapeError(node: Node, message: string, hint?: string): NibbleError {
  return new NibbleError('E_SHAPE', `node '${node.name}' (${node.opType}): ${message}`, {
    node: node.name,
    op: node.opType,
    hint: hint ?? 'the model is inconsistent: check the producer of this input, or the attributes of this node',
  });
}

export const isNum = (d: Dim | undefined): d is number => typeof d === 'number';

export function fmtDims(d: readonly Dim[] | undefined): string {
  return d ? `[${d.map((x) => (x === null ? '?' : x)).join(',')}]` : '[*]';
}

export function inValue(node: Node, i: number): Value | null {
  return node.inputs[i] ?? null;
}

export function inType(node: Node, i: number): ValueType | undefined {
  return node.inputs[i]?.type;
}

export function inShape(node: Node, i: number): Dims | undefined {
  return node.inputs[i]?.type?.shape;
}

export function inDtype(node: Node, i: number): DType | undefined {
  return node.inputs[i]?.type?.dtype;
}

export function typeOf(dtype: DType | undefined, shape: Dims | undefined): ValueType | undefined {
  return dtype ? (shape ? { dtype, shape } : { dtype }) : undefined;
}

export function unknownDims(rank: number): Dims {
  return Array.from({ length: rank }, () => null);
}

/** Product of the dims when all are numbers. */
export function dimsProduct(d: readonly Dim[]): number | undefined {
  let n = 1;
  for (const x of d) {
    if (!isNum(x)) return undefined;
    n *= x;
  }
  return n;
}

/** An axis in [-rank, rank) made non-negative; E_SHAPE outside. */
export function normalizeAxis(node: Node, axis: number, rank: number, what = 'axis'): number {
  if (!Number.isInteger(axis) || axis < -rank || axis >= rank) {
    throw shapeError(node, `${what} ${axis} is out of range for rank ${rank}`);
  }
  return axis < 0 ? axis + rank : axis;
}

/** Combine two dims that must describe the same extent. */
export function unifyDim(node: Node, a: Dim, b: Dim, what: string): Dim {
  if (isNum(a) && isNum(b) && a !== b) throw shapeError(node, `${what}: ${a} vs ${b}`);
  if (isNum(a)) return a;
  if (isNum(b)) return b;
  return a ?? b;
}

function broadcastDim(node: Node, a: Dim, b: Dim, shapes: readonly Dims[]): Dim {
  if (a === 1) return b;
  if (b === 1) return a;
  if (isNum(a) && isNum(b)) {
    if (a !== b) throw shapeError(node, `inputs ${shapes.map(fmtDims).join(' and ')} do not broadcast (${a} vs ${b})`);
    return a;
  }
  // A number other than 1 wins: the other side must be that number or 1.
  if (isNum(a)) return a;
  if (isNum(b)) return b;
  return a !== null && a === b ? a : null;
}

/** Multidirectional (numpy) broadcasting; undefined when any rank is unknown. */
export function broadcastShapes(node: Node, shapes: readonly (Dims | undefined)[]): Dims | undefined {
  if (shapes.some((s) => s === undefined)) return undefined;
  const known = shapes as Dims[];
  const rank = Math.max(0, ...known.map((s) => s.length));
  const out: Dims = [];
  for (let i = 0; i < rank; i++) {
    let d: Dim = 1;
    for (const s of known) {
      const j = s.length - rank + i;
      if (j >= 0) d = broadcastDim(node, d, s[j], known);
    }
    out.push(d);
  }
  return out;
}

/** Numbers of a statically known int tensor; undefined when unknown or symbolic. */
export function knownInts(ctx: InferContext, v: Value | null | undefined): number[] | undefined {
  const k = ctx.known(v);
  if (!k || !k.data.every(isNum)) return undefined;
  return k.data as number[];
}

/**
 * A list given as an attribute (older opsets) or as an input (newer ones).
 * Either form is read whatever the opset: a valid model carries only the one
 * its opset defines. Returns null when absent, undefined when present but not
 * known statically.
 */
export function attrOrInputInts(node: Node, ctx: InferContext, attrName: string, input: number): number[] | null | undefined {
  const a = node.attributes.get(attrName);
  if (a && a.type === 'ints') return a.value;
  if (a && a.type === 'int') return [a.value];
  const v = node.inputs[input];
  if (!v) return null;
  return knownInts(ctx, v);
}

/** The output's dtype is that of input `i` and its shape too. */
export function sameAs(node: Node, i = 0): ValueType | undefined {
  const t = inType(node, i);
  return t && typeOf(t.dtype, t.shape && [...t.shape]);
}

export function requireSameDtype(node: Node, inputs: number[]): DType | undefined {
  let dt: DType | undefined;
  for (const i of inputs) {
    const d = inDtype(node, i);
    if (!d) continue;
    if (dt && d !== dt) throw shapeError(node, `input ${i} is ${d} but an earlier input is ${dt}`, 'ONNX requires these inputs to share one element type; insert a Cast');
    dt ??= d;
  }
  return dt;
}

export const isIntDtype = (d: DType): boolean => d !== 'float32' && d !== 'float16' && d !== 'float64' && d !== 'string';

/** The dtype of an ONNX type code, or undefined for codes nibble has no dtype for (bfloat16, float8...). */
export function dtypeOfCode(code: number): DType | undefined {
  return (Object.keys(DTYPES) as DType[]).find((d) => DTYPES[d].onnx === code);
}
