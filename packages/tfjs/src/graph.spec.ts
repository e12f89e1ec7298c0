import type * as TF from '@tensorflow/tfjs';
import { NibbleError, Tensor, inferShapes, isNibbleError } from '@nibble/ir';
import { createOrtExecutor } from '@nibble/runtime';
import { closeTo, maxRelError, nhwcToNchw, randomFloats, tfWasm } from '@nibble/testing';
import { supportedGraphOps } from './graph-ops';
import { readTfjsModel } from './index';
import { GraphBuilder, list, str, strs } from './testing/tf-graph';

/*
 * A graph model written here node by node (as the TF.js converter writes
 * GraphDefs), run by TF.js's graph executor and through the IR.
 */

function buildGraph(): { g: GraphBuilder; outputs: string[] } {
  const g = new GraphBuilder();
  g.node('x', 'Placeholder', [], { shape: { shape: { dim: [{ size: '-1' }, { size: '9' }, { size: '9' }, { size: '3' }] } }, dtype: { type: 'DT_FLOAT' } });
  const same = { padding: str('SAME'), data_format: str('NHWC'), dilations: list([1, 1, 1, 1]) };
  const c1 = g.node('conv1', 'Conv2D', ['x', g.weight('w1', [3, 3, 3, 4])], { ...same, strides: list([1, 2, 2, 1]) });
  const b1 = g.node('bias1', 'BiasAdd', [c1, g.weight('b1', [4])], { data_format: str('NHWC') });
  const r1 = g.node('relu6', 'Relu6', [b1]);
  const d1 = g.node('dw', 'DepthwiseConv2dNative', [r1, g.weight('wd', [3, 3, 4, 2])], { ...same, strides: list([1, 1, 1, 1]) });
  const f1 = g.node('fused', '_FusedConv2D', [d1, g.weight('w2', [1, 1, 8, 6]), g.weight('b2', [6])], { ...same, strides: list([1, 1, 1, 1]), fused_ops: strs(['BiasAdd', 'Relu']), num_args: { i: '1' } });
  const fd = g.node('fused_dw', 'FusedDepthwiseConv2dNative', [f1, g.weight('wd2', [3, 3, 6, 1]), g.weight('bd2', [6])],
    { padding: str('VALID'), data_format: str('NHWC'), dilations: list([1, 1, 1, 1]), strides: list([1, 2, 2, 1]), fused_ops: strs(['BiasAdd', 'Relu6']), num_args: { i: '1' } });
  const mp = g.node('maxpool', 'MaxPool', [f1], { ksize: list([1, 3, 3, 1]), strides: list([1, 2, 2, 1]), padding: str('SAME'), data_format: str('NHWC') });
  const pd = g.node('pad', 'Pad', [mp, g.ints('paddings', [0, 0, 1, 0, 0, 1, 0, 0], [4, 2])]);
  const ap = g.node('avgpool', 'AvgPool', [pd], { ksize: list([1, 2, 2, 1]), strides: list([1, 2, 2, 1]), padding: str('VALID'), data_format: str('NHWC') });
  const cat = g.node('concat', 'ConcatV2', [fd, ap, g.ints('axis', [3], [])], { N: { i: '2' } });
  const mean = g.node('mean', 'Mean', [cat, g.ints('axes', [1, 2])], { keep_dims: { b: false } });
  const mm = g.node('logits', '_FusedMatMul', [mean, g.weight('wm', [12, 5]), g.weight('bm', [5])], { transpose_a: { b: false }, transpose_b: { b: false }, fused_ops: strs(['BiasAdd']), num_args: { i: '1' } });
  const out1 = g.node('probs', 'Softmax', [mm]);

  const tr = g.node('transpose', 'Transpose', [f1, g.ints('perm', [0, 3, 1, 2])]);
  const rs = g.node('reshape', 'Reshape', [tr, g.ints('shape', [-1, 30, 5])]);
  const out2 = g.node('rows', 'Sigmoid', [rs]);

  const rz = g.node('resize', 'ResizeBilinear', [f1, g.ints('size', [7, 7])], { align_corners: { b: false }, half_pixel_centers: { b: true } });
  let v = g.node('sub', 'Sub', [rz, g.weight('shift', [6])]);
  v = g.node('mul', 'Mul', [v, g.weight('k', [], 0.5, 2)]);
  v = g.node('div', 'RealDiv', [v, g.weight('den', [6], 0.5, 2)]);
  v = g.node('max', 'Maximum', [v, g.weight('lo', [], -0.5, -0.4)]);
  v = g.node('min', 'Minimum', [v, g.weight('hi', [1, 1, 6], 0.5, 1)]);
  v = g.node('elu', 'Elu', [v]);
  v = g.node('leaky', 'LeakyRelu', [v], { alpha: { f: 0.3 } });
  const out3 = g.node('tanh', 'Tanh', [v]);

  const mk = g.node('mean_keep', 'Mean', [cat, g.ints('axes2', [1, 2])], { keep_dims: { b: true } });
  const sq = g.node('squeeze', 'Squeeze', [mk], { squeeze_dims: list([1, 2]) });
  const ex = g.node('expand', 'ExpandDims', [sq, g.ints('dim', [1], [])]);
  const out4 = g.node('shifted', 'AddV2', [ex, g.weight('c12', [12])]);

  const nn = g.node('nearest', 'ResizeNearestNeighbor', [f1, g.ints('size2', [10, 10])], { align_corners: { b: false }, half_pixel_centers: { b: false } });
  const pr = g.node('prelu', 'Prelu', [nn, g.weight('alpha', [6], 0, 0.5)]);
  const an = g.node('addn', 'AddN', [pr, nn, pr], { N: { i: '3' } });
  const out5 = g.node('out5', 'Identity', [an]);
  return { g, outputs: [out1, out2, out3, out4, out5] };
}

