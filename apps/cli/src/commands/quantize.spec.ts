import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { encodeNpy } from '@nibble/data';
import { attr, createModel, Graph, SeededRandom, Tensor, type Value } from '@nibble/ir';
import { readOnnxFile, writeOnnxFile } from '@nibble/onnx';
import { randomFloats } from '@nibble/testing';
import { cli } from '../testing/run-cli';

/** x[N,1,28,28] -> Conv 1->4 k3 s2 -> Relu -> MaxPool -> Conv 4->6 k3 pad1 -> Relu -> GAP -> Flatten -> Gemm -> logits[N,10]. */
function tinyModel(dir: string): string {
  const g = new Graph('tiny');
  const rand = new SeededRandom(7);
  const w = (name: string, shape: number[], scale: number): Value => g.addInitializer(name, new Tensor('float32', shape, randomFloats(shape.reduce((a, b) => a * b, 1), rand, -scale, scale)));
  const node = (opType: string, name: string, inputs: Value[], attributes = {}): Value => g.addNode({ opType, name, inputs, outputs: [name], attributes }).outputs[0];
  const x = g.addInput('x', { dtype: 'float32', shape: ['N', 1, 28, 28] });
  let h = node('Conv', 'conv1', [x, w('w1', [4, 1, 3, 3], 0.8), w('b1', [4], 0.1)], { kernel_shape: attr.ints([3, 3]), strides: attr.ints([2, 2]) });
  h = node('Relu', 'relu1', [h]);
  h = node('MaxPool', 'pool', [h], { kernel_shape: attr.ints([2, 2]), strides: attr.ints([2, 2]) });
  h = node('Conv', 'conv2', [h, w('w2', [6, 4, 3, 3], 0.5), w('b2', [6], 0.1)], { kernel_shape: attr.ints([3, 3]), pads: attr.ints([1, 1, 1, 1]) });
  h = node('Relu', 'relu2', [h]);
  h = node('GlobalAveragePool', 'gap', [h]);
  h = node('Flatten', 'flat', [h]);
  g.addOutput(node('Gemm', 'fc', [h, w('fw', [10, 6], 1), w('fb', [10], 0.1)], { transB: attr.int(1) }));
  const path = join(dir, 'tiny.onnx');
  writeOnnxFile(createModel(g, 13, 7), path);
  return path;
}

const PIPELINE = 'fold-bn,fold-constants,eliminate-dead-code,mark-fused-relu,quant-policy{w-bits=4,a-bits=4},quantize';

describe('nibble recipes', () => {
  it('lists every recipe with its expansion', async () => {
    const r = await cli('recipes', '--json');
    expect(r.code).toBe(0);
    const list = JSON.parse(r.out) as { name: string; aliases: string[]; pipeline: string }[];
    expect(list.map((x) => x.name)).toEqual([
      'w8a4-baseline', 'w8a4-aciq', 'w8a4-alloc', 'w8a4-aciq-alloc', 'w4a8-baseline', 'w4a8-biascorr', 'w4a8-alloc', 'w4a8-biascorr-alloc',
      'w4a4-baseline', 'w4a4-all', 'w4a4-percentile', 'w4a4-kl', 'w4a4-mse', 'w3a3-baseline', 'w3a3-all',
      'nibble-w4a4', 'nibble-w3a3', 'nibble-w4a8', 'nibble-w8a4', 'w4a4-vlc', 'w3a3-vlc',
    ]);
    expect(list.find((x) => x.name === 'w4a4-all')!.aliases).toEqual(['paper-w4a4']);
    for (const x of list) expect(x.pipeline.startsWith('fold-bn,fold-constants,eliminate-dead-code,mark-fused-relu,quant-policy')).toBe(true);
    const text = await cli('recipes');
    expect(text.out).toContain('w4a4-all (alias paper-w4a4)');
  });
});

