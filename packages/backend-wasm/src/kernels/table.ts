import type { Node } from '@nibble/ir';
import { channelConstant, composeCodeTables, dequantizedCodeValues } from '@nibble/quant';
import { type CodeTable, type CompileContext, type PlannedValue, sizeOf } from '../plan';

/*
 * Elementwise ops on codes as tables. A value computed elementwise from one
 * codes value and constants (PP-OCR's MobileOne rescale Mul/Add, hard-swish
 * as Add, Clip, Mul, Div, HardSigmoid, Sigmoid) is a function of the code
 * (and of the channel, where the codes or a constant are per channel): at
 * most 256 values per channel, computed here on the host the way
 * onnxruntime's simulation computes them, DequantizeLinear and then each op
 * in float32 (Math.fround after every operation: a float32 op computed in
 * float64 and rounded once is the float32 op exactly for + - * /). Nothing
 * runs until a reader needs the values: a QuantizeLinear turns the table
 * into a table of codes (one mapCodes step, 16 codes per swizzle at 4
 * bits), any other reader gets them looked up into float64. The tables
 * themselves are @nibble/quant's (code-tables.ts), shared with the WebGPU
 * backend.
 */

export { channelConstant, quantizeF32 } from '@nibble/quant';

/** DequantizeLinear of codes x as onnxruntime computes it: float32 (q - zp) * s, per channel of x. */
export function codesTable(x: PlannedValue): CodeTable {
  return { source: x, ...dequantizedCodeValues({ channels: x.channels, scale: x.scale!, zeroPoint: x.zeroPoint! }) };
}

export type Operand = { kind: 'table'; table: CodeTable } | { kind: 'constant'; values: Float64Array } | { kind: 'real'; value: PlannedValue };

/** Input i as an elementwise operand: codes and table values as tables, constants per channel, anything else real. */
export function operand(ctx: CompileContext, node: Node, i: number, shape: readonly number[]): Operand {
  const v = node.inputs[i];
  if (!v) return ctx.fail(node, `input ${i} is missing`);
  if (ctx.isStatic(v)) {
    const values = channelConstant(v, shape);
    if (!values) return ctx.fail(node, `constant input ${i} ('${v.name}') must be a scalar or one value per channel ([C,1,1]) of a [${shape.join(',')}] value`);
    return { kind: 'constant', values };
  }
  const p = ctx.inputLazy(node, i);
  if (p.clamp) return ctx.fail(node, `input ${i} is a pending clamp (Max/Min before QuantizeLinear)`);
  if (p.table) return { kind: 'table', table: p.table };
  if (p.kind === 'codes') return { kind: 'table', table: codesTable(p) };
  return { kind: 'real', value: p };
}

/** The shape of the first runtime input (elementwise ops here do not broadcast runtime values). */
export function runtimeShape(ctx: CompileContext, node: Node): number[] {
  const v = node.inputs.find((x) => x && !ctx.isStatic(x));
  if (!v) return ctx.fail(node, 'it has no runtime input');
  const p = ctx.values.get(v.name);
  if (!p) return ctx.fail(node, `input '${v.name}' has no planned value`);
  return p.shape;
}

/** Whether two tables are functions of the same codes (the same bytes: a DequantizeLinear aliases its QuantizeLinear's codes). */
const sameSource = (a: CodeTable, b: CodeTable): boolean => a.source.buffer === b.source.buffer && sizeOf(a.source.shape) === sizeOf(b.source.shape);

/**
 * The table of `f` applied to the operands (tables of one source, constants), per channel and
 * code; undefined when the runtime operands are not all tables of one source. `f` gets float32
 * operands and returns the float32 result (it rounds with Math.fround itself).
 */
export function composeTables(shape: readonly number[], ops: Operand[], f: (args: number[]) => number): CodeTable | undefined {
  const tables = ops.filter((o): o is { kind: 'table'; table: CodeTable } => o.kind === 'table').map((o) => o.table);
  if (tables.length === 0 || ops.some((o) => o.kind === 'real') || tables.some((t) => !sameSource(t, tables[0]))) return undefined;
  const composed = composeCodeTables(shape, ops.filter((o): o is Exclude<Operand, { kind: 'real' }> => o.kind !== 'real'), f);
  return composed && { source: tables[0].source, ...composed };
}

/** Define output `name` as the table value t (no step, no bytes until a reader needs them). */
export function defineTable(ctx: CompileContext, name: string, shape: number[], t: CodeTable): PlannedValue {
  const n = sizeOf(shape);
  return ctx.define(name, { kind: 'real', shape, channels: t.channels, inner: n / t.channels, table: t, f32: true, buffer: ctx.buffer(0) });
}

/** Whether `node` is the only reader of its input i and nothing fetches it: the producer may then write what `node` needs instead. */
export function soleReader(ctx: CompileContext, node: Node, i = 0): boolean {
  const v = node.inputs[i];
  return !!v && v.uses.length === 1 && !v.isGraphOutput && !ctx.keep.has(v.name);
}
