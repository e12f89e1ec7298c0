import { Tensor, inferShapes } from '@nibble/ir';
import { createOrtExecutor } from '@nibble/runtime';
import { closeTo, describeWithTfliteRef, maxRelError, nhwcToNchw, randomFloats, runTfliteRef, type RefOutput } from '@nibble/testing';
import { readTflite } from './read';
import { Activation, F, Padding } from './schema';
import { buildTflite, type OptionField, type TestModel, type TestTensor } from './testing/tflite-builder';

/*
 * One small model per operator form, built here, run by TFLite 2.9 and by
 * the IR in onnxruntime. These cover what the MediaPipe models do not:
 * asymmetric SAME padding, every fused activation, layout-sensitive
 * reshapes, resize conventions, transposed convolutions, quantized weights.
 */

interface Case {
  name: string;
  model: TestModel;
}

let seed = 1;
const act = (a: Activation): OptionField[] => [[F.ArithmeticOptions.activation, 'i8', a]];

/** A model of one operator: `inputs` are run-time NHWC tensors, `consts` constant inputs that follow them. */
function single(op: string, inputs: number[][], consts: TestTensor[], out: number[], options?: OptionField[], extra: Partial<TestModel['operators'][0]> = {}): TestModel {
  const tensors: TestTensor[] = [
    ...inputs.map((shape, i) => ({ name: `x${i}`, shape })),
    ...consts,
    { name: 'y', shape: out },
  ];
  const all = tensors.map((_, i) => i);
  return {
    tensors,
    operators: [{ op, inputs: all.slice(0, -1), outputs: [tensors.length - 1], options, ...extra }],
    inputs: inputs.map((_, i) => i),
    outputs: [tensors.length - 1],
  };
}

const w = (name: string, shape: number[], lo = -1, hi = 1): TestTensor => ({ name, shape, data: randomFloats(shape.reduce((a, b) => a * b, 1), seed++, lo, hi) });
const ints = (name: string, values: number[], shape = [values.length]): TestTensor => ({ name, shape, type: 'INT32', data: Int32Array.from(values) });

function conv(padding: Padding, stride: number, dilation: number, a: Activation): OptionField[] {
  const o = F.Conv2DOptions;
  return [[o.padding, 'i8', padding], [o.strideW, 'i32', stride], [o.strideH, 'i32', stride], [o.activation, 'i8', a], [o.dilationW, 'i32', dilation], [o.dilationH, 'i32', dilation]];
}

function pool(padding: Padding, stride: number, k: number, a = Activation.NONE): OptionField[] {
  const o = F.Pool2DOptions;
  return [[o.padding, 'i8', padding], [o.strideW, 'i32', stride], [o.strideH, 'i32', stride], [o.filterWidth, 'i32', k], [o.filterHeight, 'i32', k], [o.activation, 'i8', a]];
}

function float16Weights(name: string, shape: number[]): TestTensor {
  // float16 bits of values in [-1, 1): sign, a small exponent, a mantissa.
  const n = shape.reduce((a, b) => a * b, 1);
  const bits = new Uint16Array(n);
  const r = randomFloats(n, seed++, 0, 1);
  for (let i = 0; i < n; i++) bits[i] = (r[i] < 0.5 ? 0x8000 : 0) | ((12 + Math.floor(r[i] * 4)) << 10) | Math.floor(r[i] * 1023);
  return { name, shape, type: 'FLOAT16', data: bits };
}

const dw = (padding: Padding, stride: number, mult: number, a: Activation): OptionField[] => {
  const o = F.DepthwiseConv2DOptions;
  return [[o.padding, 'i8', padding], [o.strideW, 'i32', stride], [o.strideH, 'i32', stride], [o.depthMultiplier, 'i32', mult], [o.activation, 'i8', a]];
};

const resizeOpts = (align: boolean, half: boolean, bilinear: boolean): OptionField[] =>
  bilinear
    ? [[F.ResizeBilinearOptions.alignCorners, 'bool', align], [F.ResizeBilinearOptions.halfPixelCenters, 'bool', half]]
    : [[F.ResizeNearestNeighborOptions.alignCorners, 'bool', align], [F.ResizeNearestNeighborOptions.halfPixelCenters, 'bool', half]];

