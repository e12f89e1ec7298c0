import { attr, type Attribute, layoutShape, type Value, type ValueLayout } from '@nibble/ir';
import { applyActivation, linearName, type Lowered, type LowerContext } from './context';
import { Activation, F } from './schema';

/* Elementwise operators: they keep whatever layout their operands share. */

/**
 * The operands of a broadcasting op in one layout. When the result is
 * rank 4 and an operand already is NCHW, everything moves to NCHW (a lower
 * rank operand is first padded with leading 1s, as NumPy broadcasting
 * aligns trailing dimensions); otherwise everything goes plain.
 */
export function harmonize(ctx: LowerContext, operands: Lowered[], outRank: number): { values: Value[]; layout: ValueLayout } {
  const em = ctx.em;
  const nchw = outRank === 4 && operands.some((o) => o.layout === 'nchw' && !o.value.const);
  if (!nchw) return { values: operands.map((o) => em.as(o, 'plain')), layout: 'plain' };
  const values = operands.map((o, i) => {
    if (o.shape.length === 4) return em.as(o, 'nchw');
    if (o.shape.length > 4) throw ctx.error(`operand ${i} has rank ${o.shape.length}, more than the result`);
    const shape4 = [...new Array<number>(4 - o.shape.length).fill(1), ...o.shape];
    if (o.value.const) {
      const c = em.constant(`${o.value.name}/rank4`, o.value.const.reshape(shape4));
      return em.as({ value: c, layout: 'plain', shape: shape4 }, 'nchw');
    }
    const r = em.node('Reshape', [em.as(o, 'plain'), em.int64s(`${o.value.name}/rank4_shape`, shape4)], {}, `${o.value.name}/rank4`, shape4, o.value.type?.dtype);
    return em.as({ value: r, layout: 'plain', shape: shape4 }, 'nchw');
  });
  return { values, layout: 'nchw' };
}

const BINARY: Record<string, { onnx: string; fused: boolean }> = {
  ADD: { onnx: 'Add', fused: true },
  SUB: { onnx: 'Sub', fused: true },
  MUL: { onnx: 'Mul', fused: true },
  DIV: { onnx: 'Div', fused: true },
  MAXIMUM: { onnx: 'Max', fused: false },
  MINIMUM: { onnx: 'Min', fused: false },
  POW: { onnx: 'Pow', fused: false },
};

export function lowerBinary(ctx: LowerContext): void {
  const spec = BINARY[ctx.op.code.name];
  const out = ctx.outputTensor(0).shape;
  const { values, layout } = harmonize(ctx, [ctx.input(0), ctx.input(1)], out.length);
  const act = spec.fused ? ctx.options?.i8(F.ArithmeticOptions.activation) ?? Activation.NONE : Activation.NONE;
  const shape = layoutShape(out, layout);
  const linear = ctx.em.node(spec.onnx, values, {}, linearName(ctx.name, act), shape, values[0].type?.dtype);
  ctx.setOutput(0, applyActivation(ctx, linear, act, ctx.name, shape), layout);
}

export const BINARY_OPS = Object.keys(BINARY);

export function lowerSquaredDifference(ctx: LowerContext): void {
  const out = ctx.outputTensor(0).shape;
  const { values, layout } = harmonize(ctx, [ctx.input(0), ctx.input(1)], out.length);
  const shape = layoutShape(out, layout);
  const d = ctx.em.node('Sub', values, {}, `${ctx.name}/difference`, shape);
  ctx.setOutput(0, ctx.em.node('Mul', [d, d], {}, ctx.name, shape), layout);
}

export function lowerPrelu(ctx: LowerContext): void {
  const out = ctx.outputTensor(0).shape;
  const { values, layout } = harmonize(ctx, [ctx.input(0), ctx.input(1)], out.length);
  ctx.setOutput(0, ctx.em.node('PRelu', values, {}, ctx.name, layoutShape(out, layout)), layout);
}

/** Unary ops: ONNX op and attributes, or a function building the nodes. */
const UNARY: Record<string, (ctx: LowerContext, x: Value, shape: number[]) => Value> = {
  LOGISTIC: (c, x, s) => c.em.node('Sigmoid', [x], {}, c.name, s),
  RELU: (c, x, s) => c.em.node('Relu', [x], {}, c.name, s),
  RELU6: (c, x, s) => applyActivation(c, x, Activation.RELU6, c.name, s),
  RELU_N1_TO_1: (c, x, s) => applyActivation(c, x, Activation.RELU_N1_TO_1, c.name, s),
  TANH: (c, x, s) => c.em.node('Tanh', [x], {}, c.name, s),
  HARD_SWISH: (c, x, s) => c.em.node('HardSwish', [x], {}, c.name, s),
  ELU: (c, x, s) => c.em.node('Elu', [x], { alpha: attr.float(1) }, c.name, s),
  EXP: (c, x, s) => c.em.node('Exp', [x], {}, c.name, s),
  LOG: (c, x, s) => c.em.node('Log', [x], {}, c.name, s),
  SQRT: (c, x, s) => c.em.node('Sqrt', [x], {}, c.name, s),
  RSQRT: (c, x, s) => c.em.node('Reciprocal', [c.em.node('Sqrt', [x], {}, `${c.name}/sqrt`, s)], {}, c.name, s),
  NEG: (c, x, s) => c.em.node('Neg', [x], {}, c.name, s),
  ABS: (c, x, s) => c.em.node('Abs', [x], {}, c.name, s),
  SQUARE: (c, x, s) => c.em.node('Mul', [x, x], {}, c.name, s),
  LEAKY_RELU: (c, x, s) => c.em.node('LeakyRelu', [x], { alpha: attr.float(c.options?.f32(F.LeakyReluOptions.alpha) ?? 0.2) }, c.name, s),
  GELU: (c, x, s) => {
    const a: Record<string, Attribute> = c.options?.bool(F.GeluOptions.approximate) ? { approximate: attr.string('tanh') } : {};
    return c.em.node('Gelu', [x], a, c.name, s);
  },
};

export const UNARY_OPS = Object.keys(UNARY);

export function lowerUnary(ctx: LowerContext): void {
  const x = ctx.input(0);
  const build = UNARY[ctx.op.code.name];
  ctx.setOutput(0, build(ctx, x.value, layoutShape(x.shape, x.layout)), x.layout);
}
