import type { LoweredTensor } from '@nibble/ir';

/** A dimension of a TensorFlow shape: a number, or null when unknown (the batch, usually). */
export type TfDim = number | null;

/** A TensorFlow tensor as lowered so far: its IR value, the layout it is in, and its TensorFlow (NHWC) shape. */
export type Lowered = LoweredTensor<TfDim>;
