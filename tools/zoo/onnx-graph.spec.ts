import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as ort from 'onnxruntime-node';
import * as tf from '@tensorflow/tfjs';
import { writeOnnxFile } from '@nibble/onnx';
import { ARCH_NAMES, buildArch, inferShapes } from './arch';
import { initWasmBackend } from './tf-wasm';
import { forward, Params } from './forward';
import { buildOnnxModel, ONNX_INPUT, ONNX_OUTPUT, WeightMap } from './onnx-graph';
import { initialParams } from './train';
import { Prng } from './prng';

/** Random weights with BN statistics away from identity, so a wrong BN export shows. */
function randomWeights(archName: string, seed: number): WeightMap {
  const arch = buildArch(archName);
  const { params } = inferShapes(arch);
  const rng = new Prng(seed);
  const init = initialParams(params, rng);
  const out: WeightMap = new Map();
  for (const [name, shape] of params) {
    const data = init.get(name)!;
    const field = name.split('/').pop();
    for (let i = 0; i < data.length; i++) {
      if (field === 'gamma' || field === 'moving_variance') data[i] = 0.5 + rng.next();
      else if (field === 'beta' || field === 'moving_mean' || field === 'bias') data[i] = 0.2 * rng.normal();
    }
    out.set(name, { shape, data });
  }
  return out;
}

describe('ONNX export of the zoo architectures', () => {
  let dir: string;
  beforeAll(async () => {
    await initWasmBackend();
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'zoo-onnx-'));
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it.each(ARCH_NAMES.map((a) => [a]))('%s: onnxruntime on the written file reproduces the TF.js logits', async (archName) => {
    const arch = buildArch(archName);
    const weights = randomWeights(archName, 5);
    const file = path.join(dir, `${archName}.onnx`);
    writeOnnxFile(buildOnnxModel(arch, weights), file);

    const n = 3;
    const rng = new Prng(9);
    const pixels = Float32Array.from({ length: n * 784 }, () => rng.normal());
    const params: Params = new Map();
    for (const [name, w] of weights) params.set(name, tf.variable(tf.tensor(w.data, w.shape), false, `spec-${archName}/${name}`));
    const ref = tf.tidy(() => forward(arch, params, tf.tensor4d(pixels, [n, 28, 28, 1]), false).dataSync() as Float32Array);
    params.forEach((v) => v.dispose());

    const session = await ort.InferenceSession.create(file);
    const out = await session.run({ [ONNX_INPUT]: new ort.Tensor('float32', pixels, [n, 1, 28, 28]) });
    await session.release();
    const got = out[ONNX_OUTPUT];
    expect(got.dims).toEqual([n, 10]);
    let maxDiff = 0;
    let maxRef = 0;
    for (let i = 0; i < ref.length; i++) {
      maxDiff = Math.max(maxDiff, Math.abs((got.data as Float32Array)[i] - ref[i]));
      maxRef = Math.max(maxRef, Math.abs(ref[i]));
    }
    expect(maxRef).toBeGreaterThan(0.1); // the logits are not trivially small
    expect(maxDiff).toBeLessThan(1e-4 * Math.max(1, maxRef));
  });

  it('writes the ops the quantizer expects, with BN unfolded and Clip(0,6) for ReLU6', () => {
    const ops = (a: string): Set<string> => new Set(buildOnnxModel(buildArch(a), randomWeights(a, 1)).graph.nodes.map((n) => n.opType));
    expect([...ops('resnet20')].sort()).toEqual(['Add', 'BatchNormalization', 'Conv', 'Flatten', 'Gemm', 'GlobalAveragePool', 'Relu']);
    expect([...ops('vgg')].sort()).toEqual(['BatchNormalization', 'Conv', 'Flatten', 'Gemm', 'GlobalAveragePool', 'MaxPool', 'Relu']);
    expect([...ops('mobilenetv2')].sort()).toEqual(['Add', 'BatchNormalization', 'Clip', 'Conv', 'Flatten', 'Gemm', 'GlobalAveragePool']);
    const m = buildOnnxModel(buildArch('mobilenetv2'), randomWeights('mobilenetv2', 1));
    const dw = m.graph.nodes.find((n) => n.name === 'ir2_dw_conv')!;
    expect(dw.getInt('group', 1)).toBe(96);
    expect(dw.getInts('pads', [])).toEqual([0, 0, 1, 1]); // stride 2 on 28x28: TF 'same' puts the pad after
    expect(m.opsetImports.get('')).toBe(21);
  });

  it('is byte-identical for the same weights', () => {
    const a = buildArch('resnet20');
    const w = randomWeights('resnet20', 2);
    const f1 = path.join(dir, 'r1.onnx');
    const f2 = path.join(dir, 'r2.onnx');
    writeOnnxFile(buildOnnxModel(a, w), f1);
    writeOnnxFile(buildOnnxModel(a, w), f2);
    expect(Buffer.compare(fs.readFileSync(f1), fs.readFileSync(f2))).toBe(0);
  });

  it('names the missing weight when the trained values do not fit', () => {
    const w = randomWeights('vgg', 1);
    w.delete('c2a_bn/gamma');
    expect(() => buildOnnxModel(buildArch('vgg'), w)).toThrow(/c2a_bn\/gamma/);
  });
});