describe('TF.js graph models against TF.js', () => {
  it('lowers every op of a hand-written graph to what TF.js computes', async () => {
    const tf = await tfWasm();
    const { g, outputs } = buildGraph();
    const art = g.artifacts();
    const ref = await tf.loadGraphModel(tf.io.fromMemory(art));
    const xData = randomFloats(2 * 9 * 9 * 3, 77, -2, 2);
    const refOut = ref.execute(tf.tensor4d(xData, [2, 9, 9, 3]), outputs) as TF.Tensor[];
    const want = await Promise.all(refOut.map(async (t) => {
      const d = new Float32Array(await t.data());
      return t.shape.length === 4 ? nhwcToNchw(d, t.shape as number[]) : d;
    }));

    // Declare the outputs through a signature, as converted models do.
    const json = {
      format: 'graph-model',
      modelTopology: art.modelTopology,
      userDefinedMetadata: { signature: { outputs: Object.fromEntries(outputs.map((o) => [`${o}:0`, { name: `${o}:0` }])) } },
      weightsManifest: [{ paths: ['w.bin'], weights: art.weightSpecs }],
    };
    const model = await readTfjsModel({ modelJson: json, weights: { 'w.bin': new Uint8Array(art.weightData) } });
    inferShapes(model.graph);
    expect(model.graph.outputs.map((v) => v.name)).toEqual(outputs);
    const ex = await createOrtExecutor(model, { backend: 'node' });
    try {
      const out = await ex.run({ x: new Tensor('float32', [2, 3, 9, 9], nhwcToNchw(xData, [2, 9, 9, 3])) });
      outputs.forEach((name, k) => {
        const got = out[name].data as Float32Array;
        if (!closeTo(got, want[k], 1e-5, 1e-6)) throw new Error(`output '${name}': max relative error ${maxRelError(got, want[k])}`);
      });
    } finally {
      await ex.dispose();
      ref.dispose();
    }
  }, 60_000);

  it('names an unsupported op and its node, and lists the supported ones', async () => {
    const g = new GraphBuilder();
    g.node('x', 'Placeholder', [], { shape: { shape: { dim: [{ size: '1' }, { size: '4' }] } }, dtype: { type: 'DT_FLOAT' } });
    g.node('nms', 'NonMaxSuppressionV5', ['x']);
    const art = g.artifacts();
    let err: NibbleError | undefined;
    try {
      await readTfjsModel({ modelJson: { format: 'graph-model', modelTopology: art.modelTopology, weightsManifest: [{ paths: ['w'], weights: art.weightSpecs }] }, weights: { w: new Uint8Array(art.weightData) }, file: 'nms.json' });
    } catch (e) {
      if (isNibbleError(e)) err = e;
    }
    expect(err?.code).toBe('E_UNSUPPORTED_OP');
    expect(err?.message).toContain("node 'nms' uses TensorFlow op NonMaxSuppressionV5");
    expect(err?.place).toMatchObject({ file: 'nms.json', node: 'nms', op: 'NonMaxSuppressionV5' });
    expect(err?.hint).toContain('FusedDepthwiseConv2dNative');
    expect(supportedGraphOps()).toEqual(expect.arrayContaining(['Conv2D', 'DepthwiseConv2dNative', '_FusedConv2D', 'FusedDepthwiseConv2dNative', '_FusedMatMul', 'MatMul',
      'BiasAdd', 'Relu', 'Relu6', 'Elu', 'Sigmoid', 'Tanh', 'AddV2', 'Add', 'Sub', 'Mul', 'RealDiv', 'Maximum', 'Minimum', 'ConcatV2', 'Pad', 'MirrorPad', 'MaxPool',
      'AvgPool', 'Mean', 'Reshape', 'Squeeze', 'ExpandDims', 'Transpose', 'Softmax', 'Identity', 'Const', 'Placeholder', 'ResizeBilinear', 'ResizeNearestNeighbor']));
  });
});
