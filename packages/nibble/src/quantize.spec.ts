import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { datasetFromArrays } from '@nibble/data';
import { createPassContext, EXECUTOR_FACTORY, runPipeline, SOURCE_MODEL } from '@nibble/core';
import { cloneModel } from '@nibble/ir';
import { readOnnxFile, writeOnnx } from '@nibble/onnx';
import { createOrtExecutor } from '@nibble/runtime';
import { CALIBRATION_DATA, CALIBRATION_STATS, type CalibrationData, type CalibrationStats } from '@nibble/stats';
import { buildSmallConvNet, SMALL_NET_INPUT, smallNetInputs } from '@nibble/testing';
import { evaluate } from './evaluate';
import { type QuantizeProgress, quantize, saveQuantized } from './quantize';

function calibration(n: number): CalibrationData {
  const x = smallNetInputs(n, 1);
  return { samples: n, description: 'synthetic', async *batches() { yield { x }; } };
}

describe('quantize', () => {
  const model = buildSmallConvNet();
  const before = writeOnnx(model);

  it('runs a recipe and reports the expansion, mean bits per tensor kind, sizes and timings', async () => {
    const progress: QuantizeProgress[] = [];
    const { model: q, report } = await quantize(model, { recipe: 'w4a4-baseline', data: calibration(32), onProgress: (p) => progress.push(p) });
    expect(report.recipe).toBe('w4a4-baseline');
    expect(report.pipeline).toBe('fold-bn,fold-constants,eliminate-dead-code,mark-fused-relu,quant-policy{w-bits=4,a-bits=4},clip-minmax,quantize');
    expect(report.pipelineFull).toContain('quant-policy{w-bits=4,a-bits=4,');
    // conv1 (first) and fc (last) at 8 bits, conv2/3/4 at 4: by parameter count.
    const params = { conv1: 8 * 27, conv2: 8 * 36, conv3: 64, conv4: 16 * 72, fc: 160 };
    const want = (8 * (params.conv1 + params.fc) + 4 * (params.conv2 + params.conv3 + params.conv4)) / Object.values(params).reduce((a, b) => a + b, 0);
    expect(report.meanBits.weights).toBeCloseTo(want, 12);
    // conv outputs per channel at 4 bits (8+8+8+16 channels), pool1 and logits 8-bit per tensor.
    expect(report.meanBits.activations).toBeCloseTo((4 * 40 + 8 * 2) / 42, 12);
    const acts = report.perTensor.filter((t) => t.kind === 'activation');
    // 4-bit activation grids travel in uint8 containers (a run-time uint4 tensor corrupts onnxruntime 1.30's heap).
    expect(acts.map((t) => [t.name, t.container, t.axis, t.maxBits])).toEqual([
      ['conv1', 'uint8', 1, 4], ['pool1', 'uint8', null, 8], ['conv2', 'uint8', 1, 4], ['conv3', 'uint8', 1, 4], ['conv4', 'uint8', 1, 4], ['fc', 'uint8', null, 8],
    ]);
    expect(report.perTensor.filter((t) => t.kind === 'weight').map((t) => t.container)).toEqual(['int8', 'int4', 'int4', 'int4', 'int8']);
    expect(report.sizeBytes.quantized).toBeLessThan(report.sizeBytes.float);
    expect(report.calibration).toEqual({ samples: 32, data: 'synthetic' });
    expect(report.timings.passes.map((p) => p.pass)).toEqual(['fold-bn', 'fold-constants', 'eliminate-dead-code', 'mark-fused-relu', 'quant-policy', 'clip-minmax', 'quantize']);
    expect(progress.filter((p) => p.stage === 'pass').map((p) => p.index)).toEqual([1, 2, 3, 4, 5, 6, 7]);
    expect(progress.some((p) => p.stage === 'calibrate' && p.pass === 'clip-minmax' && p.samplesDone === 32)).toBe(true);
    expect(q.opsetImports.get('')).toBe(21);
    // The input model is untouched.
    expect(Buffer.compare(Buffer.from(writeOnnx(model)), Buffer.from(before))).toBe(0);
  });

  it('is deterministic: the same inputs give byte-identical files', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'nibble-quantize-'));
    const a = await quantize(model, { recipe: 'w4a4-baseline', data: calibration(16) });
    const b = await quantize(model, { pipeline: a.report.pipeline, data: calibration(16) });
    saveQuantized(a, join(dir, 'a.onnx'));
    saveQuantized(b.model, join(dir, 'b.onnx'));
    expect(Buffer.compare(readFileSync(join(dir, 'a.onnx')), readFileSync(join(dir, 'b.onnx')))).toBe(0);
    // The result's bytes (lowered and serialized once) are the file, and the report's size is theirs.
    expect(Buffer.compare(readFileSync(join(dir, 'a.onnx')), Buffer.from(a.onnx))).toBe(0);
    expect(a.report.sizeBytes.quantized).toBe(readFileSync(join(dir, 'a.onnx')).length);
    const back = readOnnxFile(join(dir, 'a.onnx'));
    expect(back.graph.nodes.filter((n) => n.opType === 'QuantizeLinear')).toHaveLength(6);
    expect(() => saveQuantized(a.model, join(dir, 'a.tflite'))).toThrow(expect.objectContaining({ code: 'E_BAD_OPTION' }));
  });

  it('reports every warning a pass gives: a keep-float pattern that matches no node, named with its pass', async () => {
    const pipeline = 'fold-bn,mark-fused-relu,quant-policy{w-bits=4,a-bits=4,keep-float=[conv9]},clip-minmax,quantize';
    const { report } = await quantize(model, { pipeline, data: calibration(8) });
    expect(report.warnings).toEqual([expect.stringMatching(/^pass 3\/5 'quant-policy': .*keep-float pattern 'conv9' matches no node/)]);
    // A pattern that matches leaves no warning, and keeps that layer float.
    const kept = await quantize(model, { pipeline: pipeline.replace('conv9', 'conv2'), data: calibration(8) });
    expect(kept.report.warnings).toEqual([]);
    expect(kept.report.perTensor.some((t) => t.name.startsWith('conv2'))).toBe(false);
  });

  it('refuses both or neither of recipe and pipeline, and unknown names, before any work', async () => {
    await expect(quantize(model, { data: calibration(4) })).rejects.toMatchObject({ code: 'E_BAD_OPTION', place: { option: 'recipe' } });
    await expect(quantize(model, { recipe: 'w4a4-all', pipeline: 'quantize' })).rejects.toMatchObject({ code: 'E_BAD_OPTION' });
    await expect(quantize(model, { recipe: 'w4a4-everything' })).rejects.toMatchObject({ code: 'E_BAD_OPTION', message: expect.stringContaining('w4a4-all') });
    await expect(quantize(model, { pipeline: 'fold-bn,quantise' })).rejects.toMatchObject({ code: 'E_UNKNOWN_PASS' });
    // A pipeline that needs statistics names the missing data.
    await expect(quantize(model, { recipe: 'w4a4-baseline' })).rejects.toMatchObject({ message: expect.stringContaining('calibration-data') });
  });
});