function cases(): Case[] {
  const list: Case[] = [
    { name: 'CONV_2D SAME stride 2 on odd size, bias, RELU6', model: single('CONV_2D', [[1, 9, 9, 3]], [w('f', [4, 3, 3, 3]), w('b', [4])], [1, 5, 5, 4], conv(Padding.SAME, 2, 1, Activation.RELU6)) },
    { name: 'CONV_2D VALID dilation 2, RELU_N1_TO_1', model: single('CONV_2D', [[1, 8, 8, 2]], [w('f', [3, 3, 3, 2]), w('b', [3])], [1, 4, 4, 3], conv(Padding.VALID, 1, 2, Activation.RELU_N1_TO_1)) },
    { name: 'CONV_2D SAME 1x1 stride 1, RELU', model: single('CONV_2D', [[1, 5, 6, 4]], [w('f', [6, 1, 1, 4]), w('b', [6])], [1, 5, 6, 6], conv(Padding.SAME, 1, 1, Activation.RELU)) },
    { name: 'DEPTHWISE_CONV_2D SAME stride 2, multiplier 2, RELU', model: single('DEPTHWISE_CONV_2D', [[1, 8, 7, 3]], [w('f', [1, 3, 3, 6]), w('b', [6])], [1, 4, 4, 6], dw(Padding.SAME, 2, 2, Activation.RELU)) },
    { name: 'FULLY_CONNECTED on a rank-4 input (NHWC element order)', model: single('FULLY_CONNECTED', [[1, 2, 3, 4]], [w('w', [5, 24]), w('b', [5])], [1, 5], [[F.FullyConnectedOptions.activation, 'i8', Activation.RELU]]) },
    { name: 'AVERAGE_POOL_2D SAME 3x3 stride 2 (borders average fewer pixels)', model: single('AVERAGE_POOL_2D', [[1, 7, 7, 2]], [], [1, 4, 4, 2], pool(Padding.SAME, 2, 3)) },
    { name: 'MAX_POOL_2D SAME 2x2 stride 2, RELU', model: single('MAX_POOL_2D', [[1, 5, 5, 3]], [], [1, 3, 3, 3], pool(Padding.SAME, 2, 2, Activation.RELU)) },
    { name: 'MEAN over H and W', model: single('MEAN', [[1, 4, 5, 3]], [ints('axes', [1, 2])], [1, 3], [[F.ReducerOptions.keepDims, 'bool', false]]) },
    { name: 'MEAN over H and W, keep dims', model: single('MEAN', [[1, 4, 5, 3]], [ints('axes', [1, 2])], [1, 1, 1, 3], [[F.ReducerOptions.keepDims, 'bool', true]]) },
    { name: 'MEAN over channels', model: single('MEAN', [[1, 4, 5, 3]], [ints('axes', [-1])], [1, 4, 5], [[F.ReducerOptions.keepDims, 'bool', false]]) },
    { name: 'CONCATENATION on channels', model: single('CONCATENATION', [[1, 3, 3, 2], [1, 3, 3, 5]], [], [1, 3, 3, 7], [[F.ConcatenationOptions.axis, 'i32', 3]]) },
    { name: 'CONCATENATION on height', model: single('CONCATENATION', [[1, 2, 3, 2], [1, 4, 3, 2]], [], [1, 6, 3, 2], [[F.ConcatenationOptions.axis, 'i32', 1]]) },
    { name: 'ADD of a per-channel constant, RELU6', model: single('ADD', [[1, 3, 4, 5]], [w('c', [5], -3, 3)], [1, 3, 4, 5], act(Activation.RELU6)) },
    { name: 'MUL of two activations, fused TANH (which TFLite leaves unapplied)', model: single('MUL', [[1, 3, 4, 2], [1, 3, 4, 2]], [], [1, 3, 4, 2], act(Activation.TANH)) },
    { name: 'SUB with broadcast over width', model: single('SUB', [[1, 3, 4, 2]], [w('c', [1, 1, 4, 2])], [1, 3, 4, 2], act(Activation.NONE)) },
    { name: 'DIV by a positive constant', model: single('DIV', [[1, 2, 2, 3]], [w('c', [3], 0.5, 2)], [1, 2, 2, 3], act(Activation.NONE)) },
    { name: 'MAXIMUM and broadcasting scalar', model: single('MAXIMUM', [[1, 2, 3, 2]], [w('c', [], -0.2, 0.2)], [1, 2, 3, 2]) },
    { name: 'RESHAPE NHWC to rows (layout-sensitive)', model: single('RESHAPE', [[1, 4, 3, 2]], [ints('shape', [1, 24])], [1, 24]) },
    { name: 'SOFTMAX with beta 0.5', model: single('SOFTMAX', [[2, 7]], [], [2, 7], [[F.SoftmaxOptions.beta, 'f32', 0.5]]) },
    { name: 'SOFTMAX over channels of an image', model: single('SOFTMAX', [[1, 3, 3, 4]], [], [1, 3, 3, 4], [[F.SoftmaxOptions.beta, 'f32', 1]]) },
    { name: 'PAD asymmetric', model: single('PAD', [[1, 3, 4, 2]], [ints('p', [0, 0, 1, 2, 0, 1, 0, 0], [4, 2])], [1, 6, 5, 2]) },
    { name: 'RESIZE_BILINEAR plain', model: single('RESIZE_BILINEAR', [[1, 3, 4, 2]], [ints('size', [7, 9])], [1, 7, 9, 2], resizeOpts(false, false, true)) },
    { name: 'RESIZE_BILINEAR half-pixel', model: single('RESIZE_BILINEAR', [[1, 3, 4, 2]], [ints('size', [7, 9])], [1, 7, 9, 2], resizeOpts(false, true, true)) },
    { name: 'RESIZE_BILINEAR align corners', model: single('RESIZE_BILINEAR', [[1, 3, 4, 2]], [ints('size', [7, 9])], [1, 7, 9, 2], resizeOpts(true, false, true)) },
    { name: 'RESIZE_NEAREST_NEIGHBOR plain', model: single('RESIZE_NEAREST_NEIGHBOR', [[1, 3, 4, 2]], [ints('size', [7, 9])], [1, 7, 9, 2], resizeOpts(false, false, false)) },
    { name: 'RESIZE_NEAREST_NEIGHBOR half-pixel', model: single('RESIZE_NEAREST_NEIGHBOR', [[1, 3, 4, 2]], [ints('size', [7, 9])], [1, 7, 9, 2], resizeOpts(false, true, false)) },
    { name: 'RESIZE_NEAREST_NEIGHBOR align corners', model: single('RESIZE_NEAREST_NEIGHBOR', [[1, 3, 4, 2]], [ints('size', [7, 9])], [1, 7, 9, 2], resizeOpts(true, false, false)) },
    { name: 'HARD_SWISH', model: single('HARD_SWISH', [[1, 4, 4, 3]], [], [1, 4, 4, 3]) },
    { name: 'LOGISTIC', model: single('LOGISTIC', [[1, 4, 4, 3]], [], [1, 4, 4, 3]) },
    { name: 'RELU6', model: single('RELU6', [[1, 4, 4, 3]], [], [1, 4, 4, 3]) },
    { name: 'LEAKY_RELU alpha 0.1', model: single('LEAKY_RELU', [[1, 4, 4, 3]], [], [1, 4, 4, 3], [[F.LeakyReluOptions.alpha, 'f32', 0.1]]) },
    { name: 'PRELU with a per-channel slope', model: single('PRELU', [[1, 4, 4, 3]], [w('a', [1, 1, 3], 0, 0.5)], [1, 4, 4, 3]) },
    { name: 'DEPTH_TO_SPACE block 2', model: single('DEPTH_TO_SPACE', [[1, 3, 2, 8]], [], [1, 6, 4, 2], [[F.DepthToSpaceOptions.blockSize, 'i32', 2]]) },
    { name: 'TRANSPOSE to NCHW', model: single('TRANSPOSE', [[1, 3, 4, 2]], [ints('perm', [0, 3, 1, 2])], [1, 2, 3, 4]) },
    {
      name: 'TRANSPOSE_CONV SAME stride 2 with bias',
      model: {
        tensors: [ints('out', [1, 8, 10, 3]), w('f', [3, 3, 3, 4]), { name: 'x', shape: [1, 4, 5, 4] }, w('b', [3]), { name: 'y', shape: [1, 8, 10, 3] }],
        operators: [{ op: 'TRANSPOSE_CONV', inputs: [0, 1, 2, 3], outputs: [4], options: [[F.TransposeConvOptions.padding, 'i8', Padding.SAME], [F.TransposeConvOptions.strideW, 'i32', 2], [F.TransposeConvOptions.strideH, 'i32', 2]] }],
        inputs: [2],
        outputs: [4],
      },
    },
    {
      name: 'CONV_2D with float16 weights through DEQUANTIZE',
      model: {
        tensors: [{ name: 'x', shape: [1, 6, 6, 3] }, float16Weights('f16', [4, 3, 3, 3]), { name: 'f', shape: [4, 3, 3, 3] }, w('b', [4]), { name: 'y', shape: [1, 6, 6, 4] }],
        operators: [
          { op: 'DEQUANTIZE', inputs: [1], outputs: [2] },
          { op: 'CONV_2D', inputs: [0, 2, 3], outputs: [4], options: conv(Padding.SAME, 1, 1, Activation.NONE) },
        ],
        inputs: [0],
        outputs: [4],
      },
    },
    {
      name: 'CONV_2D with per-channel int8 weights through DEQUANTIZE',
      model: {
        tensors: [
          { name: 'x', shape: [1, 5, 5, 2] },
          { name: 'q', shape: [3, 3, 3, 2], type: 'INT8', data: Int8Array.from(randomFloats(54, seed++, -127, 127), Math.round), quantization: { scale: [0.01, 0.02, 0.005], zeroPoint: [0, 0, 0] } },
          { name: 'f', shape: [3, 3, 3, 2] },
          w('b', [3]),
          { name: 'y', shape: [1, 3, 3, 3] },
        ],
        operators: [
          { op: 'DEQUANTIZE', inputs: [1], outputs: [2] },
          { op: 'CONV_2D', inputs: [0, 2, 3], outputs: [4], options: conv(Padding.VALID, 1, 1, Activation.NONE) },
        ],
        inputs: [0],
        outputs: [4],
      },
    },
    {
      name: 'FULLY_CONNECTED with block-sparse weights through DENSIFY',
      model: {
        tensors: [
          { name: 'x', shape: [1, 4] },
          {
            name: 's', shape: [4, 4], data: Float32Array.from([1, 2, 3, 4, 5, 6, 7, 8]),
            sparsity: { traversalOrder: [0, 1, 2, 3], blockMap: [0, 1], levels: [{ size: 2 }, { segments: [0, 1, 2], indices: [1, 0] }, { size: 2 }, { size: 2 }] },
          },
          { name: 'w', shape: [4, 4] },
          w('b', [4]),
          { name: 'y', shape: [1, 4] },
        ],
        operators: [
          { op: 'DENSIFY', inputs: [1], outputs: [2] },
          { op: 'FULLY_CONNECTED', inputs: [0, 2, 3], outputs: [4] },
        ],
        inputs: [0],
        outputs: [4],
      },
    },
    {
      name: 'conv, then reshape and a fully connected layer (layout round trip)',
      model: {
        tensors: [{ name: 'x', shape: [1, 6, 6, 3] }, w('f', [4, 3, 3, 3]), w('b', [4]), { name: 'c', shape: [1, 3, 3, 4] }, ints('s', [1, 36]), { name: 'r', shape: [1, 36] }, w('fw', [5, 36]), w('fb', [5]), { name: 'y', shape: [1, 5] }],
        operators: [
          { op: 'CONV_2D', inputs: [0, 1, 2], outputs: [3], options: conv(Padding.SAME, 2, 1, Activation.RELU) },
          { op: 'RESHAPE', inputs: [3, 4], outputs: [5] },
          { op: 'FULLY_CONNECTED', inputs: [5, 6, 7], outputs: [8] },
        ],
        inputs: [0],
        outputs: [8],
      },
    },
  ];
  return list;
}

