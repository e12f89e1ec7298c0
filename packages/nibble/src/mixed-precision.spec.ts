import { join } from 'node:path';
import { createModel, parseGraph, SeededRandom, Tensor } from '@nibble/ir';
import type { LayerSensitivity } from '@nibble/pass-allocation';
import { workspaceRoot } from '@nibble/testing';
import { loadModel } from './load';
import { quantize } from './quantize';
import { renderReportHtml } from './report/html';
import { reportData } from './report/model';

const RESNET = join(workspaceRoot(), 'models', 'fmnist-resnet20.onnx');
const BASE = 'fold-bn,fold-constants,eliminate-dead-code,mark-fused-relu';

async function run(wBits: number, budget: number) {
  const model = await loadModel(RESNET);
  const result = await quantize(model, {
    pipeline: `${BASE},quant-policy{w-bits=${wBits},a-bits=8},clip-minmax,mixed-precision{size-budget=${budget}},quantize`, data: 'fashion-mnist:calib', samples: 8,
  });
  const layers = result.report.facts.filter((f) => f.pass === 'mixed-precision' && f.key === 'layer').map((f) => f.value as unknown as LayerSensitivity);
  const promoted = result.report.facts.find((f) => f.pass === 'mixed-precision' && f.key === 'promoted')!.value as Record<string, number>;
  return { result, layers, promoted };
}

