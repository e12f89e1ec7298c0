import { BASE_EMITTERS, type Emitter } from './ops';
import { ELEMENTWISE_EMITTERS } from './ops-elementwise';
import { UPSAMPLE_EMITTERS } from './ops-upsample';

/** Every ONNX op the writer has an int8 TFLite form for (the elementwise Add dispatches to the base ADD between activations). */
export const EMITTERS: Readonly<Record<string, Emitter>> = { ...BASE_EMITTERS, ...ELEMENTWISE_EMITTERS, ...UPSAMPLE_EMITTERS };

export function supportedWriterOps(): string[] {
  return Object.keys(EMITTERS).sort();
}
