import { attr, createModel, Graph, type Model, SeededRandom, Tensor, type Value } from '@nibble/ir';

/**
 * ResNet-20 for 28 x 28 grey images (Fashion-MNIST), batch norm already
 * folded into each conv's bias: conv 3x3 16, then three stages of three basic
 * blocks (16, 32, 64 channels; stages 2 and 3 start with stride 2 and a 1x1
 * projection shortcut), global average pooling and a 64 -> 10 Gemm. Weights
 * are random (He-scaled, seeded): the benchmark measures time and memory,
 * which depend on the shapes, not on training.
 */
export function randomResnet20(seed = 1): Model {
  const random = new SeededRandom(seed);
  /** Uniform in [-1, 1). */
  const rand = (): number => 2 * random.uniform() - 1;
  const g = new Graph('resnet20-random');
  let id = 0;
  const weight = (shape: number[], fanIn: number): Value => {
    const n = shape.reduce((a, b) => a * b, 1);
    // Uniform with the He variance 2 / fanIn.
    const scale = Math.sqrt(6 / fanIn);
    return g.addInitializer(`w${id++}`, new Tensor('float32', shape, Float32Array.from({ length: n }, () => scale * rand())));
  };
  const bias = (n: number): Value => g.addInitializer(`b${id++}`, new Tensor('float32', [n], Float32Array.from({ length: n }, () => 0.1 * rand())));
  const conv = (x: Value, cin: number, cout: number, k: number, stride: number, name: string): Value => {
    const p = (k - 1) / 2;
    return g.addNode({
      opType: 'Conv', name, inputs: [x, weight([cout, cin, k, k], cin * k * k), bias(cout)], outputs: [name],
      attributes: { kernel_shape: attr.ints([k, k]), strides: attr.ints([stride, stride]), pads: attr.ints([p, p, p, p]) },
    }).outputs[0];
  };
  const relu = (x: Value, name: string): Value => g.addNode({ opType: 'Relu', name, inputs: [x], outputs: [name] }).outputs[0];
  const add = (a: Value, b: Value, name: string): Value => g.addNode({ opType: 'Add', name, inputs: [a, b], outputs: [name] }).outputs[0];

  let x = relu(conv(g.addInput('input', { dtype: 'float32', shape: ['N', 1, 28, 28] }), 1, 16, 3, 1, 'conv0'), 'relu0');
  let cin = 16;
  [16, 32, 64].forEach((cout, stage) => {
    for (let block = 0; block < 3; block++) {
      const stride = stage > 0 && block === 0 ? 2 : 1;
      const name = `s${stage + 1}b${block + 1}`;
      const h = relu(conv(x, cin, cout, 3, stride, `${name}_conv1`), `${name}_relu1`);
      const y = conv(h, cout, cout, 3, 1, `${name}_conv2`);
      const shortcut = stride === 1 && cin === cout ? x : conv(x, cin, cout, 1, stride, `${name}_proj`);
      x = relu(add(y, shortcut, `${name}_add`), `${name}_out`);
      cin = cout;
    }
  });
  const pooled = g.addNode({ opType: 'GlobalAveragePool', name: 'gap', inputs: [x], outputs: ['gap'] }).outputs[0];
  const flat = g.addNode({ opType: 'Flatten', name: 'flatten', inputs: [pooled], outputs: ['flatten'] }).outputs[0];
  const logits = g.addNode({
    opType: 'Gemm', name: 'fc', inputs: [flat, weight([10, 64], 64), bias(10)], outputs: ['logits'], attributes: { transB: attr.int(1) },
  }).outputs[0];
  g.addOutput(logits);
  return createModel(g, 17, 8);
}
