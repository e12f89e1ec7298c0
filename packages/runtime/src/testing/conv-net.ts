import { attr, createModel, Graph, type Model, SeededRandom, Tensor } from '@nibble/ir';
import { randomFloats } from '@nibble/testing';

/**
 * x[N,2,6,6] -> Conv 3x3 pad 1 (3 ch) -> Relu ('act1') -> Conv 3x3 stride 2
 * (4 ch) -> GlobalAveragePool -> Flatten -> Gemm (2 outputs). The input
 * declares batch 1, as many exported models do.
 */
export function buildConvNet(): Model {
  const g = new Graph('convnet');
  const rand = new SeededRandom(7);
  const init = (name: string, shape: number[]) => g.addInitializer(name, new Tensor('float32', shape, randomFloats(shape.reduce((a, b) => a * b, 1), rand)));
  const x = g.addInput('x', { dtype: 'float32', shape: [1, 2, 6, 6] });
  const c1 = g.addNode({
    opType: 'Conv', name: 'conv1', inputs: [x, init('w1', [3, 2, 3, 3]), init('b1', [3])], outputs: ['conv1'],
    attributes: { kernel_shape: attr.ints([3, 3]), pads: attr.ints([1, 1, 1, 1]) },
  });
  const r = g.addNode({ opType: 'Relu', name: 'relu1', inputs: [c1.outputs[0]], outputs: ['act1'] });
  r.outputs[0].type = { dtype: 'float32', shape: [1, 3, 6, 6] };
  const c2 = g.addNode({
    opType: 'Conv', name: 'conv2', inputs: [r.outputs[0], init('w2', [4, 3, 3, 3]), init('b2', [4])], outputs: ['conv2'],
    attributes: { kernel_shape: attr.ints([3, 3]), strides: attr.ints([2, 2]) },
  });
  const gap = g.addNode({ opType: 'GlobalAveragePool', name: 'gap', inputs: [c2.outputs[0]], outputs: ['gap'] });
  const flat = g.addNode({ opType: 'Flatten', name: 'flat', inputs: [gap.outputs[0]], outputs: ['flat'], attributes: { axis: attr.int(1) } });
  const fc = g.addNode({ opType: 'Gemm', name: 'fc', inputs: [flat.outputs[0], init('w3', [4, 2]), init('b3', [2])], outputs: ['logits'] });
  fc.outputs[0].type = { dtype: 'float32', shape: [1, 2] };
  g.addOutput(fc.outputs[0]);
  return createModel(g, 17, 8);
}
