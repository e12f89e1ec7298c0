import { createPassContext, EXECUTOR_FACTORY, MemoryReportSink, runPipeline, SOURCE_MODEL } from '@nibble/core';
import { markedValues, type Model, type Tensor } from '@nibble/ir';
import { lowerToQdq, readOnnxFile } from '@nibble/onnx';
import '@nibble/pass-allocation';
import '@nibble/pass-bias-correction';
import '@nibble/pass-clipping';
import '@nibble/pass-graph';
import '@nibble/pass-quantize';
import { createOrtExecutor } from '@nibble/runtime';
import { CALIBRATION_DATA } from '@nibble/stats';
import { fixturePhoto, loadPhoto, measureBatchInvariance } from '@nibble/testing';
import { classifierBatch, classifierInput, crop, PPOCR_CLASSIFIER } from './testing/ppocr';

/*
 * The whole paper pipeline on a real network: PP-OCR's text direction
 * classifier (MobileNetV3, hard-swish, squeeze-excite, MatMul head),
 * calibrated by the real CALIBRATION_STATS analysis through onnxruntime on
 * natural word crops, lowered to QDQ by @nibble/onnx and run by
 * onnxruntime against the float model.
 */

const CANONICAL = 'fold-bn,fold-constants,eliminate-dead-code,mark-fused-relu';
const PAPER = 'quant-policy,clip-aciq{target=activations},alloc-bits{target=weights,budget=4},alloc-bits{target=activations,budget=4},clip-minmax{target=weights},quantize,bias-correct';

/** Word crops upright and rotated by 180 degrees (the classifier's two classes), and crops of a photo. */
function samples(): Float32Array[] {
  const word = loadPhoto(fixturePhoto('word-crop.jpg'));
  const photo = loadPhoto(fixturePhoto('photo.jpg'));
  const crops = [word, crop(photo, 20, 0, 60, 224), crop(photo, 84, 30, 40, 160), crop(photo, 0, 112, 42, 112)];
  return [...crops, ...crops.map((c) => crop(c, 0, 0, c.height, c.width, 'rotate'))].map(classifierInput);
}

async function quantized(pipeline: string, inputs: Float32Array[]): Promise<{ model: Model; sink: MemoryReportSink }> {
  const model = readOnnxFile(PPOCR_CLASSIFIER);
  const sink = new MemoryReportSink();
  const ctx = createPassContext({ reportSink: sink });
  ctx.services.set(SOURCE_MODEL, model);
  ctx.services.set(EXECUTOR_FACTORY, (m, o) => createOrtExecutor(m, o));
  ctx.services.set(CALIBRATION_DATA, {
    samples: inputs.length,
    description: 'word and photo crops',
    async *batches() {
      for (let i = 0; i < inputs.length; i += 4) yield { x: classifierBatch(inputs.slice(i, i + 4)) };
    },
  });
  const result = await runPipeline(model.graph, `${CANONICAL},${pipeline}`, ctx);
  return { model: { ...model, graph: result.graph }, sink };
}

async function probabilities(model: Model, x: Tensor): Promise<Float32Array> {
  const exec = await createOrtExecutor(model);
  try {
    const out = await exec.run({ x });
    return out[exec.outputNames[0]].data as Float32Array;
  } finally {
    await exec.dispose();
  }
}

function compare(float: Float32Array, q: Float32Array): { agree: number; meanDiff: number } {
  let agree = 0;
  let sum = 0;
  for (let i = 0; i < float.length / 2; i++) {
    if ((float[2 * i] > float[2 * i + 1]) === (q[2 * i] > q[2 * i + 1])) agree++;
    sum += Math.abs(float[2 * i] - q[2 * i]);
  }
  return { agree, meanDiff: sum / (float.length / 2) };
}

describe('the paper pipeline on the PP-OCR direction classifier', () => {
  const inputs = samples();
  const x = classifierBatch(inputs);
  let float: Float32Array;

  beforeAll(async () => {
    float = await probabilities(readOnnxFile(PPOCR_CLASSIFIER), x);
  }, 60000);

  it('quantizes every marked value completely, and the QDQ model follows the float one', async () => {
    const { model, sink } = await quantized(PAPER, inputs);
    const marked = markedValues(model.graph);
    expect(marked.filter((m) => m.point.kind === 'weight')).toHaveLength(54);
    for (const { value, point } of marked) {
      const q = value.quant!;
      expect([value.name, q.scale !== undefined && q.zeroPoint !== undefined && q.range !== undefined && q.bits !== undefined]).toEqual([value.name, true]);
      if (point.kind === 'weight') expect(value.producer!.opType).toBe('DequantizeLinear');
    }
    const allocations = sink.find('allocation').map((e) => e.value as { budget: number; meanBits: number });
    for (const a of allocations) expect(a.meanBits).toBeLessThanOrEqual(a.budget);
    // Refreshing the ACIQ ranges at the allocated widths: every activation range is ACIQ's, at its own bits.
    expect(sink.find('refreshed', 'alloc-bits')).toEqual([expect.objectContaining({ value: { source: 'clip-aciq', values: 53 } })]);
    const q = await probabilities(lowerToQdq(model), x);
    const { agree, meanDiff } = compare(float, q);
    // W4A4 on 8 in-sample crops (measured: 6 of 8 directions kept, mean |dp| 0.11; min/max W4A4 gives 0.23).
    expect(agree).toBeGreaterThanOrEqual(6);
    expect(meanDiff).toBeLessThan(0.15);
    // The same crop gives the same bits alone, in threes, or all eight together.
    const invariance = await measureBatchInvariance(model, x, { batchSizes: [3] });
    expect(invariance.differing).toEqual({ 1: 0, 3: 0 });
  }, 120000);
});
