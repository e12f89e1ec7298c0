import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openDataset } from '@nibble/data';
import { attr, createModel, Graph, type Model, SeededRandom, Tensor } from '@nibble/ir';
import { randomFloats } from '@nibble/testing';
import { calibrate, datasetCalibrationData, readCalibrationStats, writeCalibrationStats } from './calibrate';

/** x[N,1,28,28] -> Conv 1->4 k3 s2 -> Relu -> GlobalAveragePool -> Flatten -> Gemm 4->10. */
function fmnistNet(): Model {
  const rand = new SeededRandom(99);
  const t = (shape: number[]) => new Tensor('float32', shape, randomFloats(shape.reduce((a, b) => a * b, 1), rand, -0.5, 0.5));
  const g = new Graph('fmnist-tiny');
  const x = g.addInput('x', { dtype: 'float32', shape: ['N', 1, 28, 28] });
  const conv = g.addNode({
    opType: 'Conv', name: 'conv', inputs: [x, g.addInitializer('w', t([4, 1, 3, 3])), g.addInitializer('b', t([4]))], outputs: ['conv'],
    attributes: { kernel_shape: attr.ints([3, 3]), strides: attr.ints([2, 2]) },
  });
  const relu = g.addNode({ opType: 'Relu', name: 'relu', inputs: [conv.outputs[0]], outputs: ['relu'] });
  const gap = g.addNode({ opType: 'GlobalAveragePool', name: 'gap', inputs: [relu.outputs[0]], outputs: ['gap'] });
  const flat = g.addNode({ opType: 'Flatten', name: 'flat', inputs: [gap.outputs[0]], outputs: ['flat'] });
  const fc = g.addNode({ opType: 'Gemm', name: 'fc', inputs: [flat.outputs[0], g.addInitializer('fw', t([10, 4])), g.addInitializer('fb', t([10]))], outputs: ['logits'], attributes: { transB: attr.int(1) } });
  g.addOutput(fc.outputs[0]);
  return createModel(g, 17, 8);
}

describe('calibrate (public API)', () => {
  const model = fmnistNet();

  it('calibrates on a seeded subset of fashion-mnist:calib with the preset, the inputs matching the data', async () => {
    const progress: string[] = [];
    const stats = await calibrate(model, { data: 'fashion-mnist:calib', samples: 40, seed: 3, batchSize: 16, onProgress: (p) => progress.push(`${p.pass}:${p.samplesDone}/${p.samplesTotal}`) });
    expect(stats.samples).toBe(40);
    expect(stats.data).toBe('fashion-mnist:calib');
    // One sample first (it sizes the runs), then the data's batches; the second pass makes the deviations exact.
    const runs = [1, 16, 32, 40];
    expect(progress).toEqual([...runs.map((n) => `1:${n}/40`), ...runs.map((n) => `2:${n}/40`)]);
    expect(stats.passes).toBe(2);
    expect(stats.activationNames()).toEqual(['x', 'conv', 'relu', 'gap', 'flat', 'logits']);
    expect(stats.weightNames()).toEqual(['w', 'b', 'fw', 'fb']);
    // The input statistics are those of the chosen images, scaled to [0, 1].
    const ds = await openDataset('fashion-mnist:calib', { preprocess: 'fashion-mnist' });
    const chosen = ds.order({ shuffle: true, seed: 3, limit: 40 });
    const pixels = (await ds.batch(chosen)).inputs.data as Float32Array;
    let sum = 0;
    let max = 0;
    for (const p of pixels) {
      sum += p;
      max = Math.max(max, p);
    }
    const x = stats.get('x').perTensor;
    expect(x.count).toBe(40 * 784);
    expect(Math.abs(x.mean - sum / pixels.length) / (sum / pixels.length)).toBeLessThan(1e-9);
    expect([x.min, x.max]).toEqual([0, max]);
    expect(stats.get('relu').perTensor.min).toBe(0);
  });

  it('writes the same file twice for the same inputs, and reads it back', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'nibble-calib-'));
    const run = () => calibrate(model, { data: 'fashion-mnist:test', samples: 24, batchSize: 8, histogram: { bins: 32 } });
    const first = await run();
    writeCalibrationStats(first, join(dir, 'a.json'));
    writeCalibrationStats(await run(), join(dir, 'b.json'));
    const a = readFileSync(join(dir, 'a.json'), 'utf8');
    expect(readFileSync(join(dir, 'b.json'), 'utf8')).toBe(a);
    expect(a).toMatch(/^\{\n {2}"format": "nibble-calibration-stats",/);
    const back = readCalibrationStats(join(dir, 'a.json'));
    expect(back.samples).toBe(24);
    expect(back.get('conv').perChannel!.histograms![2].counts).toEqual(first.get('conv').perChannel!.histograms![2].counts);
    expect(back.weights('w').perChannel!.mad).toEqual(first.weights('w').perChannel!.mad);
    writeFileSync(join(dir, 'bad.json'), '{"format":');
    expect(() => readCalibrationStats(join(dir, 'bad.json'))).toThrow(expect.objectContaining({ code: 'E_FILE_FORMAT' }));
  });

  it('takes the whole dataset when fewer samples exist than asked, and an opened dataset as data', async () => {
    const ds = await openDataset('fashion-mnist:calib', { preprocess: 'fashion-mnist' });
    const data = datasetCalibrationData(ds, 'x', { samples: 5000, batchSize: 500 });
    expect(data.samples).toBe(2000);
    const stats = await calibrate(model, { data: ds, samples: 8, values: ['conv'], weights: false });
    expect(stats.activationNames()).toEqual(['conv']);
    expect(stats.samples).toBe(8);
  });

  it('names the data at fault', async () => {
    await expect(calibrate(model, { data: 'fashion-mnist:nope' })).rejects.toMatchObject({ code: 'E_BAD_OPTION' });
    await expect(calibrate(model, { data: 'idx:/nonexistent/images.idx' })).rejects.toMatchObject({ code: 'E_FILE_NOT_FOUND', place: { file: '/nonexistent/images.idx' } });
    await expect(calibrate(model, { data: 'fashion-mnist:calib', preprocess: 'resize=14x14,gray' })).rejects.toMatchObject({ code: 'E_SHAPE' });
    await expect(calibrate(model, { data: 'fashion-mnist:calib', samples: 0 })).rejects.toMatchObject({ code: 'E_BAD_OPTION', place: { option: 'samples' } });
  });
});