describe("pass 'mixed-precision'", () => {
  it('measures each weight alone: 4 more bits lift its output SQNR by about 24 dB (6 dB per bit)', async () => {
    // Sensitivity is measured at the widths the pipeline gave, before any promotion (the policy keeps a layer at 8 bits).
    const at4 = await run(4, 4.02);
    const at8 = await run(8, 8);
    expect(at4.layers.length).toBeGreaterThan(15);
    const diffs = at4.layers.filter((l) => l.bitsBefore === 4).map((l) => at8.layers.find((m) => m.value === l.value)!.sqnrDb! - l.sqnrDb!).sort((a, b) => a - b);
    const median = diffs[Math.floor(diffs.length / 2)];
    expect(median).toBeGreaterThan(20);
    expect(median).toBeLessThan(28);
  }, 180_000);

  it('raises the most harmful weights to 8 bits within the size budget, and the report lists them', async () => {
    const { result, layers, promoted } = await run(4, 5);
    expect(promoted.layers).toBeGreaterThan(0);
    expect(promoted.meanBitsAfter).toBeLessThanOrEqual(5 + 1e-9);
    expect(result.report.meanBits.weights!).toBeCloseTo(promoted.meanBitsAfter, 9);
    const up = layers.filter((l) => l.bitsAfter !== l.bitsBefore);
    expect(up.length).toBe(promoted.layers);
    // Greedy on noise per added bit: the layer with the most output noise per parameter is among those raised.
    const density = (l: LayerSensitivity) => 10 ** (-l.sqnrDb! / 10) / l.params;
    const worst = [...layers].sort((a, b) => density(b) - density(a))[0];
    expect(worst.bitsAfter).toBe(8);
    // Raised weights really are 8-bit in the quantized model.
    for (const l of up) expect(result.report.perTensor.find((t) => t.name === l.value)!.meanBits).toBe(8);
    const html = renderReportHtml(reportData(result, { model: 'm.onnx', out: 'q.onnx' }));
    expect(html).toContain('id="sensitivity"');
    expect(html.match(/class="promoted"/g)!.length).toBe(up.length);
  }, 180_000);

  it('target=activations: measures each activation alone, raises the most harmful to 8 bits within bits per element', async () => {
    const model = await loadModel(RESNET);
    const pipeline = (mp: string) => `${BASE},quant-policy{w-bits=8,a-bits=4},clip-minmax${mp},quantize`;
    const result = await quantize(model, { pipeline: pipeline(',mixed-precision{target=activations,size-budget=4.5}'), data: 'fashion-mnist:calib', samples: 8 });
    const facts = result.report.facts.filter((f) => f.pass === 'mixed-precision');
    const layers = facts.filter((f) => f.key === 'layer').map((f) => f.value as unknown as LayerSensitivity & { target: string });
    const promoted = facts.find((f) => f.key === 'promoted')!.value as Record<string, number>;
    expect(layers.length).toBeGreaterThan(10);
    expect(layers.every((l) => l.target === 'activations' && l.sqnrDb !== null)).toBe(true);
    // Each activation's share is its elements per sample; the mean over elements stays within the budget.
    const total = layers.reduce((s, l) => s + l.params, 0);
    const mean = layers.reduce((s, l) => s + l.params * l.bitsAfter, 0) / total;
    expect(mean).toBeCloseTo(promoted.meanBitsAfter, 9);
    expect(mean).toBeLessThanOrEqual(4.5 + 1e-9);
    expect(promoted.layers).toBeGreaterThan(0);
    // The raised activations are 8-bit in the quantized model, the others keep 4.
    for (const l of layers) expect(result.report.perTensor.find((t) => t.name === l.value)!.meanBits).toBe(l.bitsAfter);
    // An activation at 8 bits alone disturbs the output far less than at 4: the measurement sees the width.
    const at8 = await quantize(model, { pipeline: `${BASE},quant-policy{w-bits=8,a-bits=8},clip-minmax,mixed-precision{target=activations,size-budget=8},quantize`, data: 'fashion-mnist:calib', samples: 8 });
    const sqnr8 = new Map(at8.report.facts.filter((f) => f.pass === 'mixed-precision' && f.key === 'layer').map((f) => [(f.value as unknown as LayerSensitivity).value, (f.value as unknown as LayerSensitivity).sqnrDb!]));
    const gains = layers.filter((l) => l.bitsBefore === 4).map((l) => sqnr8.get(l.value)! - l.sqnrDb!).sort((a, b) => a - b);
    expect(gains[Math.floor(gains.length / 2)]).toBeGreaterThan(15);
  }, 240_000);

  it('low-bits: raises beyond the budget are paid by lowering the values that cost the output least per bit', async () => {
    // MobileNetV2: its linear-bottleneck outputs are worth more than the bits of its wide ReLU6 tensors.
    const model = await loadModel(join(workspaceRoot(), 'models', 'fmnist-mobilenetv2.onnx'));
    const result = await quantize(model, { pipeline: `${BASE},quant-policy{w-bits=8,a-bits=4},clip-minmax,mixed-precision{target=activations,size-budget=4,low-bits=3},quantize`, data: 'fashion-mnist:calib', samples: 8 });
    const facts = result.report.facts.filter((f) => f.pass === 'mixed-precision');
    type Row = LayerSensitivity & { sqnrLowDb?: number | null };
    const layers = facts.filter((f) => f.key === 'layer').map((f) => f.value as unknown as Row);
    const summary = facts.find((f) => f.key === 'promoted')!.value as Record<string, number>;
    const raised = layers.filter((l) => l.bitsAfter === 8 && l.bitsBefore === 4);
    const lowered = layers.filter((l) => l.bitsAfter === 3);
    expect(raised.length).toBe(summary.layers);
    expect(lowered.length).toBe(summary.lowered);
    expect(raised.length).toBeGreaterThan(0);
    expect(lowered.length).toBeGreaterThan(0);
    // The budget holds exactly: no more bits per element than before.
    expect(summary.meanBitsAfter).toBeLessThanOrEqual(4 + 1e-9);
    const total = layers.reduce((s, l) => s + l.params, 0);
    expect(layers.reduce((s, l) => s + l.params * l.bitsAfter, 0) / total).toBeCloseTo(summary.meanBitsAfter, 9);
    // Lowered first: the least output noise added per bit removed (measured at 3 bits against the 4-bit figure).
    const noise = (db: number | null | undefined) => (db === null || db === undefined ? 0 : 10 ** (-db / 10));
    const cost = (l: Row) => Math.max(0, noise(l.sqnrLowDb) - noise(l.sqnrDb)) / (l.params * (l.bitsBefore - 3));
    const others = layers.filter((l) => l.bitsAfter === l.bitsBefore && l.bitsBefore > 3 && l.sqnrLowDb !== undefined);
    expect(Math.max(...lowered.map(cost))).toBeLessThanOrEqual(Math.min(...others.map(cost)));
    // And the quantized model holds those widths.
    for (const l of [...raised, ...lowered]) expect(result.report.perTensor.find((t) => t.name === l.value)!.meanBits).toBe(l.bitsAfter);
  }, 240_000);

  it('target=activations refuses activations without a clip range, naming the value', async () => {
    const model = await loadModel(RESNET);
    await expect(quantize(model, { pipeline: `${BASE},quant-policy{w-bits=4,a-bits=4},clip-minmax{target=weights},mixed-precision{target=activations,size-budget=5},quantize`, data: 'fashion-mnist:calib', samples: 4 }))
      .rejects.toMatchObject({ code: 'E_BAD_OPTION', message: expect.stringMatching(/no clip range/) });
  }, 120_000);

  it('target=activations on a model whose width is dynamic (a text line): each activation weighs the elements the calibration batches give it', async () => {
    // PP-OCRv4's recogniser takes [N, 3, 48, W]: nibble-w4a4's traded widths refused it before (E_SHAPE).
    const r = new SeededRandom(5);
    const vals = (n: number) => Array.from({ length: n }, () => (r.uniform() * 2 - 1).toFixed(4)).join(', ');
    const model = createModel(parseGraph(`graph g(%x : f32[N,3,8,W]) {
      %w1 : f32[4,3,3,3] = const [${vals(108)}]
      %c1 : f32[N,4,8,W] = Conv(%x, %w1) {kernel_shape=[3,3], pads=[1,1,1,1]} @conv1
      %w2 : f32[6,4,3,3] = const [${vals(216)}]
      %c2 : f32[N,6,4,W2] = Conv(%c1, %w2) {kernel_shape=[3,3], pads=[1,1,1,1], strides=[2,2]} @conv2
      %w3 : f32[2,6,1,1] = const [${vals(12)}]
      %y : f32[N,2,4,W2] = Conv(%c2, %w3) {kernel_shape=[1,1]} @head
      return %y
    }`), 21, 10);
    const x = Tensor.from('float32', [8, 3, 8, 12], Array.from({ length: 8 * 3 * 8 * 12 }, () => r.uniform()));
    const data = { samples: 8, description: 'synthetic lines of width 12', async *batches() { yield { x }; } };
    const result = await quantize(model, { pipeline: 'quant-policy{w-bits=8,a-bits=4},clip-minmax,mixed-precision{target=activations,low-bits=3},quantize', data });
    const layers = result.report.facts.filter((f) => f.pass === 'mixed-precision' && f.key === 'layer').map((f) => f.value as unknown as LayerSensitivity);
    expect(Object.fromEntries(layers.map((l) => [l.value, l.params]))).toEqual({ c1: 4 * 8 * 12, c2: 6 * 4 * 6 });
    expect(result.report.warnings.filter((w) => w.includes('low-bits'))).toEqual([]);
    // low-bits at the activations' own width: nothing can be lowered, which the report says instead of doing nothing silently.
    const idle = await quantize(model, { pipeline: 'quant-policy{w-bits=8,a-bits=4},clip-minmax,mixed-precision{target=activations,low-bits=4},quantize', data });
    expect(idle.report.warnings).toContainEqual(expect.stringMatching(/low-bits=4 is not below any activation's width \(the widest holds 4\).*without a size-budget, nothing changes/));
  }, 120_000);

  it('refuses a missing or too small size budget, naming the option', async () => {
    const model = await loadModel(RESNET);
    const go = (opts: string) => quantize(model, { pipeline: `${BASE},quant-policy{w-bits=4,a-bits=8},clip-minmax,mixed-precision${opts},quantize`, data: 'fashion-mnist:calib', samples: 4 });
    await expect(go('')).rejects.toMatchObject({ code: 'E_BAD_OPTION', place: expect.objectContaining({ option: 'size-budget' }) });
    await expect(go('{size-budget=3}')).rejects.toMatchObject({ code: 'E_BUDGET', hint: expect.stringMatching(/first-last-bits/) });
  }, 120_000);
});
