import { constantTensor, type Node, type Value } from '@nibble/ir';
import { roundHalfEven } from '@nibble/quant';
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
 * bits), any other reader gets them looked up into float64.
 */

/** DequantizeLinear of codes x as onnxruntime computes it: float32 (q - zp) * s, per channel of x. */
export function codesTable(x: PlannedValue): CodeTable {
  const C = x.channels;
  const values = new Float64Array(C * 256);
  for (let c = 0; c < C; c++) for (let q = 0; q < 256; q++) values[c * 256 + q] = Math.fround((q - x.zeroPoint![c]) * x.scale![c]);
  return { source: x, channels: C, values };
}

/** The constant operand `v` as one value per channel of `shape` ([C, ...] per sample): length 1 (a scalar) or C; undefined if it broadcasts otherwise. */
export function channelConstant(v: Value, shape: readonly number[]): Float64Array | undefined {
  const t = constantTensor(v);
  if (!t || !t.dtype.startsWith('float')) return undefined;
  const values = t.toFloat64();
  if (values.length === 1) return Float64Array.of(Math.fround(values[0]));
  // [C, 1, ..., 1] against the per-sample shape, or with the batch axis: [1, C, 1, ..., 1].
  const dims = t.shape.length === shape.length + 1 ? t.shape.slice(1) : t.shape;
  if (t.shape.length === shape.length + 1 && t.shape[0] !== 1) return undefined;
  if (dims.length !== shape.length || dims[0] !== shape[0] || dims.slice(1).some((d) => d !== 1)) return undefined;
  return Float64Array.from(values, (x) => Math.fround(x));
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
  const widths = ops.map((o) => (o.kind === 'table' ? o.table.channels : o.kind === 'constant' ? o.values.length : 1));
  const L = Math.max(...widths);
  if (widths.some((w) => w !== 1 && w !== L) || (L > 1 && shape[0] !== L)) return undefined;
  const values = new Float64Array(L * 256);
  const args = new Array<number>(ops.length);
  for (let l = 0; l < L; l++) {
    for (let q = 0; q < 256; q++) {
      ops.forEach((o, j) => {
        if (o.kind === 'table') args[j] = o.table.values[(o.table.channels === 1 ? 0 : l) * 256 + q];
        else if (o.kind === 'constant') args[j] = o.values[o.values.length === 1 ? 0 : l];
      });
      values[l * 256 + q] = f(args);
    }
  }
  return { source: tables[0].source, channels: L, values };
}

/** Define output `name` as the table value t (no step, no bytes until a reader needs them). */
export function defineTable(ctx: CompileContext, name: string, shape: number[], t: CodeTable): PlannedValue {
  const n = sizeOf(shape);
  return ctx.define(name, { kind: 'real', shape, channels: t.channels, inner: n / t.channels, table: t, f32: true, buffer: ctx.buffer(0) });
}

/** onnxruntime's QuantizeLinear of a float32 value: float32 v / s, round half to even (cvtps2dq), + zp, saturated to [lo, hi] (the container, or a channel's levels). */
export function quantizeF32(v: number, s: number, zp: number, lo: number, hi: number): number {
  const q = roundHalfEven(Math.fround(v / s)) + zp;
  return q < lo ? lo : q > hi ? hi : q;
}

/** Whether `node` is the only reader of its input i and nothing fetches it: the producer may then write what `node` needs instead. */
export function soleReader(ctx: CompileContext, node: Node, i = 0): boolean {
  const v = node.inputs[i];
  return !!v && v.uses.length === 1 && !v.isGraphOutput && !ctx.keep.has(v.name);
}
