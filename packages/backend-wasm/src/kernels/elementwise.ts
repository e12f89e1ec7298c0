import type { Node } from '@nibble/ir';
import { type CompileContext, type PlannedValue } from '../plan';
import { composeTables, defineTable, operand, type Operand, runtimeShape } from './table';

/** Op codes of assembly/lookup.ts channelOpReal. */
export const OP = { ADD: 0, MUL: 1, SUB: 2, RSUB: 3, DIV: 4, RDIV: 5, CLIP: 6, HARD_SIGMOID: 7, SIGMOID: 8 } as const;

/** How an op runs on one real (float64) value and per-channel constants: channelOpReal's op code and its a, b operands. */
export type RealForm = (ops: Operand[], runtime: number) => { op: number; a: Float64Array; b?: Float64Array } | undefined;

/**
 * An elementwise op whose runtime operands are one codes value (or tables of it) and whose
 * other operands are constants: a table (table.ts), no step. On one real value with constants:
 * channelOpReal in float64 (float32 results where the value holds float32 numbers). `f32op`
 * gets float32 operands in input order and returns the float32 result.
 */
export function emitElementwise(ctx: CompileContext, node: Node, f32op: (args: number[]) => number, real: RealForm): PlannedValue {
  const shape = runtimeShape(ctx, node);
  const count = node.inputs.filter((v) => v).length;
  const ops = Array.from({ length: count }, (_, i) => operand(ctx, node, i, shape));
  const name = node.outputs[0].name;
  const table = composeTables(shape, ops, f32op);
  if (table) return defineTable(ctx, name, shape, table);
  const runtime = ops.map((o, i) => (o.kind === 'constant' ? -1 : i)).filter((i) => i >= 0);
  if (runtime.length !== 1) return ctx.fail(node, 'only one runtime operand (or several functions of one codes value) is supported; the others must be constants');
  const form = real(ops, runtime[0]);
  if (!form) return ctx.fail(node, 'this form of the op is not supported on float values');
  // The runtime operand as float64 values (a table of another value's codes is looked up).
  const x = ctx.input(node, runtime[0]);
  const C = shape[0] ?? 1;
  const per = (v: Float64Array | undefined): Float64Array => {
    const out = new Float64Array(C);
    for (let c = 0; c < C; c++) out[c] = v ? v[v.length === 1 ? 0 : c] : 0;
    return out;
  };
  const n = x.shape.reduce((a, b) => a * b, 1);
  const y = ctx.define(name, { kind: 'real', shape: x.shape, channels: C, inner: n / C, f32: x.f32 });
  const pA = ctx.constant(per(form.a));
  const pB = ctx.constant(per(form.b));
  const k = ctx.k;
  const f32 = x.f32 ? 1 : 0;
  ctx.emit(node, 'channelOpReal', () => k.channelOpReal(x.buffer.offset, y.buffer.offset, C, n / C, form.op, pA, pB, f32));
  return y;
}

/** The constant operand's values (the one not at `runtime`) of a binary op. */
export const constantOf = (ops: Operand[], runtime: number): Float64Array | undefined => {
  const o = ops[1 - runtime];
  return o && o.kind === 'constant' ? o.values : undefined;
};
