import { existsSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { attr, createModel, Graph, Tensor } from '@nibble/ir';
import { writeOnnxFile } from '@nibble/onnx';
import { cli } from '../testing/run-cli';

/** x[N,1,28,28] -> Conv 1->3 k5 s4 -> Relu -> Flatten -> Gemm -> logits[N,2]. */
function tinyModel(dir: string): string {
  const g = new Graph('tiny');
  const x = g.addInput('x', { dtype: 'float32', shape: ['N', 1, 28, 28] });
  const w = g.addInitializer('w', Tensor.from('float32', [3, 1, 5, 5], Array.from({ length: 75 }, (_, i) => Math.sin(i))));
  const conv = g.addNode({ opType: 'Conv', inputs: [x, w], outputs: ['c'], attributes: { kernel_shape: attr.ints([5, 5]), strides: attr.ints([4, 4]) } });
  const relu = g.addNode({ opType: 'Relu', inputs: [conv.outputs[0]], outputs: ['r'] });
  const flat = g.addNode({ opType: 'Flatten', inputs: [relu.outputs[0]], outputs: ['f'] });
  const fw = g.addInitializer('fw', Tensor.from('float32', [108, 2], Array.from({ length: 216 }, (_, i) => Math.cos(i) / 10)));
  const gemm = g.addNode({ opType: 'Gemm', inputs: [flat.outputs[0], fw], outputs: ['logits'] });
  g.addOutput(gemm.outputs[0]);
  const path = join(dir, 'tiny.onnx');
  writeOnnxFile(createModel(g, 17, 8), path);
  return path;
}

describe('nibble calibrate', () => {
  const dir = mkdtempSync(join(tmpdir(), 'nibble-cli-calibrate-'));
  const model = tinyModel(dir);

  it('writes the statistics of every activation and weight, and a summary', async () => {
    const out = join(dir, 'stats.json');
    const r = await cli('calibrate', model, '--data', 'fashion-mnist:calib', '--samples', '20', '--batch', '8', '--seed', '1', '--out', out, '--json', '--preprocess', 'fashion-mnist');
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    const summary = JSON.parse(r.out);
    expect(summary).toMatchObject({ data: 'fashion-mnist:calib', samples: 20, activations: 5, weights: 2, out });
    const stats = JSON.parse(readFileSync(out, 'utf8'));
    expect(stats.activations.map((a: { name: string }) => a.name)).toEqual(['x', 'c', 'r', 'f', 'logits']);
    expect(stats.activations[2].perChannel.min).toEqual([0, 0, 0]);
    expect(stats.weights[0]).toMatchObject({ name: 'w', axis: 0, shape: [3, 1, 5, 5] });
    // Atomic write: nothing but the result is left beside it.
    expect(readdirSync(dir).sort()).toEqual(['stats.json', 'tiny.onnx']);
  });

  it('prints a readable summary, with histograms on request', async () => {
    const out = join(dir, 'hist.json');
    const r = await cli('calibrate', model, '--data', 'fashion-mnist:test', '--samples', '8', '--histogram', '64', '--out', out, '--force');
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/calibrated .*tiny\.onnx on fashion-mnist:test: 8 samples/);
    expect(r.out).toMatch(/wrote .*hist\.json: statistics of 5 activations and 2 weights/);
    expect(JSON.parse(readFileSync(out, 'utf8')).activations[1].perTensor.histograms[0].bins).toBe(64);
  });

  it('exits 2 naming the dataset when the spec is bad or its file is missing', async () => {
    const out = join(dir, 'never.json');
    const bad = await cli('calibrate', model, '--data', 'fashion-mnist:nope', '--out', out);
    expect(bad.code).toBe(2);
    expect(bad.err).toMatch(/fashion-mnist.*nope/);
    const missing = await cli('calibrate', model, '--data', 'idx:/nonexistent/dir/images.idx', '--out', out);
    expect(missing.code).toBe(2);
    expect(missing.err).toContain('/nonexistent/dir/images.idx');
    const noData = await cli('calibrate', model, '--out', out);
    expect(noData.code).toBe(2);
    expect(noData.err).toMatch(/needs --data/);
    const badSamples = await cli('calibrate', model, '--data', 'fashion-mnist:calib', '--samples', 'ten', '--out', out);
    expect(badSamples.code).toBe(2);
    expect(badSamples.err).toMatch(/--samples must be an integer/);
    expect(existsSync(out)).toBe(false);
  });
});
