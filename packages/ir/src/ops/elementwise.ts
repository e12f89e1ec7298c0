import type { DType } from '../dtype';
import type { Dim, Node } from '../graph';
import type { InferContext, KnownValue } from './registry';
import {
  broadcastShapes, defineOp, dtypeOfCode, inDtype, inShape, isIntDtype, isNum, normalizeAxis, requireSameDtype, sameAs, shapeError, typeOf,
} from './infer-util';

/* Elementwise operators: activations, arithmetic with broadcasting, comparisons, logic, Cast. */

const UNARY: Record<string, string> = {
  Relu: 'max(x, 0)',
  Sigmoid: '1 / (1 + exp(-x))',
  Tanh: 'hyperbolic tangent',
  Exp: 'e^x',
  Log: 'natural logarithm',
  Sqrt: 'square root',
  Neg: '-x',
  Abs: '|x|',
  Reciprocal: '1 / x',
  Erf: 'error function',
  Floor: 'round down',
  Ceil: 'round up',
  Round: 'round half to even',
  Sign: '-1, 0 or 1',
  Sin: 'sine',
  Cos: 'cosine',
  LeakyRelu: 'x < 0 ? alpha * x : x',
  Elu: 'x < 0 ? alpha * (e^x - 1) : x',
  Selu: 'scaled exponential linear unit',
  Celu: 'continuously differentiable exponential linear unit',
  ThresholdedRelu: 'x > alpha ? x : 0',
  HardSigmoid: 'max(0, min(1, alpha * x + beta))',
  HardSwish: 'x * max(0, min(1, x / 6 + 1 / 2))',
  Softplus: 'log(1 + e^x)',
  Softsign: 'x / (1 + |x|)',
  Mish: 'x * tanh(softplus(x))',
  Gelu: 'Gaussian error linear unit',
  Clip: 'clamp to [min, max] (attributes before opset 11, inputs since)',
  CumSum: 'cumulative sum along an axis',
};
for (const [op, summary] of Object.entries(UNARY)) defineOp(op, summary, (node) => [sameAs(node)]);

for (const op of ['Softmax', 'LogSoftmax', 'Hardmax']) {
  defineOp(op, `${op} along an axis (coerced to 2-D before opset 13)`, (node, ctx) => {
    const s = inShape(node, 0);
    if (s) normalizeAxis(node, node.getInt('axis', ctx.opset >= 13 ? -1 : 1), Math.max(s.length, 1));
    return [sameAs(node)];
  });
}

defineOp('PRelu', 'x < 0 ? slope * x : x, slope broadcast to x', (node) => {
  const x = inShape(node, 0);
  const slope = inShape(node, 1);
  const b = broadcastShapes(node, [x, slope]);
  if (b && x && b.length !== x.length) throw shapeError(node, `slope rank ${slope!.length} exceeds input rank ${x.length}`);
  b?.forEach((d, i) => {
    if (isNum(d) && isNum(x![i]) && d !== x![i]) throw shapeError(node, `slope does not broadcast to the input (dim ${i}: ${d} vs ${x![i]})`);
  });
  return [sameAs(node)];
});

defineOp('Dropout', 'identity at inference; optional mask output', (node, ctx) => {
  const t = sameAs(node);
  const maskDtype: DType | undefined = ctx.opset >= 10 ? 'bool' : inDtype(node, 0);
  return [t, typeOf(maskDtype, t?.shape && [...t.shape])];
});

defineOp('Cast', 'convert the element type (attribute to)', (node) => {
  const to = node.attributes.get('to');
  // Opsets before 6 name the type as a string; those casts stay untyped, as do types nibble lacks.
  const dtype = to?.type === 'int' ? dtypeOfCode(to.value) : undefined;
  const s = inShape(node, 0);
  return [typeOf(dtype, s && [...s])];
}, (node, ctx) => {
  const k = ctx.known(node.inputs[0]);
  const to = node.attributes.get('to');
  if (!k || to?.type !== 'int') return [undefined];
  const dtype = dtypeOfCode(to.value);
  if (!dtype) return [undefined];
  const conv = (x: Dim): Dim => {
    if (!isNum(x)) return x;
    if (dtype === 'bool') return x !== 0 ? 1 : 0;
    return isIntDtype(dtype) ? Math.trunc(x) : x;
  };
  return [{ dtype, shape: k.shape, data: k.data.map(conv) }];
});

