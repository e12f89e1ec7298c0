import { attr, type Attribute, createModel, Graph, parseGraph, printGraph, SeededRandom, Tensor } from '@nibble/ir';
import { createPassContext, getPass, MemoryReportSink, runPipeline, SOURCE_MODEL } from '@nibble/core';
import { type Array64, maxRelError, randomFloats, runFloat64 } from '@nibble/testing';
import { foldBnPass } from './fold-bn.pass';
// The package index registers its passes, as an application importing the package would.
import './index';

const lines = (...l: string[]): string => `${l.join('\n')}\n`;
/** The printer's form of IR text (untyped values print as `: ?`). */
const canonical = (text: string): string => printGraph(parseGraph(text));

interface Case {
  name: string;
  op: 'Conv' | 'ConvTranspose' | 'Gemm';
  input: number[];
  weight: number[];
  bias?: number[];
  attributes?: Record<string, Attribute>;
  channels: number;
  /** A bias written as a separate Add of a constant of this shape (as PaddlePaddle exports ConvTranspose). */
  biasAdd?: number[];
}

/** x -> op(w[, b]) -> BatchNormalization -> y, random float32 weights and BN parameters (variance in [0.05, 2)). */
function buildCase(c: Case, seed: number): { graph: Graph; feed: Array64 } {
  const rand = new SeededRandom(seed);
  const random = (shape: number[], lo?: number, hi?: number): Tensor =>
    new Tensor('float32', shape, randomFloats(shape.reduce((a, b) => a * b, 1), rand, lo, hi));
  const g = new Graph(c.name);
  const x = g.addInput('x', { dtype: 'float32', shape: c.input });
  const w = g.addInitializer('w', random(c.weight));
  const inputs = [x, w];
  if (c.bias) inputs.push(g.addInitializer('b', random(c.bias)));
  let op = g.addNode({ opType: c.op, name: 'op', inputs, outputs: ['t'], attributes: c.attributes });
  if (c.biasAdd) {
    const k = g.addInitializer('k', random(c.biasAdd));
    op = g.addNode({ opType: 'Add', name: 'add', inputs: [op.outputs[0], k], outputs: ['t2'] });
  }
  const vec = (name: string, lo: number, hi: number): ReturnType<Graph['addInitializer']> =>
    g.addInitializer(name, random([c.channels], lo, hi));
  const bn = g.addNode({
    opType: 'BatchNormalization',
    name: 'bn',
    inputs: [op.outputs[0], vec('gamma', 0.2, 3), vec('beta', -1, 1), vec('mean', -0.5, 0.5), vec('var', 0.05, 2)],
    outputs: ['y'],
    attributes: { epsilon: attr.float(1e-3) },
  });
  g.addOutput(bn.outputs[0]);
  return { graph: g, feed: { shape: c.input, data: random(c.input, -2, 2).toFloat64() } };
}

const CASES: Case[] = [
  { name: 'conv with bias, padded', op: 'Conv', input: [2, 4, 6, 6], weight: [6, 4, 3, 3], bias: [6], channels: 6, attributes: { pads: attr.ints([1, 1, 1, 1]) } },
  { name: 'grouped conv without bias, strided', op: 'Conv', input: [1, 4, 7, 7], weight: [6, 2, 3, 3], channels: 6, attributes: { group: attr.int(2), strides: attr.ints([2, 2]) } },
  { name: 'depthwise conv with bias, dilated', op: 'Conv', input: [1, 4, 8, 8], weight: [4, 1, 3, 3], bias: [4], channels: 4, attributes: { group: attr.int(4), dilations: attr.ints([2, 2]) } },
  { name: 'gemm transB=1 with C, alpha, beta', op: 'Gemm', input: [3, 5], weight: [4, 5], bias: [4], channels: 4, attributes: { transB: attr.int(1), alpha: attr.float(0.5), beta: attr.float(2) } },
  { name: 'gemm transB=0 without C', op: 'Gemm', input: [3, 5], weight: [5, 4], channels: 4 },
  { name: 'gemm with a one-element C', op: 'Gemm', input: [2, 3], weight: [3, 2], bias: [1], channels: 2, attributes: { beta: attr.float(0.25) } },
  { name: 'grouped conv-transpose with bias', op: 'ConvTranspose', input: [1, 4, 3, 3], weight: [4, 3, 2, 2], bias: [6], channels: 6, attributes: { group: attr.int(2), strides: attr.ints([2, 2]) } },
  { name: 'conv-transpose without bias', op: 'ConvTranspose', input: [1, 2, 3, 3], weight: [2, 3, 3, 3], channels: 3, attributes: { pads: attr.ints([1, 1, 1, 1]) } },
  { name: 'conv-transpose plus a bias Add [1,C,1,1]', op: 'ConvTranspose', input: [1, 2, 3, 3], weight: [2, 4, 2, 2], channels: 4, biasAdd: [1, 4, 1, 1], attributes: { strides: attr.ints([2, 2]) } },
  { name: 'conv with bias plus a bias Add [C,1,1]', op: 'Conv', input: [1, 3, 4, 4], weight: [5, 3, 3, 3], bias: [5], channels: 5, biasAdd: [5, 1, 1] },
  { name: 'gemm plus a scalar Add', op: 'Gemm', input: [2, 3], weight: [3, 4], channels: 4, biasAdd: [] },
];

