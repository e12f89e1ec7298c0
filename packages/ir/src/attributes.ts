import type { Graph } from './graph';
import type { Tensor } from './tensor';

/** ONNX attribute kinds. Integers are JS numbers (int64 values beyond 2^53 are clamped on write). */
export type Attribute =
  | { type: 'float'; value: number }
  | { type: 'int'; value: number }
  | { type: 'string'; value: string }
  | { type: 'tensor'; value: Tensor }
  | { type: 'graph'; value: Graph }
  | { type: 'floats'; value: number[] }
  | { type: 'ints'; value: number[] }
  | { type: 'strings'; value: string[] }
  | { type: 'tensors'; value: Tensor[] }
  | { type: 'graphs'; value: Graph[] };

/** Shorthands for building attributes in code and tests. */
export const attr = {
  float: (value: number): Attribute => ({ type: 'float', value }),
  int: (value: number): Attribute => ({ type: 'int', value }),
  string: (value: string): Attribute => ({ type: 'string', value }),
  tensor: (value: Tensor): Attribute => ({ type: 'tensor', value }),
  floats: (value: number[]): Attribute => ({ type: 'floats', value }),
  ints: (value: number[]): Attribute => ({ type: 'ints', value }),
  strings: (value: string[]): Attribute => ({ type: 'strings', value }),
};