describe('calibration collects what the passes declare', () => {
  // The union of the pipeline's declared needs decides histograms and layer inputs, not the pass names.
  async function calibrated(pipeline: string): Promise<CalibrationStats> {
    const model = buildSmallConvNet();
    const work = cloneModel(model);
    const ctx = createPassContext();
    ctx.services.set(SOURCE_MODEL, work).set(EXECUTOR_FACTORY, (m, o) => createOrtExecutor(m, o)).set(CALIBRATION_DATA, calibration(16));
    await runPipeline(work.graph, pipeline, ctx);
    return ctx.getCachedAnalysis(CALIBRATION_STATS)!;
  }
  const base = 'fold-bn,fold-constants,eliminate-dead-code,mark-fused-relu,quant-policy{w-bits=4,a-bits=4}';

  it.each([
    ['clip-minmax', false, false],
    ['clip-aciq', false, false],
    ['clip-aciq{dist=auto}', true, false],
    ['clip-percentile', true, false],
    ['clip-minmax{target=weights},clip-mse', true, false],
    ['clip-minmax,quantize,bias-correct{fold=bias}', false, true],
  ])('%s: histograms %s, layer inputs %s', async (passes, histograms, layerInputs) => {
    const stats = await calibrated(`${base},${passes}${passes.includes('quantize') ? '' : ',quantize'}`);
    expect(stats.get('conv2').perTensor.histogram !== undefined).toBe(histograms);
    // relu2 is conv3's data input: observed only for its means.
    expect(stats.has('relu2')).toBe(layerInputs);
  });
});

describe('evaluate', () => {
  const model = buildSmallConvNet();
  const n = 48;
  const x = smallNetInputs(n, 5);

  async function logitsOf(bytes: Uint8Array): Promise<Float32Array> {
    const s = await ort.InferenceSession.create(bytes);
    const out = await s.run({ x: new ort.Tensor('float32', x.data as Float32Array, [...x.shape]) });
    await s.release();
    return out.fc.data as Float32Array;
  }

  const argmax = (l: Float32Array, i: number) => {
    const row = Array.from(l.subarray(i * 10, i * 10 + 10));
    return row.indexOf(Math.max(...row));
  };

  it('counts top-1 against the labels, for the float model and for the QDQ simulation of a quantized one', async () => {
    const floatLogits = await logitsOf(writeOnnx(model));
    // Labels: the float model's own prediction for even samples, another class for odd ones.
    const labels = Array.from({ length: n }, (_, i) => (i % 2 === 0 ? argmax(floatLogits, i) : (argmax(floatLogits, i) + 1) % 10));
    const ds = datasetFromArrays({ shape: [n, ...SMALL_NET_INPUT], data: x.data as Float32Array, layout: 'nchw', labels: Int32Array.from(labels), file: 'memory' });
    const f = await evaluate(model, { data: ds, batchSize: 10, keepLogits: true });
    expect(f).toMatchObject({ n, correct: n / 2, top1: 0.5, quantized: false, classes: 10 });
    expect(Array.from(f.logits!)).toEqual(Array.from(floatLogits));
    const { model: q } = await quantize(model, { recipe: 'w4a4-baseline', data: calibration(32) });
    const r = await evaluate(q, { data: ds, batchSize: 7, limit: 40 });
    expect(r.quantized).toBe(true);
    expect(r.n).toBe(40);
    expect(r.correct).toBeGreaterThan(0);
    // The same model saved as a QDQ file and read back (no annotations left) is still reported as quantized, with the same result.
    const file = join(mkdtempSync(join(tmpdir(), 'nibble-eval-')), 'q.onnx');
    saveQuantized(q, file);
    const fromFile = await evaluate(readOnnxFile(file), { data: ds, batchSize: 7, limit: 40 });
    expect(fromFile).toMatchObject({ quantized: true, n: 40, correct: r.correct });
  });

  it('refuses unlabelled data', async () => {
    const ds = datasetFromArrays({ shape: [4, ...SMALL_NET_INPUT], data: (x.data as Float32Array).slice(0, 4 * 432), layout: 'nchw', file: 'memory' });
    await expect(evaluate(model, { data: ds })).rejects.toMatchObject({ code: 'E_DATA' });
    await expect(evaluate(model, { data: ds, limit: 0 })).rejects.toMatchObject({ code: 'E_BAD_OPTION' });
  });
});
