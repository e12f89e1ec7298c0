import { Tensor, inferShapes, type Model } from '@nibble/ir';
import { writeOnnx } from '@nibble/onnx';
import { createOrtExecutor } from '@nibble/runtime';
import { closeTo, fixturePhoto, type FixturePhoto, maxAbsError, maxRelError, nhwcToNchw, photoNhwc, tfWasm } from '@nibble/testing';
import { readTfjsModel } from '@nibble/tfjs';
import { NSFWJS_MODELS, nsfwjsArtifacts, nsfwjsSource, type NsfwjsModel } from './testing/nsfwjs';

/*
 * The nsfwjs models (real, uint8-quantized weights, nobody here wrote them)
 * imported, run through the IR in onnxruntime, and compared with
 * TensorFlow.js (wasm backend) running the original on photos. Besides the
 * softmax output (which saturates), a hidden layer and the logits are
 * compared, where an error would not hide.
 */

interface Probe {
  /** Names in our IR, in the TF.js model (layer or node), and whether the value is an NHWC image. */
  ir: string;
  tf: string;
  image?: boolean;
}

const PROBES: Record<NsfwjsModel, Probe[]> = {
  mobilenet_v2: [
    { ir: 'block_3_expand_relu', tf: 'block_3_expand_relu', image: true },
    { ir: 'dense_2', tf: 'dense_2' },
    { ir: 'dense_3', tf: 'dense_3' },
  ],
  inception_v3: [
    { ir: 'mixed2', tf: 'mixed2', image: true },
    { ir: 'dense_2', tf: 'dense_2' },
    { ir: 'dense_3', tf: 'dense_3' },
  ],
  mobilenet_v2_mid: [
    { ir: 'StatefulPartitionedCall/sequential/dense/BiasAdd', tf: 'StatefulPartitionedCall/sequential/dense/BiasAdd' },
    { ir: 'Identity', tf: 'Identity' },
  ],
};

const CASES: [NsfwjsModel, FixturePhoto][] = [
  ['mobilenet_v2', 'chelsea.jpg'],
  ['mobilenet_v2', 'coffee.jpg'],
  ['mobilenet_v2_mid', 'chelsea.jpg'],
  ['mobilenet_v2_mid', 'coffee.jpg'],
  ['inception_v3', 'coffee.jpg'],
];

async function reference(name: NsfwjsModel, x: Float32Array, size: number): Promise<Float32Array[]> {
  const tf = await tfWasm();
  const artifacts = tf.io.fromMemory(nsfwjsArtifacts(nsfwjsSource(name)));
  const input = tf.tensor4d(x, [1, size, size, 3]);
  let outs: import('@tensorflow/tfjs').Tensor[];
  if (NSFWJS_MODELS[name].format === 'graph-model') {
    const g = await tf.loadGraphModel(artifacts);
    outs = g.execute(input, PROBES[name].map((p) => p.tf)) as import('@tensorflow/tfjs').Tensor[];
    g.dispose();
  } else {
    const m = await tf.loadLayersModel(artifacts);
    const probe = tf.model({ inputs: m.inputs, outputs: PROBES[name].map((p) => m.getLayer(p.tf).output as import('@tensorflow/tfjs').SymbolicTensor) });
    outs = probe.predict(input) as import('@tensorflow/tfjs').Tensor[];
    m.dispose();
  }
  const data = await Promise.all(outs.map(async (t) => {
    const d = new Float32Array(await t.data());
    return t.shape.length === 4 ? nhwcToNchw(d, t.shape) : d;
  }));
  tf.dispose([input, ...outs]);
  return data;
}

const models = new Map<NsfwjsModel, Promise<Model>>();
const load = (name: NsfwjsModel): Promise<Model> => {
  if (!models.has(name)) models.set(name, readTfjsModel(nsfwjsSource(name)));
  return models.get(name)!;
};

describe('nsfwjs models through the IR against TensorFlow.js', () => {
  it.each(['mobilenet_v2', 'mobilenet_v2_mid', 'inception_v3'] as const)('%s imports with an NCHW input and types that shape inference confirms', async (name) => {
    const model = await load(name);
    const { size } = NSFWJS_MODELS[name];
    expect(model.graph.inputs[0].type?.shape).toEqual(['N', 3, size, size]);
    expect(model.graph.outputs[0].type?.shape).toEqual(['N', 5]);
    expect(model.metadata.get('nibble.source_format')).toBe(`tfjs-${NSFWJS_MODELS[name].format}`);
    expect(inferShapes(model.graph).opsWithoutInference).toEqual([]);
    // uint8 weights were dequantized into float32 initializers.
    expect(model.graph.initializers.every((v) => v.const!.dtype === 'float32' || v.const!.dtype === 'int64')).toBe(true);
  }, 30_000);

  it('is deterministic: the same model gives byte-identical ONNX', async () => {
    // Two fresh imports (the cached one has been through shape inference).
    const a = writeOnnx(await readTfjsModel(nsfwjsSource('mobilenet_v2')));
    const b = writeOnnx(await readTfjsModel(nsfwjsSource('mobilenet_v2')));
    expect(Buffer.compare(Buffer.from(a), Buffer.from(b))).toBe(0);
  }, 30_000);

  it.each(CASES)('%s on %s matches TF.js to 1e-4 relative', async (name, photo) => {
    const { size } = NSFWJS_MODELS[name];
    const x = photoNhwc(fixturePhoto(photo), size);
    const want = await reference(name, x, size);
    const model = await load(name);
    const probes = PROBES[name];
    const ex = await createOrtExecutor(model, { backend: 'node', extraOutputs: probes.map((p) => p.ir) });
    try {
      const out = await ex.run({ [model.graph.inputs[0].name]: new Tensor('float32', [1, 3, size, size], nhwcToNchw(x, [1, size, size, 3])) }, probes.map((p) => p.ir));
      probes.forEach((p, i) => {
        const got = out[p.ir].data as Float32Array;
        console.log(`${name} ${photo} ${p.ir}: max relative error ${maxRelError(got, want[i]).toExponential(2)}, max abs ${maxAbsError(got, want[i]).toExponential(2)}`);
        expect(closeTo(got, want[i], 1e-4, 1e-7)).toBe(true);
      });
    } finally {
      await ex.dispose();
    }
  }, 60_000);
});
