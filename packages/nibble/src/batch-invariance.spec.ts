import { join } from 'node:path';
import { runPipeline } from '@nibble/core';
import { attr, cloneModel, createModel, type Model, parseGraph, printGraph, Tensor } from '@nibble/ir';
import { readOnnxFile } from '@nibble/onnx';
import type { CalibrationData } from '@nibble/stats';
import { buildSmallConvNet, measureBatchInvariance, smallNetInputs } from '@nibble/testing';
import { openDataSource, quantize } from './quantize';

/*
 * Issue: a quantized file whose accuracy depended on the batch size, on a
 * ResNet-20 exported by torch.onnx.export whose shortcut BatchNorms took
 * their parameters through Identity nodes (left unfolded by the recipes).
 * The reproduction spells the parameters the way torch does and adds a
 * shortcut BN, then checks the two properties every quantized model must
 * have: no BN survives canonicalization, and the same sample gives the same
 * bits at any batch size.
 */

/** Every BatchNormalization parameter read through an Identity node, and a BN after the residual branch's conv (a shortcut BN). */
function torchSpelled(seed: number): Model {
  const m = buildSmallConvNet({ seed });
  const g = m.graph;
  const conv3 = g.nodes.find((n) => n.name === 'conv3')!;
  const y = conv3.outputs[0];
  const readers = [...y.uses];
  const channels = conv3.inputs[1]!.const!.shape[0];
  const vector = (name: string, f: (c: number) => number) => g.addInitializer(name, Tensor.from('float32', [channels], Array.from({ length: channels }, (_, c) => f(c))));
  const bn = g.addNode({
    opType: 'BatchNormalization', name: 'shortcut_bn', outputs: ['shortcut_bn'], attributes: { epsilon: attr.float(1e-5) },
    inputs: [y, vector('sc.gamma', (c) => 0.7 + 0.1 * c), vector('sc.beta', (c) => 0.1 * Math.sin(c)), vector('sc.mean', (c) => 0.05 * c), vector('sc.var', (c) => 0.5 + 0.2 * c)],
  }, g.indexOf(conv3) + 1);
  for (const u of readers) u.node.replaceInput(u.index, bn.outputs[0]);
  for (const node of g.nodes.filter((n) => n.opType === 'BatchNormalization')) {
    for (let i = 1; i < 5; i++) {
      const p = node.inputs[i]!;
      const id = g.addNode({ opType: 'Identity', name: `${p.name}_identity`, inputs: [p], outputs: [`${p.name}_id`] }, g.indexOf(node));
      node.replaceInput(i, id.outputs[0]);
    }
  }
  g.verify();
  return m;
}

function calibration(n: number): CalibrationData {
  const x = smallNetInputs(n, 11);
  return { samples: n, description: 'synthetic', async *batches() { yield { x }; } };
}

const zooModel = (name: string): string => join(__dirname, '..', '..', '..', 'models', `${name}.onnx`);

/** The first n Fashion-MNIST test images as the model's input [n, ...]. */
async function testImages(model: Model, n: number): Promise<Tensor> {
  const test = await openDataSource('fashion-mnist:test', undefined, model);
  for await (const b of test.batches({ batchSize: n, limit: n })) return b.inputs;
  throw new Error('no test images');
}

const bnCount = (m: Model): number => m.graph.nodes.filter((n) => n.opType === 'BatchNormalization').length;

describe('canonicalization of exporter spellings (BatchNorm parameters through Identity)', () => {
  it('folds every BatchNorm whatever the order of the canonical passes, and a second run changes nothing', async () => {
    const model = torchSpelled(3);
    expect(bnCount(model)).toBe(2);
    const recipeOrder = await runPipeline(cloneModel(model).graph, 'fold-bn,fold-constants,eliminate-dead-code');
    const otherOrder = await runPipeline(cloneModel(model).graph, 'fold-constants,remove-identity,fold-bn,eliminate-dead-code');
    expect(recipeOrder.graph.nodes.map((n) => n.opType)).not.toContain('BatchNormalization');
    expect(recipeOrder.graph.nodes.map((n) => n.opType)).not.toContain('Identity');
    expect(printGraph(recipeOrder.graph)).toBe(printGraph(otherOrder.graph));
    const again = await runPipeline(recipeOrder.graph, 'fold-constants,remove-identity,fold-bn,eliminate-dead-code');
    expect(again.modified).toBe(false);
  });

  it('warns, naming the node, when a BatchNorm survives', async () => {
    const model = buildSmallConvNet({ seed: 4 });
    // A BN whose input is also a graph output cannot fold: the unnormalized value must stay.
    const g = model.graph;
    g.addOutput(g.value('conv1')!);
    const calib = calibration(8);
    const { report } = await quantize(model, { recipe: 'w4a4-baseline', data: calib });
    expect(report.warnings).toEqual([expect.stringMatching(/^BatchNormalization 'bn1' was not folded \('conv1' is also read elsewhere.*\): .*pre-BN statistics/)]);
  });
});

