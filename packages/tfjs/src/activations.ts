import { attr, type GraphBuilder, layoutShape, NibbleError } from '@nibble/ir';
import type { Lowered } from './lowered';
import { softmax } from './nhwc-ops';

/**
 * Keras / TF.js activation names (both spellings TF.js accepts) to ONNX.
 * `params` carries an alpha where the activation has one.
 */
const ACTIVATIONS: Record<string, (em: GraphBuilder, x: Lowered, name: string, params: { alpha?: number }) => Lowered> = {
  linear: (_em, x) => x,
  relu: (em, x, name) => unary(em, x, 'Relu', name),
  relu6: (em, x, name) => clip(em, x, 0, 6, name),
  sigmoid: (em, x, name) => unary(em, x, 'Sigmoid', name),
  tanh: (em, x, name) => unary(em, x, 'Tanh', name),
  softmax: (em, x, name) => softmax(em, x, -1, name),
  elu: (em, x, name, p) => unary(em, x, 'Elu', name, { alpha: attr.float(p.alpha ?? 1) }),
  selu: (em, x, name) => unary(em, x, 'Selu', name),
  softplus: (em, x, name) => unary(em, x, 'Softplus', name),
  softsign: (em, x, name) => unary(em, x, 'Softsign', name),
  // Keras' hard sigmoid: clip(0.2 x + 0.5, 0, 1).
  hard_sigmoid: (em, x, name) => unary(em, x, 'HardSigmoid', name, { alpha: attr.float(0.2), beta: attr.float(0.5) }),
  hard_swish: (em, x, name) => unary(em, x, 'HardSwish', name),
  swish: (em, x, name) => {
    const s = unary(em, x, 'Sigmoid', `${name}/sigmoid`);
    return { ...x, value: em.node('Mul', [x.value, s.value], {}, name, layoutShape(x.shape, x.layout)) };
  },
  gelu: (em, x, name) => unary(em, x, 'Gelu', name),
  // TF.js' gelu_new is the tanh approximation.
  gelu_new: (em, x, name) => unary(em, x, 'Gelu', name, { approximate: attr.string('tanh') }),
  mish: (em, x, name) => unary(em, x, 'Mish', name),
  exponential: (em, x, name) => unary(em, x, 'Exp', name),
  leaky_relu: (em, x, name, p) => unary(em, x, 'LeakyRelu', name, { alpha: attr.float(p.alpha ?? 0.2) }),
};

const ALIASES: Record<string, string> = {
  hardSigmoid: 'hard_sigmoid', hardswish: 'hard_swish', hardSwish: 'hard_swish', hard_silu: 'hard_swish', silu: 'swish',
  leakyrelu: 'leaky_relu', leakyRelu: 'leaky_relu'
};

export function supportedActivations(): string[] {
  return Object.keys(ACTIVATIONS).sort();
}

function unary(em: GraphBuilder, x: Lowered, op: string, name: string, attributes = {}): Lowered {
  return { ...x, value: em.node(op, [x.value], attributes, name, layoutShape(x.shape, x.layout)) };
}

export function clip(em: GraphBuilder, x: Lowered, min: number, max: number, name: string): Lowered {
  const inputs = [x.value, em.floatScalar(`${name}/min`, min), em.floatScalar(`${name}/max`, max)];
  return { ...x, value: em.node('Clip', inputs, {}, name, layoutShape(x.shape, x.layout)) };
}

/** Whether `name` is the identity (no node needed). */
export function isLinear(name: string | null | undefined): boolean {
  return name === undefined || name === null || name === 'linear';
}

/** Apply activation `kind` to x; the result is named `name`. */
export function activate(em: GraphBuilder, x: Lowered, kind: string | null | undefined, name: string, params: { alpha?: number } = {}): Lowered {
  if (isLinear(kind)) return x;
  const key = ALIASES[kind as string] ?? (kind as string);
  const f = ACTIVATIONS[key];
  if (!f) {
    throw new NibbleError('E_UNSUPPORTED_OP', `${name}: activation '${kind}' is not supported`, {
      node: name,
      op: kind as string,
      hint: `supported activations: ${supportedActivations().join(', ')}`,
    });
  }
  return f(em, x, name, params);
}
