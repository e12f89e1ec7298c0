import type { Node } from '@nibble/ir';
import { channelConstant, composeCodeTables, dequantizedCodeValues } from '@nibble/quant';
import { type CompileContext, type PlannedValue, sizeOf } from '../plan';

/*
 * The wasm plan's table values (its kernels/table.ts): a value computed
 * elementwise from one codes value and constants is a function of the code
 * (and of the channel), tabulated on the host in float32 as onnxruntime
 * computes it, by @nibble/quant's code tables, the very tables the wasm
 * backend builds. Here such a value is a real value over its source codes
 * (real.ts): no GPU work until a QuantizeLinear maps the codes, or the host
 * decodes the codes it reads back.
 */

export type Table = NonNullable<PlannedValue['table']>;

/** Codes as the table of their float32 values (DequantizeLinear as onnxruntime computes it). */
export const codesTable = (x: PlannedValue): Table => ({ source: x, ...dequantizedCodeValues({ channels: x.channels, scale: x.scale!, zeroPoint: x.zeroPoint! }) });

/** The value of a table: no step, the codes of its source read through it. */
export function defineTable(ctx: CompileContext, name: string, shape: number[], table: Table): PlannedValue {
  const { source, channels, values } = table;
  return ctx.define(name, {
    kind: 'real', base: 'codes', shape, channels, inner: sizeOf(shape) / channels, buffer: source.buffer, codes: source, table, f32: true,
    value: (c, q) => values[c * 256 + q],
  });
}

export type Operand = { kind: 'table'; table: Table } | { kind: 'constant'; values: Float64Array } | { kind: 'real'; value: PlannedValue };

/**
 * The node's operands as the wasm plan reads an elementwise op's: constants one value per channel
 * of the runtime operands' shape (the first runtime input's; these ops do not broadcast runtime
 * values), codes and table values as tables, anything else as a real value.
 */
export function elementwiseOperands(ctx: CompileContext, node: Node): { shape: number[]; ops: Operand[] } {
  const present = node.inputs.slice(0, node.inputs.filter((v) => v).length);
  const first = present.find((v) => v && !ctx.isStatic(v));
  const planned = first && ctx.values.get(first.name);
  if (!planned) return ctx.fail(node, 'it has no runtime input with a planned value');
  const shape = planned.shape;
  const ops = present.map((v, i): Operand => {
    if (!v) return ctx.fail(node, `input ${i} is missing`);
    if (ctx.isStatic(v)) {
      const values = channelConstant(v, shape);
      return values ? { kind: 'constant', values } : ctx.fail(node, `constant input ${i} ('${v.name}') must be a scalar or one value per channel ([C,1,1]) of a [${shape.join(',')}] value`);
    }
    const p = ctx.input(node, i);
    if (p.clamp) return ctx.fail(node, `input ${i} is a pending clamp (Max/Min before QuantizeLinear)`);
    if (p.table) return { kind: 'table', table: p.table };
    return p.kind === 'codes' ? { kind: 'table', table: codesTable(p) } : { kind: 'real', value: p };
  });
  return { shape, ops };
}

/** The table of `f` on the operands, when they are tables of one source's codes and constants that line up (the wasm plan's composeTables). */
export function composeTables(shape: readonly number[], ops: Operand[], f: (args: number[]) => number): Table | undefined {
  const tables = ops.flatMap((o) => (o.kind === 'table' ? [o.table] : []));
  const sameCodes = (t: Table): boolean => t.source.buffer === tables[0].source.buffer && sizeOf(t.source.shape) === sizeOf(tables[0].source.shape);
  if (tables.length === 0 || ops.some((o) => o.kind === 'real') || !tables.every(sameCodes)) return undefined;
  const composed = composeCodeTables(shape, ops.filter((o): o is Exclude<Operand, { kind: 'real' }> => o.kind !== 'real'), f);
  return composed && { source: tables[0].source, ...composed };
}

/** Whether `node` is the only reader of its input i and nothing fetches it: its producer may write what `node` needs instead. */
export function soleReader(ctx: CompileContext, node: Node, i = 0): boolean {
  const v = node.inputs[i];
  return !!v && v.uses.length === 1 && !v.isGraphOutput && !ctx.keep.has(v.name);
}
