import { constantNodeTensor, type Node, type Tensor } from '@nibble/ir';
import { CannotFold } from './types';

export function evalConstant(node: Node): Tensor[] {
  const t = constantNodeTensor(node);
  if (!t) throw new CannotFold(node, 'no dense value attribute (sparse_value is not supported)');
  return [t];
}
