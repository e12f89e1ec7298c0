import type { Node } from '@nibble/ir';
import { type CompileContext, type PlannedValue, sizeOf } from '../plan';
import { mapReal } from './real';
import { composeTables, defineTable, elementwiseOperands, type Operand } from './table';

/**
 * The float64 ops of the wasm kernel channelOpReal (assembly/lookup.ts), x
 * the value and a, b the op's per-channel constants; `rising`: whether the
 * op is non-decreasing in x for these constants. A value that is a function
 * of an int32 or float32 is quantized through thresholds, which hold only
 * for non-decreasing functions of it.
 */
export const REAL_OP = {
  add: { f: (x: number, a: number) => x + a, rising: () => true },
  mul: { f: (x: number, a: number) => x * a, rising: (a: number) => a >= 0 },
  sub: { f: (x: number, a: number) => x - a, rising: () => true },
  rsub: { f: (x: number, a: number) => a - x, rising: () => false },
  div: { f: (x: number, a: number) => x / a, rising: (a: number) => a > 0 },
  rdiv: { f: (x: number, a: number) => a / x, rising: () => false },
  hardSigmoid: { f: (x: number, a: number, b: number) => Math.max(0, Math.min(1, a * x + b)), rising: (a: number) => a >= 0 },
  // The host's Math.exp, which may differ from AssemblyScript's in a float64's last bit (as Softmax's).
  sigmoid: { f: (x: number) => 1 / (1 + Math.exp(-x)), rising: () => true },
};

export type RealOp = (typeof REAL_OP)[keyof typeof REAL_OP];

/** How an op runs on one real value and per-channel constants: the channelOpReal op and its a, b operands. */
export type RealForm = (ops: Operand[], runtime: number) => { op: RealOp; a: Float64Array; b?: Float64Array } | undefined;

/**
 * An elementwise op, decided as the wasm plan's emitElementwise: on one
 * codes value (or tables of it) and constants, a table (table.ts), no step;
 * on one real value and constants, channelOpReal's float64 op after the
 * value (rounded to float32 where the value holds float32 numbers), still a
 * function of the same integers (real.ts). `f32op` gets float32 operands in
 * input order and returns the float32 result.
 */
export function emitElementwise(ctx: CompileContext, node: Node, f32op: (args: number[]) => number, real: RealForm): PlannedValue {
  const { shape, ops } = elementwiseOperands(ctx, node);
  const name = node.outputs[0].name;
  const table = composeTables(shape, ops, f32op);
  if (table) return defineTable(ctx, name, shape, table);
  const runtime = ops.map((o, i) => (o.kind === 'constant' ? -1 : i)).filter((i) => i >= 0);
  if (runtime.length !== 1) return ctx.fail(node, 'only one runtime operand (or several functions of one codes value) is supported; the others must be constants');
  const form = real(ops, runtime[0]);
  if (!form) return ctx.fail(node, 'this form of the op is not supported on float values');
  const o = ops[runtime[0]];
  // A table whose constants do not line up is read as its float32 values.
  const x = o.kind === 'real' ? o.value : ctx.values.get(node.inputs[runtime[0]]!.name)!;
  const C = shape[0] ?? 1;
  const n = sizeOf(x.shape);
  const per = (v: Float64Array | undefined): Float64Array => Float64Array.from({ length: C }, (_, c) => (v ? v[v.length === 1 ? 0 : c] : 0));
  const a = per(form.a);
  const b = per(form.b);
  if (x.kind !== 'real') return ctx.fail(node, 'its codes operand does not line up with the constants');
  if (x.channels !== 1 && x.channels !== C) return ctx.fail(node, `its input has ${x.channels} value channels, not 1 or ${C}`);
  if ((x.base === 'i32' || x.base === 'f32' || x.base === 'f64') && !a.every((v) => form.op.rising(v))) {
    return ctx.fail(node, 'a decreasing function of an int32, float32 or float64 value has no threshold table', 'WGSL has no float64: run this model with --backend wasm');
  }
  const round = x.f32 ? Math.fround : (v: number): number => v;
  return ctx.define(name, { ...mapReal(x, (v, c) => round(form.op.f(v, a[c], b[c])), { channels: C, inner: n / C }), buffer: x.buffer });
}

/** The constant operand's values (the one not at `runtime`) of a binary op. */
export const constantOf = (ops: Operand[], runtime: number): Float64Array | undefined => {
  const o = ops[1 - runtime];
  return o && o.kind === 'constant' ? o.values : undefined;
};