/** Same-shape or scalar-broadcast integer arithmetic on known data (shape computations). */
function arithmeticValues(fn: (a: number, b: number) => number, identity: number | null, zeroOf?: 'a' | 'b') {
  return (node: Node, ctx: InferContext): (KnownValue | undefined)[] => {
    const a = ctx.known(node.inputs[0]);
    const b = ctx.known(node.inputs[1]);
    if (!a || !b || a.dtype !== b.dtype) return [undefined];
    const n = Math.max(a.data.length, b.data.length);
    if ((a.data.length !== n && a.data.length !== 1) || (b.data.length !== n && b.data.length !== 1)) return [undefined];
    const shape = a.data.length === n ? a.shape : b.shape;
    const int = isIntDtype(a.dtype);
    const data: Dim[] = [];
    for (let i = 0; i < n; i++) {
      const x = a.data[a.data.length === 1 ? 0 : i];
      const y = b.data[b.data.length === 1 ? 0 : i];
      if (isNum(x) && isNum(y)) {
        const r = fn(x, y);
        data.push(int ? Math.trunc(r) : r);
      } else if (identity !== null && y === identity) data.push(x);
      else if (identity !== null && zeroOf === undefined && x === identity) data.push(y);
      else data.push(null);
    }
    return [{ dtype: a.dtype, shape: [...shape], data }];
  };
}

const BINARY: Record<string, [string, ReturnType<typeof arithmeticValues> | undefined]> = {
  Add: ['a + b', arithmeticValues((a, b) => a + b, 0)],
  Sub: ['a - b', arithmeticValues((a, b) => a - b, 0, 'b')],
  Mul: ['a * b', arithmeticValues((a, b) => a * b, 1)],
  Div: ['a / b (integer division truncates)', arithmeticValues((a, b) => a / b, 1, 'b')],
  Mod: ['remainder (attribute fmod)', undefined],
};
for (const [op, [summary, values]] of Object.entries(BINARY)) {
  defineOp(op, `${summary}, with broadcasting`, (node) => {
    const dtype = requireSameDtype(node, [0, 1]);
    return [typeOf(dtype, broadcastShapes(node, [inShape(node, 0), inShape(node, 1)]))];
  }, values);
}

defineOp('Pow', 'a ^ b, with broadcasting (exponent may have another type)', (node) => [
  typeOf(inDtype(node, 0), broadcastShapes(node, [inShape(node, 0), inShape(node, 1)])),
]);

for (const op of ['Max', 'Min', 'Sum', 'Mean']) {
  defineOp(op, `elementwise ${op.toLowerCase()} of any number of inputs, with broadcasting`, (node) => {
    const idx = node.inputs.map((_, i) => i);
    const dtype = requireSameDtype(node, idx);
    return [typeOf(dtype, broadcastShapes(node, idx.map((i) => inShape(node, i))))];
  });
}

for (const op of ['Equal', 'Greater', 'Less', 'GreaterOrEqual', 'LessOrEqual', 'And', 'Or', 'Xor']) {
  defineOp(op, `elementwise ${op} with broadcasting, bool result`, (node) => {
    requireSameDtype(node, [0, 1]);
    return [typeOf('bool', broadcastShapes(node, [inShape(node, 0), inShape(node, 1)]))];
  });
}

defineOp('Not', 'logical negation', (node) => {
  const s = inShape(node, 0);
  return [typeOf('bool', s && [...s])];
});

defineOp('IsNaN', 'true where x is NaN', (node) => {
  const s = inShape(node, 0);
  return [typeOf('bool', s && [...s])];
});

defineOp('Where', 'cond ? x : y, with broadcasting', (node) => {
  const dtype = requireSameDtype(node, [1, 2]);
  return [typeOf(dtype, broadcastShapes(node, [inShape(node, 0), inShape(node, 1), inShape(node, 2)]))];
});
