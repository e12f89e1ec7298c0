import { Graph, type NibbleError, Tensor } from '@nibble/ir';

/** x -> Conv(w) -> Relu -> y: the smallest graph with an initializer and a chain, for pass-manager tests. */
export function tinyConvGraph(): Graph {
  const g = new Graph('tiny');
  const x = g.addInput('x', { dtype: 'float32', shape: [1, 1, 4, 4] });
  const w = g.addInitializer('w', Tensor.from('float32', [2, 1, 1, 1], [1, -1]));
  const conv = g.addNode({ opType: 'Conv', name: 'conv', inputs: [x, w], outputs: ['c'] });
  const relu = g.addNode({ opType: 'Relu', name: 'relu', inputs: [conv.outputs[0]], outputs: ['y'] });
  g.addOutput(relu.outputs[0]);
  return g;
}

/** Run fn, return what it threw (typed as NibbleError for the assertions; the tests check the class) or fail. */
export function thrown(fn: () => unknown): NibbleError {
  try {
    fn();
  } catch (e) {
    return e as NibbleError;
  }
  throw new Error('expected a throw');
}

export async function rejected(p: Promise<unknown>): Promise<NibbleError> {
  try {
    await p;
  } catch (e) {
    return e as NibbleError;
  }
  throw new Error('expected a rejection');
}
