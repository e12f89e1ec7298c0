import { type Node, Tensor } from '@nibble/ir';
import { CannotFold } from './types';

function strings(values: string[]): Uint8Array[] {
  const enc = new TextEncoder();
  return values.map((s) => enc.encode(s));
}

/**
 * The tensor a Constant node holds, from whichever `value*` attribute it
 * carries (undefined for sparse_value or none). Not cached: a pass may
 * edit the attributes, and the common `value` form costs nothing to read.
 */
export function constantNodeValue(node: Node): Tensor | undefined {
  let t: Tensor | undefined;
  for (const [name, a] of node.attributes) {
    if (name === 'value' && a.type === 'tensor') t = a.value;
    else if (name === 'value_float' && a.type === 'float') t = Tensor.from('float32', [], [a.value]);
    else if (name === 'value_floats' && a.type === 'floats') t = Tensor.from('float32', [a.value.length], a.value);
    else if (name === 'value_int' && a.type === 'int') t = Tensor.from('int64', [], [a.value]);
    else if (name === 'value_ints' && a.type === 'ints') t = Tensor.from('int64', [a.value.length], a.value);
    else if (name === 'value_string' && a.type === 'string') t = new Tensor('string', [], strings([a.value]));
    else if (name === 'value_strings' && a.type === 'strings') t = new Tensor('string', [a.value.length], strings(a.value));
  }
  return t;
}

export function evalConstant(node: Node): Tensor[] {
  const t = constantNodeValue(node);
  if (!t) throw new CannotFold(node, 'no dense value attribute (sparse_value is not supported)');
  return [t];
}
