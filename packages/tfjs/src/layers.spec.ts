import type * as TF from '@tensorflow/tfjs';
import { NibbleError, Tensor, inferShapes, isNibbleError } from '@nibble/ir';
import { createOrtExecutor } from '@nibble/runtime';
import { closeTo, maxRelError, nhwcToNchw, randomFloats, tfWasm } from '@nibble/testing';
import { readTfjsModel } from './index';
import { layersModelSource, randomizeWeights } from './testing/synthetic';

/*
 * Layers models built with TF.js itself (random weights), imported and run
 * through the IR in onnxruntime, compared with TF.js's own predictions.
 * Together they use every supported layer and activation.
 */

type Build = (tf: typeof TF) => TF.LayersModel;

const imageModel: Build = (tf) => {
  const L = tf.layers;
  const x = tf.input({ shape: [15, 15, 3], name: 'image' });
  const apply = (layer: TF.layers.Layer, input: TF.SymbolicTensor | TF.SymbolicTensor[]): TF.SymbolicTensor => layer.apply(input) as TF.SymbolicTensor;
  let a = apply(L.zeroPadding2d({ padding: [[1, 0], [0, 1]] }), x);
  a = apply(L.conv2d({ filters: 8, kernelSize: 3, strides: 2, padding: 'same', activation: 'relu6', name: 'stem' }), a);
  a = apply(L.batchNormalization({ epsilon: 0.01 }), a);
  const dw = apply(L.depthwiseConv2d({ kernelSize: 3, depthMultiplier: 2, padding: 'same', activation: 'relu' }), a);
  const sep = apply(L.separableConv2d({ filters: 12, kernelSize: 3, padding: 'same', activation: 'sigmoid' }), a);
  const mp = apply(L.maxPooling2d({ poolSize: 3, strides: 2, padding: 'same' }), dw);
  const ap = apply(L.averagePooling2d({ poolSize: 3, strides: 2, padding: 'same' }), sep);
  const cat = apply(L.concatenate(), [mp, ap]);
  const up = apply(L.conv2dTranspose({ filters: 6, kernelSize: 3, strides: 2, padding: 'same', activation: 'tanh' }), cat);
  const us = apply(L.upSampling2d({ size: [2, 2] }), apply(L.conv2d({ filters: 6, kernelSize: 1 }), cat));
  const sum = apply(L.add(), [up, us]);
  const gate = apply(L.conv2d({ filters: 6, kernelSize: 1, activation: 'elu' }), a);
  let m = apply(L.multiply(), [sum, gate]);
  m = apply(L.leakyReLU({ alpha: 0.1 }), m);
  m = apply(L.prelu({ sharedAxes: [1, 2] }), m);
  m = apply(L.reLU({ maxValue: 2 }), m);
  const head1 = apply(L.dense({ units: 4, activation: 'softmax', name: 'probs' }), apply(L.globalAveragePooling2d({}), m));
  let head2 = apply(L.flatten(), apply(L.maxPooling2d({ poolSize: 2 }), m));
  head2 = apply(L.dense({ units: 6, activation: 'tanh' }), head2);
  head2 = apply(L.dropout({ rate: 0.5 }), head2);
  head2 = apply(L.reshape({ targetShape: [3, 2], name: 'pairs' }), head2);
  const head3 = apply(L.globalMaxPooling2d({ name: 'maxpooled' }), apply(L.conv2d({ filters: 5, kernelSize: 3, padding: 'valid' }), m));
  return tf.model({ inputs: x, outputs: [head1, head2, head3, m], name: 'image_model' });
};

const activationsModel: Build = (tf) => {
  const L = tf.layers;
  return tf.sequential({
    name: 'activations',
    layers: [
      L.conv2d({ inputShape: [6, 5, 2], filters: 4, kernelSize: 3, padding: 'same', activation: 'softplus' }),
      L.activation({ activation: 'hardSigmoid' }),
      L.conv2d({ filters: 4, kernelSize: 1, activation: 'swish' }),
      L.conv2d({ filters: 4, kernelSize: 1, activation: 'mish' }),
      L.conv2d({ filters: 4, kernelSize: 1, activation: 'gelu' }),
      L.conv2d({ filters: 4, kernelSize: 1, activation: 'gelu_new' }),
      L.elu({}),
      L.flatten(),
      L.dense({ units: 6, activation: 'selu' }),
      L.batchNormalization({}),
      L.activation({ activation: 'softsign' }),
      L.dense({ units: 5 }),
      L.softmax({}),
    ],
  });
};

