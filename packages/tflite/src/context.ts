import { type Attribute, type GraphBuilder, layoutShape, type LoweredTensor, type NibbleError, samePadding, type Tensor, type Value, type ValueLayout } from '@nibble/ir';
import type { Table } from './flatbuffer';
import type { TfliteFile, TfliteOperator, TfliteSubgraph, TfliteTensor } from './model-file';
import { Activation } from './schema';

/** A TFLite tensor as lowered so far: its IR value, the layout it is in, and its TFLite (NHWC) shape. */
export type Lowered = LoweredTensor<number>;

/** What an operator lowering sees: its inputs, its options, and where to put its outputs. */
export interface LowerContext {
  readonly model: TfliteFile;
  readonly subgraph: TfliteSubgraph;
  readonly op: TfliteOperator;
  readonly em: GraphBuilder;
  readonly file?: string;
  /** Builtin options table (absent when the file omits it: every field takes its default). */
  readonly options: Table | null;
  /** Name for the op's main IR node: its first output tensor's name. */
  readonly name: string;
  hasInput(i: number): boolean;
  inputTensor(i: number): TfliteTensor;
  outputTensor(i: number): TfliteTensor;
  /** Input i lowered (a constant becomes an initializer in plain layout). */
  input(i: number): Lowered;
  /** Float or integer contents of input i when it is constant (after folded DEQUANTIZE/DENSIFY), else null. */
  constant(i: number): Tensor | null;
  /** Like constant(i), but a typed error naming the operator when input i is not constant. */
  requireConstant(i: number, role: string): Tensor;
  /** A constant input that must hold integers (shapes, axes, paddings, permutations), as numbers. */
  requireIntegers(i: number, role: string): number[];
  setOutput(i: number, value: Value, layout: ValueLayout): void;
  error(message: string, hint?: string): NibbleError;
}

/** ONNX pads [top, left, bottom, right] for a 2-D window op on an NHWC input. */
export function windowPads(
  same: boolean,
  inShape: readonly number[],
  kernel: [number, number],
  strides: [number, number],
  dilations: [number, number] = [1, 1],
): number[] {
  if (!same) return [0, 0, 0, 0];
  const [t, b] = samePadding(inShape[1], kernel[0], strides[0], dilations[0]);
  const [l, r] = samePadding(inShape[2], kernel[1], strides[1], dilations[1]);
  return [t, l, b, r];
}

/**
 * Apply a fused activation to `value` (an op's linear result) and return
 * the node producing the TFLite output, named `name`.
 */
export function applyActivation(ctx: LowerContext, value: Value, act: number, name: string, shape: number[]): Value {
  const em = ctx.em;
  switch (act) {
    case Activation.NONE:
      return value;
    case Activation.RELU:
      return em.node('Relu', [value], {}, name, shape);
    case Activation.RELU6:
      return em.node('Clip', [value, em.floatScalar(`${name}/min`, 0), em.floatScalar(`${name}/max`, 6)], {}, name, shape);
    case Activation.RELU_N1_TO_1:
      return em.node('Clip', [value, em.floatScalar(`${name}/min`, -1), em.floatScalar(`${name}/max`, 1)], {}, name, shape);
    case Activation.TANH:
      // TFLite's float kernels clamp only for the RELU family and leave a fused
      // TANH unapplied (checked against TFLite 2.9); the file means what TFLite runs.
      return value;
    default:
      throw ctx.error(`fused activation ${Activation[act] ?? act} is not supported`, 'supported fused activations: NONE, RELU, RELU6, RELU_N1_TO_1, TANH (which TFLite does not apply)');
  }
}

/** Name of the linear node when an activation follows it (the activation takes the tensor's name). */
export function linearName(name: string, act: number): string {
  return act === Activation.NONE ? name : `${name}/linear`;
}

/** Emit a node that keeps the layout of its first input, then the fused activation; set it as output 0. */
export function emitWithActivation(
  ctx: LowerContext,
  opType: string,
  inputs: (Value | null)[],
  attributes: Record<string, Attribute>,
  layout: ValueLayout,
  act: number,
): void {
  const shape = layoutShape(ctx.outputTensor(0).shape, layout);
  const linear = ctx.em.node(opType, inputs, attributes, linearName(ctx.name, act), shape);
  ctx.setOutput(0, applyActivation(ctx, linear, act, ctx.name, shape), layout);
}