describe('a quantized model gives the same bits at any batch size', () => {
  const inputs = smallNetInputs(100, 77);

  it('the check itself finds a model whose outputs depend on the batch', async () => {
    // y = x - mean over the batch: every sample's output moves with its batch-mates.
    const g = parseGraph([
      'graph g(%x : f32[N,3,12,12]) {',
      '  %m = ReduceMean(%x) {axes=[0], keepdims=1}',
      '  %y = Sub(%x, %m)',
      '  return %y',
      '}',
    ].join('\n'));
    const r = await measureBatchInvariance(createModel(g, 17, 10), inputs, { batchSizes: [7] });
    expect(r.differing[1]).toBeGreaterThan(0);
    expect(r.differing[7]).toBeGreaterThan(0);
  });

  it.each(['w4a4-all', 'w8a4-alloc', 'w8a4-aciq-alloc', 'w4a4-baseline'])('the torch-spelled reproduction, %s: BNs folded, batch 1 = 7 = 64 = 100, arena off runs cleanly', async (recipe) => {
    const { model, report } = await quantize(torchSpelled(5), { recipe, data: calibration(64) });
    expect(bnCount(model)).toBe(0);
    expect(report.warnings).toEqual([]);
    for (const arena of [true, false]) {
      const r = await measureBatchInvariance(model, inputs, { batchSizes: [7, 64], arena });
      expect(r.differing).toEqual({ 1: 0, 7: 0, 64: 0 });
    }
  }, 60_000);

  it('the issue\'s configuration itself (zoo ResNet-20, every BN left unfolded after per-channel mixed-width activations): batch 1 = 7 = 64 = 100, arena off runs cleanly', async () => {
    const float = readOnnxFile(zooModel('fmnist-resnet20'));
    const pipeline = 'mark-fused-relu,quant-policy{w-bits=8,a-bits=4},clip-minmax,alloc-bits{target=activations,budget=4},quantize';
    const { model, report } = await quantize(float, { pipeline, data: 'fashion-mnist:calib', samples: 32 });
    expect(bnCount(model)).toBe(21);
    expect(report.warnings).toHaveLength(21);
    // Some value before a BN is quantized per channel with more than one width (the container is wider than some channels).
    const widths = report.perTensor.filter((t) => t.kind === 'activation' && t.axis === 1).map((t) => [t.minBits, t.maxBits]);
    expect(widths.some(([lo, hi]) => lo < hi)).toBe(true);
    const x = await testImages(float, 100);
    for (const arena of [true, false]) {
      const r = await measureBatchInvariance(model, x, { batchSizes: [7, 64], arena });
      expect(r.differing).toEqual({ 1: 0, 7: 0, 64: 0 });
    }
  }, 120_000);

  it('the root cause\'s trigger (4-bit activations, per tensor, followed by 8-bit ones of the same shape: zoo ResNet-20 under the ort target\'s constraints, simulated): batch 1 = 7 = 64 = 100, arena off', async () => {
    // With uint4 containers this file gave 12.7 % / 48 % / 52 % top-1 at batch 1 / 7 / 64 and aborted
    // onnxruntime with the arena off: its planner reused a freed uint4 buffer for a uint8 tensor.
    const float = readOnnxFile(zooModel('fmnist-resnet20'));
    const { model } = await quantize(float, { recipe: 'w4a4-all', target: 'ort', data: 'fashion-mnist:calib', samples: 32 });
    const x = await testImages(float, 100);
    for (const arena of [true, false]) {
      const r = await measureBatchInvariance(model, x, { batchSizes: [7, 64], arena });
      expect(r.differing).toEqual({ 1: 0, 7: 0, 64: 0 });
    }
  }, 120_000);

  it.each(['fmnist-resnet20', 'fmnist-vgg', 'fmnist-mobilenetv2'])('zoo model %s, w4a4-all on 32 images: batch 1 = 7 = 64 = 100', async (name) => {
    const float = readOnnxFile(zooModel(name));
    const { model } = await quantize(float, { recipe: 'w4a4-all', data: 'fashion-mnist:calib', samples: 32 });
    const r = await measureBatchInvariance(model, await testImages(float, 100), { batchSizes: [7, 64] });
    expect(r.differing).toEqual({ 1: 0, 7: 0, 64: 0 });
  }, 120_000);
});