describe('nibble quantize and nibble eval', () => {
  const dir = mkdtempSync(join(tmpdir(), 'nibble-cli-quantize-'));
  const model = tinyModel(dir);
  const out = join(dir, 'tiny-w4a4.onnx');

  it('quantizes with a recipe, prints the expansion and what it achieved, and writes a QDQ model onnxruntime runs', async () => {
    const r = await cli('quantize', model, '--data', 'fashion-mnist:calib', '--samples', '64', '--batch', '16', '--recipe', 'paper-w4a4', '--out', out, '--json', '--preprocess', 'fashion-mnist');
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    const summary = JSON.parse(r.out);
    expect(summary.recipe).toBe('w4a4-all');
    expect(summary.pipeline).toBe(JSON.parse((await cli('recipes', '--json')).out).find((x: { name: string }) => x.name === 'w4a4-all').pipeline);
    expect(summary.calibration).toEqual({ samples: 64, data: 'fashion-mnist:calib' });
    // Allocation keeps each weight's mean at its budget: conv1 (first) and fc (last) 8-bit, conv2 4-bit, by parameter count.
    expect(summary.meanBits.weights).toBeLessThanOrEqual((8 * 36 + 4 * 216 + 8 * 60) / (36 + 216 + 60) + 1e-9);
    expect(summary.meanBits.activations).toBeGreaterThan(0);
    expect(summary.sizeBytes.quantized).toBeGreaterThan(0);
    const written = readOnnxFile(out);
    expect(written.opsetImports.get('')).toBe(21);
    expect(written.graph.nodes.map((n) => n.opType)).toContain('QuantizeLinear');
    expect(written.graph.initializers.some((v) => v.const!.dtype === 'int4')).toBe(true);
    const session = await ort.InferenceSession.create(readFileSync(out));
    const y = await session.run({ x: new ort.Tensor('float32', new Float32Array(2 * 784).fill(0.5), [2, 1, 28, 28]) });
    expect(y.fc.dims).toEqual([2, 10]);
    await session.release();
  });

  it('--json gives the entropy of every channel\'s codes and the mean bits per value (w4a4-vlc: levels not powers of two)', async () => {
    const vlc = join(dir, 'tiny-vlc.nbz');
    const r = await cli('quantize', model, '--data', 'fashion-mnist:calib', '--samples', '32', '--batch', '16', '--recipe', 'w4a4-vlc', '--out', vlc, '--json', '--preprocess', 'fashion-mnist');
    expect(r.code).toBe(0);
    const { entropy } = JSON.parse(r.out) as { entropy: { meanBits: { weights: number; activations: number }; meanLog2Levels: { weights: number }; perTensor: { name: string; kind: string; perChannel: number[]; meanBits: number; log2Levels: number; values: number }[] } };
    const weights = entropy.perTensor.filter((t) => t.kind === 'weight');
    expect(weights.map((t) => t.name).sort()).toEqual(['fw', 'w1', 'w2']);
    for (const t of entropy.perTensor) {
      // A channel's entropy never exceeds log2 of its levels; the mean per value is the channels' mean (equal sizes).
      expect(t.meanBits).toBeLessThanOrEqual(t.log2Levels + 1e-9);
      expect(t.perChannel.every((h) => h >= 0 && h <= 8)).toBe(true);
    }
    const conv2 = weights.find((t) => t.name === 'w2')!;
    expect(conv2.perChannel.length).toBe(6);
    expect(conv2.meanBits).toBeCloseTo(conv2.perChannel.reduce((a, b) => a + b, 0) / 6, 12);
    const n = weights.reduce((a, t) => a + t.values, 0);
    expect(entropy.meanBits.weights).toBeCloseTo(weights.reduce((a, t) => a + t.meanBits * t.values, 0) / n, 12);
    // Activations on the calibration histograms (alloc-bins asks for them).
    expect(entropy.meanBits.activations).toBeGreaterThan(0);
    expect(entropy.meanBits.activations).toBeLessThan(8);
  });

  it('quantizes with a pipeline and prints a summary for a person', async () => {
    const r = await cli('quantize', model, '--data', 'fashion-mnist:calib', '--samples', '16', '--pipeline', PIPELINE, '--out', out, '--force');
    expect(r.code).toBe(0);
    expect(r.out).toContain(`pipeline: ${PIPELINE}`);
    expect(r.out).not.toContain('recipe:');
    expect(r.out).toMatch(/calibration: 16 samples of fashion-mnist:calib/);
    // conv1 (first layer) and fc (last) weights are 8-bit, conv2's 4-bit: by parameter count.
    expect(r.out).toContain(`mean bits: weights ${((8 * 36 + 4 * 216 + 8 * 60) / (36 + 216 + 60)).toFixed(2)}`);
    expect(r.out).toMatch(/size: .*B float -> .*B quantized/);
  });

  it('--dry-run prints the plan without reading the model or the data', async () => {
    const r = await cli('quantize', join(dir, 'no-such-model.onnx'), '--recipe', 'paper-w4a4', '--samples', '64', '--dry-run');
    expect(r.code).toBe(0);
    expect(r.out).toContain('recipe: w4a4-all');
    expect(r.out).toContain('  7. clip-aciq{target=activations,refresh=false,dist=laplace,cap-observed=false,fc-minmax=false}');
    expect(r.out).toContain('calibration: 64 samples (seed 0), batches of 32; collects moments\n');
    const mse = await cli('quantize', 'm.onnx', '--recipe', 'w4a4-mse', '--dry-run', '--json');
    expect(JSON.parse(mse.out).calibration.needs).toEqual({ histograms: true, layerInputs: false });
    const fold = await cli('quantize', 'm.onnx', '--pipeline', 'quant-policy,quantize,bias-correct{fold=bias}', '--dry-run', '--json');
    expect(JSON.parse(fold.out).calibration.needs).toEqual({ histograms: false, layerInputs: true });
    const none = await cli('quantize', 'm.onnx', '--pipeline', 'fold-bn,fold-constants', '--dry-run', '--allow-unquantized');
    expect(none.out).toContain('calibration: none');
  });

  it('--timing and --print-ir-after report on stderr, stdout unchanged', async () => {
    const r = await cli('quantize', model, '--data', 'fashion-mnist:calib', '--samples', '8', '--pipeline', PIPELINE, '--out', out, '--force', '--timing', '--print-ir-after', 'quant-policy');
    expect(r.code).toBe(0);
    expect(r.out).toContain(`pipeline: ${PIPELINE}`);
    expect(r.err.match(/^\/\/ after /gm)).toHaveLength(1);
    expect(r.err).toContain('// after 5/6 quant-policy{');
    expect(r.err).toMatch(/^graph tiny\(%x : f32\[N,1,28,28\]\) \{$/m);
    expect(r.err).toMatch(/ms +[0-9.]+% +6\/6 quantize/);
    expect(r.err).toMatch(/ms 100\.0% +total/);
    const all = await cli('quantize', model, '--data', 'fashion-mnist:calib', '--samples', '8', '--pipeline', PIPELINE, '--out', out, '--force', '--print-ir-after', 'all');
    expect(all.err.match(/^\/\/ after /gm)).toHaveLength(6);
    const bad = await cli('quantize', model, '--data', 'fashion-mnist:calib', '--pipeline', PIPELINE, '--out', out, '--print-ir-after', 'quantise');
    expect(bad.code).toBe(2);
    expect(bad.err).toContain("did you mean 'quantize'");
  });

  it('eval prints top-1 and the sample count; labels from the float model give it 100%', async () => {
    // Labels that the float model gets right by construction: its own argmax.
    const n = 40;
    const x = Float32Array.from({ length: n * 784 }, (_, i) => (Math.sin(i * 0.37) + 1) / 2);
    const session = await ort.InferenceSession.create(readFileSync(model));
    const logits = (await session.run({ x: new ort.Tensor('float32', x, [n, 1, 28, 28]) })).fc.data as Float32Array;
    await session.release();
    const labels = Array.from({ length: n }, (_, i) => {
      const row = Array.from(logits.subarray(i * 10, i * 10 + 10));
      return row.indexOf(Math.max(...row));
    });
    writeFileSync(join(dir, 'x.npy'), encodeNpy('<f4', [n, 1, 28, 28], x));
    writeFileSync(join(dir, 'y.npy'), encodeNpy('<i8', [n], labels));
    const spec = `npy:${join(dir, 'x.npy')},${join(dir, 'y.npy')}`;
    const r = await cli('eval', model, '--data', spec, '--json');
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    const res = JSON.parse(r.out);
    expect(res).toMatchObject({ top1: 1, n, correct: n, quantized: false });
    const limited = JSON.parse((await cli('eval', model, '--data', spec, '--limit', '7', '--batch', '3', '--json')).out);
    expect(limited).toMatchObject({ top1: 1, n: 7 });
    const qr = await cli('eval', out, '--data', spec, '--json');
    expect(qr.err).toBe('');
    const q = JSON.parse(qr.out);
    expect(q.n).toBe(n);
    expect(q.top1).toBeGreaterThanOrEqual(0);
    expect(q.top1).toBeLessThanOrEqual(1);
    // The int4 WebAssembly backend runs the same file to the same predictions.
    const wasm = JSON.parse((await cli('eval', out, '--data', spec, '--backend', 'wasm', '--json')).out);
    expect(wasm).toMatchObject({ n, correct: q.correct, backend: 'wasm' });
    const badBackend = await cli('eval', out, '--data', spec, '--backend', 'gpu');
    expect(badBackend.code).toBe(2);
    expect(badBackend.err).toContain("use 'ort' (the default), 'wasm' or 'webgpu'");
    const text = await cli('eval', model, '--data', spec);
    expect(text.out).toMatch(/^top-1: 100\.00% \(40 of 40 samples/m);
  });

  it('user errors exit 2 with what to do', async () => {
    const unknown = await cli('quantize', model, '--data', 'fashion-mnist:calib', '--recipe', 'w4a4-alll', '--out', out);
    expect(unknown.code).toBe(2);
    expect(unknown.err).toContain("did you mean 'w4a4-all'");
    expect(unknown.err).toContain('w8a4-baseline');
    const both = await cli('quantize', model, '--data', 'fashion-mnist:calib', '--recipe', 'w4a4-all', '--pipeline', PIPELINE, '--out', out, '--force');
    expect(both.code).toBe(2);
    expect(both.err).toContain('not both');
    const neither = await cli('quantize', model, '--data', 'fashion-mnist:calib', '--out', out);
    expect(neither.code).toBe(2);
    const noOut = await cli('quantize', model, '--data', 'fashion-mnist:calib', '--recipe', 'w4a4-all', '--json');
    expect(noOut.code).toBe(2);
    expect(JSON.parse(noOut.err).error.option).toBe('out');
    const tflite = await cli('quantize', model, '--data', 'fashion-mnist:calib', '--recipe', 'w4a4-all', '--out', join(dir, 'm.tflite'));
    expect(tflite.code).toBe(2);
    // A missing output directory is found before any work.
    const noDir = await cli('quantize', model, '--data', 'fashion-mnist:calib', '--recipe', 'w4a4-all', '--out', join(dir, 'missing', 'q.onnx'));
    expect(noDir.code).toBe(2);
    expect(noDir.err).toContain('does not exist');
    const badPass = await cli('quantize', model, '--data', 'fashion-mnist:calib', '--pipeline', 'fold-bn,quantise', '--out', out);
    expect(badPass.code).toBe(2);
    expect(badPass.err).toContain("did you mean 'quantize'");
    const noData = await cli('eval', model);
    expect(noData.code).toBe(2);
    expect(noData.err).toContain('--data');
  });
});