describe("pass 'fold-bn'", () => {
  it('is registered under its pipeline name', () => {
    expect(getPass('fold-bn')).toBe(foldBnPass);
  });

  it.each(CASES.map((c, i) => [c.name, c, i] as const))('%s: the folded graph computes what the original did', async (_name, c, i) => {
    const { graph, feed } = buildCase(c, 100 + i);
    const before = runFloat64(graph, { x: feed }).y;
    const oldWeight = graph.value('w')!.const!;
    const oldValues = Float32Array.from(oldWeight.data as Float32Array);
    const sink = new MemoryReportSink();
    const result = await runPipeline(graph, 'fold-bn', createPassContext({ reportSink: sink }));
    expect(result.modified).toBe(true);
    expect(result.graph.nodes.map((n) => n.opType)).toEqual([c.op]);
    const after = runFloat64(result.graph, { x: feed }).y;
    expect(after.shape).toEqual(before.shape);
    expect(maxRelError(after.data, before.data)).toBeLessThan(1e-5);
    // Nothing is written in place, and the replaced constants are gone.
    expect(oldWeight.data).toEqual(oldValues);
    expect(result.graph.initializers.map((v) => v.name).sort()).toEqual(['op.bias_bn', 'op.weight_bn']);
    expect(sink.find('folded', 'fold-bn')[0].value).toBe(1);
    expect(sink.find('standalone', 'fold-bn')[0].value).toBe(0);
  });

  it('gives the folded weights and bias exactly (IR text in, IR text out)', async () => {
    // s = gamma / sqrt(var + eps) = [4/2, 3/1]; W' = W * s; b' = (b - mean) * s + beta.
    const input = lines(
      'graph g(%x : f32[1,1,4,4]) {',
      '  %w : f32[2,1,1,1] = const [0.5, -0.25]',
      '  %b : f32[2] = const [1, 2]',
      '  %gamma : f32[2] = const [4, 3]',
      '  %beta : f32[2] = const [0.5, -1]',
      '  %mean : f32[2] = const [1, 0]',
      '  %var : f32[2] = const [3, 0]',
      '  %c : f32[1,2,4,4] = Conv(%x, %w, %b)',
      '  %n : f32[1,2,4,4] = BatchNormalization(%c, %gamma, %beta, %mean, %var) {epsilon=1.0}',
      '  %y : f32[1,2,4,4] = Relu(%n)',
      '  return %y',
      '}',
    );
    const result = await runPipeline(parseGraph(input), 'fold-bn');
    expect(printGraph(result.graph)).toBe(
      lines(
        'graph g(%x : f32[1,1,4,4]) {',
        '  %c.weight_bn : f32[2,1,1,1] = const [1, -0.75]',
        '  %c.bias_bn : f32[2] = const [0.5, 5]',
        '  %c : f32[1,2,4,4] = Conv(%x, %c.weight_bn, %c.bias_bn)',
        '  %y : f32[1,2,4,4] = Relu(%c)',
        '  return %y',
        '}',
      ),
    );
  });

  it('reads parameters held by Constant nodes (as exported PaddlePaddle models have them) and removes them', async () => {
    const input = lines(
      'graph g(%x : f32[1,1,2,2]) {',
      '  %w = Constant() {value=tensor<f32[1,1,1,1]: 2>}',
      '  %gamma = Constant() {value=tensor<f32[1]: 3>}',
      '  %beta = Constant() {value=tensor<f32[1]: 1>}',
      '  %mean = Constant() {value=tensor<f32[1]: 0.5>}',
      '  %var = Constant() {value=tensor<f32[1]: 8>}',
      '  %c = Conv(%x, %w)',
      '  %y = BatchNormalization(%c, %gamma, %beta, %mean, %var) {epsilon=1.0}',
      '  return %y',
      '}',
    );
    const result = await runPipeline(parseGraph(input), 'fold-bn');
    // The BN output was a graph output: the conv output takes over its name.
    expect(printGraph(result.graph)).toBe(
      lines(
        'graph g(%x : f32[1,1,2,2]) {',
        '  %c.weight_bn : f32[1,1,1,1] = const [2]',
        '  %c.bias_bn : f32[1] = const [0.5]',
        '  %y : ? = Conv(%x, %c.weight_bn, %c.bias_bn) @c',
        '  return %y',
        '}',
      ),
    );
  });

  it('looks through Identity, Unsqueeze and Reshape of constants (as torch.onnx.export and others spell parameters) and removes the chains', async () => {
    // torch.onnx.export writes a deduplicated parameter as Identity(initializer); the BN must fold
    // whether or not fold-constants ran first (it did not: fold-bn runs first in every recipe).
    const input = lines(
      'graph g(%x : f32[1,1,2,2]) {',
      '  %w0 : f32[1,1,1,1] = const [2]',
      '  %g0 : f32[] = const [3]',
      '  %axes : i64[1] = const [0]',
      '  %b0 : f32[1,1] = const [1]',
      '  %flat : i64[1] = const [1]',
      '  %m0 : f32[1] = const [0.5]',
      '  %v0 : f32[1] = const [8]',
      '  %w = Identity(%w0)',
      '  %gamma = Unsqueeze(%g0, %axes)',
      '  %beta = Reshape(%b0, %flat)',
      '  %mean = Identity(%m0)',
      '  %var = Identity(%v0)',
      '  %c = Conv(%x, %w)',
      '  %n = BatchNormalization(%c, %gamma, %beta, %mean, %var) {epsilon=1.0}',
      '  %y = Relu(%n)',
      '  return %y',
      '}',
    );
    const result = await runPipeline(parseGraph(input), 'fold-bn');
    expect(printGraph(result.graph)).toBe(
      lines(
        'graph g(%x : f32[1,1,2,2]) {',
        '  %c.weight_bn : f32[1,1,1,1] = const [2]',
        '  %c.bias_bn : f32[1] = const [0.5]',
        '  %c : ? = Conv(%x, %c.weight_bn, %c.bias_bn)',
        '  %y : ? = Relu(%c)',
        '  return %y',
        '}',
      ),
    );
  });

  it('folds two convolutions sharing one weight without touching the shared tensor', async () => {
    const g = parseGraph(
      lines(
        'graph g(%x : f32[1,1,2,2]) {',
        '  %w : f32[1,1,1,1] = const [2]',
        '  %g1 : f32[1] = const [1]',
        '  %g2 : f32[1] = const [3]',
        '  %z : f32[1] = const [0]',
        '  %v : f32[1] = const [0]',
        '  %c1 = Conv(%x, %w)',
        '  %n1 = BatchNormalization(%c1, %g1, %z, %z, %v) {epsilon=1.0}',
        '  %c2 = Conv(%x, %w)',
        '  %n2 = BatchNormalization(%c2, %g2, %z, %z, %v) {epsilon=1.0}',
        '  %s = Add(%n1, %n2)',
        '  return %s',
        '}',
      ),
    );
    const shared = g.value('w')!.const!;
    const result = await runPipeline(g, 'fold-bn');
    expect(result.graph.value('w')).toBeUndefined();
    expect(shared.toNumbers()).toEqual([2]);
    expect(result.graph.value('c1.weight_bn')!.const!.toNumbers()).toEqual([2]);
    expect(result.graph.value('c2.weight_bn')!.const!.toNumbers()).toEqual([6]);
    expect(result.graph.nodes.map((n) => n.opType)).toEqual(['Conv', 'Conv', 'Add']);
  });

  it('leaves a BN whose input is used elsewhere, follows no affine op, or has non-constant parameters, and reports each', async () => {
    const input = lines(
      'graph g(%x : f32[1,1,2,2], %gx : f32[1]) {',
      '  %w : f32[1,1,1,1] = const [2]',
      '  %one : f32[1] = const [1]',
      '  %zero : f32[1] = const [0]',
      '  %c = Conv(%x, %w)',
      '  %shared = BatchNormalization(%c, %one, %zero, %zero, %one)',
      '  %r = Relu(%x)',
      '  %afterRelu = BatchNormalization(%r, %one, %zero, %zero, %one)',
      '  %c2 = Conv(%x, %w)',
      '  %fed = BatchNormalization(%c2, %gx, %zero, %zero, %one)',
      '  %s1 = Add(%shared, %c)',
      '  %s2 = Add(%afterRelu, %fed)',
      '  %s = Add(%s1, %s2)',
      '  return %s',
      '}',
    );
    const g = parseGraph(input);
    const sink = new MemoryReportSink();
    const result = await runPipeline(g, 'fold-bn', createPassContext({ reportSink: sink }));
    expect(result.modified).toBe(false);
    expect(printGraph(result.graph)).toBe(canonical(input));
    expect(sink.find('folded')[0].value).toBe(0);
    expect(sink.find('standalone')[0].value).toBe(3);
    const reasons = Object.fromEntries(sink.find('standalone-reason').map((e) => [e.subject, e.value]));
    expect(reasons).toEqual({
      shared: "'c' is also read elsewhere, so the unnormalized value must stay",
      afterRelu: "it follows Relu 'r', not a Conv, ConvTranspose or Gemm (or one plus a constant bias)",
      fed: 'its scale, bias, mean or variance is not a float constant',
    });
  });

  it('leaves a BN in training mode and one with a non-positive variance', async () => {
    const input = lines(
      'graph g(%x : f32[1,1,2,2]) {',
      '  %w : f32[1,1,1,1] = const [2]',
      '  %one : f32[1] = const [1]',
      '  %neg : f32[1] = const [-2]',
      '  %c = Conv(%x, %w)',
      '  %t = BatchNormalization(%c, %one, %one, %one, %one) {training_mode=1}',
      '  %c2 = Conv(%t, %w)',
      '  %y = BatchNormalization(%c2, %one, %one, %one, %neg) {epsilon=1.0}',
      '  return %y',
      '}',
    );
    const sink = new MemoryReportSink();
    const result = await runPipeline(parseGraph(input), 'fold-bn', createPassContext({ reportSink: sink }));
    expect(printGraph(result.graph)).toBe(canonical(input));
    expect(sink.find('standalone-reason').map((e) => e.value)).toEqual(['it runs in training mode', 'variance + epsilon is not positive on channel 0']);
  });

  it('folds weights an IR 3 model lists as inputs only when the source model says IR 3', async () => {
    const text = lines(
      'graph g(%x : f32[1,1,2,2]) {',
      '  %w : f32[1,1,1,1] = const [2]',
      '  %one : f32[1] = const [1]',
      '  %c = Conv(%x, %w)',
      '  %y = BatchNormalization(%c, %one, %one, %one, %one)',
      '  return %y',
      '}',
    );
    const listed = (): Graph => {
      const g = parseGraph(text);
      for (const v of g.initializers) v.meta.initializerIsInput = true;
      return g;
    };
    const sink = new MemoryReportSink();
    const unknown = await runPipeline(listed(), 'fold-bn', createPassContext({ reportSink: sink }));
    expect(unknown.modified).toBe(false);
    expect(sink.find('standalone-reason')[0].value).toMatch(/^'one' is an initializer the model also lists as an input/);
    const g = listed();
    const ctx = createPassContext();
    ctx.services.set(SOURCE_MODEL, createModel(g, 8, 3));
    expect((await runPipeline(g, 'fold-bn', ctx)).modified).toBe(true);
  });

  it('leaves a BN after an Add whose constant varies along more than the channels', async () => {
    const input = lines(
      'graph g(%x : f32[1,1,2,2]) {',
      '  %w : f32[1,1,1,1] = const [2]',
      '  %one : f32[1] = const [1]',
      '  %k : f32[1,1,2,2] = const [1, 2, 3, 4]',
      '  %c = Conv(%x, %w)',
      '  %a = Add(%c, %k)',
      '  %y = BatchNormalization(%a, %one, %one, %one, %one)',
      '  return %y',
      '}',
    );
    const sink = new MemoryReportSink();
    const result = await runPipeline(parseGraph(input), 'fold-bn', createPassContext({ reportSink: sink }));
    expect(printGraph(result.graph)).toBe(canonical(input));
    expect(sink.find('standalone-reason')[0].value).toBe("the constant added by 'a' ([1,1,2,2]) is not one value per channel");
  });
});