const mergeModel: Build = (tf) => {
  const L = tf.layers;
  const a = tf.input({ shape: [4, 4, 3], name: 'a' });
  const b = tf.input({ shape: [3], name: 'b' });
  const apply = (layer: TF.layers.Layer, input: TF.SymbolicTensor | TF.SymbolicTensor[]): TF.SymbolicTensor => layer.apply(input) as TF.SymbolicTensor;
  const conv = apply(L.conv2d({ filters: 3, kernelSize: 2, strides: 2, padding: 'valid', activation: 'relu' }), a);
  const shared = L.dense({ units: 3, activation: 'tanh', name: 'shared' });
  const fromA = apply(shared, apply(L.flatten(), apply(L.averagePooling2d({ poolSize: 2 }), conv)));
  const fromB = apply(shared, b);
  const out = apply(L.concatenate({ axis: -1 }), [
    apply(L.maximum(), [fromA, fromB]),
    apply(L.minimum(), [fromA, fromB]),
    apply(L.average(), [fromA, fromB]),
  ]);
  return tf.model({ inputs: [a, b], outputs: out, name: 'merges' });
};

const MODELS: [string, Build][] = [['functional image model with every conv, pool and merge layer', imageModel], ['Sequential model with every activation', activationsModel], ['two inputs, a shared layer, merges', mergeModel]];

describe('TF.js layers models against TF.js', () => {
  it.each(MODELS)('%s', async (_, build) => {
    const tf = await tfWasm();
    const model = build(tf);
    randomizeWeights(tf, model, 11);
    const source = await layersModelSource(tf, model);
    const ir = await readTfjsModel(source);
    inferShapes(ir.graph);

    const feeds = model.inputs.map((inp, k) => {
      const shape = [2, ...inp.shape.slice(1)] as number[];
      return { shape, data: randomFloats(shape.reduce((p, q) => p * q, 1), 500 + k, -2, 2) };
    });
    const predicted = model.predict(feeds.map((f) => tf.tensor(f.data, f.shape))) as TF.Tensor | TF.Tensor[];
    const want = await Promise.all((Array.isArray(predicted) ? predicted : [predicted]).map(async (t) => {
      const d = new Float32Array(await t.data());
      return t.shape.length === 4 ? nhwcToNchw(d, t.shape as number[]) : d;
    }));

    const ex = await createOrtExecutor(ir, { backend: 'node' });
    try {
      const input: Record<string, Tensor> = {};
      ir.graph.inputs.forEach((v, k) => {
        const f = feeds[k];
        input[v.name] = f.shape.length === 4
          ? new Tensor('float32', [f.shape[0], f.shape[3], f.shape[1], f.shape[2]], nhwcToNchw(f.data, f.shape))
          : new Tensor('float32', f.shape, f.data);
      });
      const out = await ex.run(input);
      expect(ir.graph.outputs.map((v) => v.name)).toEqual(model.outputNames.map((n) => n.split('/')[0]));
      ir.graph.outputs.forEach((v, k) => {
        const got = out[v.name].data as Float32Array;
        if (!closeTo(got, want[k], 1e-5, 1e-6)) throw new Error(`output '${v.name}': max relative error ${maxRelError(got, want[k])}`);
      });
    } finally {
      await ex.dispose();
      model.dispose();
    }
  }, 60_000);
});

describe('TF.js layers model errors', () => {
  it('names an unsupported layer and lists the supported ones', async () => {
    const tf = await tfWasm();
    const model = tf.sequential({ layers: [tf.layers.dense({ inputShape: [4], units: 3 }), tf.layers.repeatVector({ n: 2, name: 'repeat' })] });
    const source = await layersModelSource(tf, model);
    let err: NibbleError | undefined;
    try {
      await readTfjsModel({ ...source, file: 'repeat.json' });
    } catch (e) {
      if (isNibbleError(e)) err = e;
    }
    expect(err?.code).toBe('E_UNSUPPORTED_OP');
    expect(err?.message).toContain("layer 'repeat' is a RepeatVector");
    expect(err?.place).toMatchObject({ file: 'repeat.json', node: 'repeat', op: 'RepeatVector' });
    expect(err?.hint).toContain('Conv2D');
    expect(err?.hint).toContain('DepthwiseConv2D');
  });

  it('names a layer whose weight the manifest lacks', async () => {
    const tf = await tfWasm();
    const model = tf.sequential({ layers: [tf.layers.dense({ inputShape: [4], units: 3, name: 'fc' })] });
    const source = await layersModelSource(tf, model);
    const json = source.modelJson as { weightsManifest: { weights: { name: string }[] }[] };
    json.weightsManifest[0].weights[0].name = 'elsewhere/kernel';
    await expect(readTfjsModel(source)).rejects.toMatchObject({ code: 'E_FILE_FORMAT', place: { node: 'fc' } });
  });
});