describeWithTfliteRef('TFLite operators against TFLite 2.9', () => {
  const all = cases();
  const inputsOf = (m: TestModel): { shape: number[]; data: Float32Array }[] =>
    m.inputs.map((i, k) => ({ shape: m.tensors[i].shape, data: randomFloats(m.tensors[i].shape.reduce((a, b) => a * b, 1), 1000 + k, -2, 2) }));
  const feeds = all.map((c) => inputsOf(c.model));
  const bytes = all.map((c) => buildTflite(c.model));
  let reference: (RefOutput[] | string)[];

  beforeAll(() => {
    reference = runTfliteRef(all.map((c, i) => ({ model: bytes[i], inputs: feeds[i] })));
  }, 60_000);

  it.each(all.map((c, i) => [c.name, i] as const))('%s', async (_, i) => {
    const ref = reference[i];
    if (typeof ref === 'string') throw new Error(`TFLite rejected the test model: ${ref}`);
    const model = readTflite(bytes[i], { file: all[i].name });
    inferShapes(model.graph);
    const ex = await createOrtExecutor(model, { backend: 'node' });
    try {
      const input: Record<string, Tensor> = {};
      model.graph.inputs.forEach((v, k) => {
        const f = feeds[i][k];
        input[v.name] = f.shape.length === 4
          ? new Tensor('float32', [f.shape[0], f.shape[3], f.shape[1], f.shape[2]], nhwcToNchw(f.data, f.shape))
          : new Tensor('float32', f.shape, f.data);
      });
      const out = await ex.run(input);
      const got = out[ref[0].name];
      const want = ref[0].shape.length === 4 ? nhwcToNchw(ref[0].data, ref[0].shape) : ref[0].data;
      const data = got.data as Float32Array;
      if (!closeTo(data, want, 1e-5, 1e-6)) throw new Error(`max relative error ${maxRelError(data, want)}`);
    } finally {
      await ex.dispose();
    }
  });
});
