import { createPassContext, getPass, MemoryLogger, MemoryReportSink, printInvocations, resolvePipeline, runPipeline } from '@nibble/core';
import { type Graph, parseGraph, printGraph, quantPointOf, Tensor } from '@nibble/ir';
import { activationCandidates, CALIBRATION_STATS } from '@nibble/stats';
import { fakeCalibration } from '@nibble/testing';
import '@nibble/pass-allocation';
import '@nibble/pass-bias-correction';
import '@nibble/pass-clipping';
import '@nibble/pass-graph';
import { quantPolicyPass } from './quant-policy.pass';
import './index';

const lines = (...l: string[]): string => `${l.join('\n')}\n`;
const fill = (n: number, v = 0.5) => `[${Array.from({ length: n }, (_, i) => (i % 2 ? -v : v) * (1 + i / n)).join(', ')}]`;

/**
 * conv1 (3 input channels) -> relu -> conv2 -> relu, a residual Add of the
 * two ReLU outputs, MaxPool, GlobalAveragePool, Flatten, a fully connected
 * layer as MatMul + bias Add (as exporters write it), Softmax.
 */
const NET = lines(
  'graph net(%x : f32[1,3,8,8]) {',
  `  %w1 : f32[4,3,1,1] = const ${fill(12)}`,
  `  %b1 : f32[4] = const ${fill(4, 0.1)}`,
  `  %w2 : f32[4,4,1,1] = const ${fill(16)}`,
  `  %wfc : f32[4,3] = const ${fill(12)}`,
  `  %bfc : f32[3] = const ${fill(3, 0.1)}`,
  '  %c1 : f32[1,4,8,8] = Conv(%x, %w1, %b1) @conv1',
  '  %r1 : f32[1,4,8,8] = Relu(%c1)',
  '  %c2 : f32[1,4,8,8] = Conv(%r1, %w2) @conv2',
  '  %r2 : f32[1,4,8,8] = Relu(%c2)',
  '  %s : f32[1,4,8,8] = Add(%r1, %r2)',
  '  %p : f32[1,4,4,4] = MaxPool(%s) {kernel_shape=[2,2], strides=[2,2]}',
  '  %g : f32[1,4,1,1] = GlobalAveragePool(%p)',
  '  %f : f32[1,4] = Flatten(%g)',
  '  %m : f32[1,3] = MatMul(%f, %wfc) @fc',
  '  %l : f32[1,3] = Add(%m, %bfc)',
  '  %y : f32[1,3] = Softmax(%l) {axis=1}',
  '  return %y',
  '}',
);

/** The marks, one line each: `name kind bits axis|tensor role layer`. */
function marks(g: Graph): string[] {
  const out: string[] = [];
  for (const v of g.values()) {
    const p = quantPointOf(v);
    if (p) out.push(`${v.name} ${p.kind} ${p.bits} ${p.perChannel ? `axis${p.axis}` : 'tensor'} ${p.role} ${p.layer}`);
  }
  return out.sort();
}

async function policy(options = '', text = NET): Promise<string[]> {
  const { graph } = await runPipeline(parseGraph(text), `mark-fused-relu,quant-policy${options}`);
  return marks(graph);
}

describe("pass 'quant-policy'", () => {
  it('is registered; it only annotates, but drops cached calibration statistics (they observe what the marks ask for)', async () => {
    expect(getPass('quant-policy')).toBe(quantPolicyPass);
    const graph = parseGraph(NET);
    const ctx = createPassContext();
    fakeCalibration(ctx, graph, [{ c1: new Tensor('float32', [2, 4, 8, 8]) }]);
    await ctx.getAnalysis(CALIBRATION_STATS, graph);
    const before = printGraph(graph);
    await runPipeline(graph, 'quant-policy', ctx);
    expect(ctx.analyses.isCached(CALIBRATION_STATS)).toBe(false);
    expect(printGraph(graph)).toBe(before);
  });

  it('marks the paper\'s points: 8-bit first conv and last FC weights, per-channel conv outputs, 8-bit pool and logits per tensor', async () => {
    expect(await policy()).toEqual([
      'c1 activation 4 axis1 default conv1',
      'c2 activation 4 axis1 default conv2',
      'l activation 8 tensor logits fc',
      'p activation 8 tensor pool p',
      'w1 weight 8 axis0 first-layer conv1',
      'w2 weight 4 axis0 default conv2',
      'wfc weight 8 axis1 last-layer fc',
    ]);
  });

  it('leads calibration to observe what the quantization passes read: the marks and the inputs of marked layers', async () => {
    const { graph } = await runPipeline(parseGraph(NET), 'mark-fused-relu,quant-policy');
    // Marked: c1, c2, p, l. Inputs of the layers whose weights are marked: x (conv1), r1 (conv2), f (fc).
    expect(activationCandidates(graph).map((c) => c.name)).toEqual(['x', 'c1', 'r1', 'c2', 'p', 'f', 'l']);
    const unmarked = parseGraph(NET);
    expect(activationCandidates(unmarked).map((c) => c.name)).toEqual(['x', 'c1', 'r1', 'c2', 'r2', 's', 'p', 'g', 'f', 'm', 'l', 'y']);
  });

  it('integer-inputs: every input of a weighted layer, averaging pool or residual Add comes from a per-tensor point (the ort target)', async () => {
    // x (network input), s (the residual Add, reached from GlobalAveragePool through MaxPool, whose output keeps
    // its input's grid with pools=false) and g (reached from fc through Flatten) are marked at input-bits;
    // r1 and r2 are covered by c1 and c2 (one-sided: their annotations move past the Relu when lowered).
    expect(await policy('{per-channel-activations=false,integer-inputs=true,pools=false,w-max-bits=7}')).toEqual([
      'c1 activation 4 tensor default conv1',
      'c2 activation 4 tensor default conv2',
      'g activation 8 tensor default fc',
      'l activation 8 tensor logits fc',
      's activation 8 tensor default g',
      'w1 weight 7 axis0 first-layer conv1',
      'w2 weight 4 axis0 default conv2',
      'wfc weight 7 axis1 last-layer fc',
      'x activation 8 tensor default conv1',
    ]);
  });

  it('every-activation: each value an op writes gets a per-tensor grid (the tflite target), except where the op keeps its input\'s levels, a float Softmax tail and what one integer operator computes inside', async () => {
    // r1, r2 keep the one-sided c1/c2 grids; p (MaxPool with pools=false) and f (Flatten) keep their input's; the Softmax
    // at the output stays float; s (the residual Add) and g (GlobalAveragePool) are marked by every-activation.
    expect(await policy('{per-channel-activations=false,integer-inputs=true,pools=false,every-activation=true}')).toEqual([
      'c1 activation 4 tensor default conv1',
      'c2 activation 4 tensor default conv2',
      'g activation 8 tensor default g',
      'l activation 8 tensor logits fc',
      's activation 8 tensor default s',
      'w1 weight 8 axis0 first-layer conv1',
      'w2 weight 4 axis0 default conv2',
      'wfc weight 8 axis1 last-layer fc',
      'x activation 8 tensor default conv1',
    ]);
    // Hard-swish (x * HardSigmoid(x)) and a * x + b by constants: the HardSigmoid and the Mul stay float.
    const fused = lines(
      'graph f(%x : f32[1,3,8,8]) {',
      `  %w1 : f32[4,3,1,1] = const ${fill(12)}`,
      `  %a : f32[1,4,1,1] = const ${fill(4)}`,
      `  %b : f32[1,4,1,1] = const ${fill(4, 0.1)}`,
      '  %c1 : f32[1,4,8,8] = Conv(%x, %w1) @conv1',
      '  %h : f32[1,4,8,8] = HardSigmoid(%c1) {alpha=0.16666667, beta=0.5} @gate',
      '  %s : f32[1,4,8,8] = Mul(%c1, %h) @swish',
      '  %m : f32[1,4,8,8] = Mul(%s, %a) @scale',
      '  %y : f32[1,4,8,8] = Add(%m, %b) @shift',
      '  return %y',
      '}',
    );
    expect((await policy('{per-channel-activations=false,integer-inputs=true,every-activation=true}', fused)).filter((m) => m.includes('activation'))).toEqual([
      'c1 activation 4 tensor default conv1',
      's activation 8 tensor default swish',
      'x activation 8 tensor default conv1',
      'y activation 8 tensor default shift',
    ]);
  });

  it('leaves the input, ReLU outputs, the residual Add, pooling and the bare MatMul output unmarked', async () => {
    const { graph } = await runPipeline(parseGraph(NET), 'mark-fused-relu,quant-policy');
    for (const name of ['x', 'r1', 'r2', 's', 'g', 'f', 'm', 'y', 'b1', 'bfc']) expect(quantPointOf(graph.value(name)!)).toBeUndefined();
    // c1 feeds only a Relu: one-sided; c2 too.
    expect(graph.value('c1')!.meta.oneSided).toBe(true);
  });

  it('takes widths and layouts from its options', async () => {
    expect(await policy('{w-bits=3,a-bits=2,first-last-bits=6,logits-bits=7,pool-bits=5,per-channel-activations=false,per-channel-weights=false}')).toEqual([
      'c1 activation 2 tensor default conv1',
      'c2 activation 2 tensor default conv2',
      'l activation 7 tensor logits fc',
      'p activation 5 tensor pool p',
      'w1 weight 6 tensor first-layer conv1',
      'w2 weight 3 tensor default conv2',
      'wfc weight 6 tensor last-layer fc',
    ]);
    expect(await policy('{activations=false}')).toEqual([
      'w1 weight 8 axis0 first-layer conv1',
      'w2 weight 4 axis0 default conv2',
      'wfc weight 8 axis1 last-layer fc',
    ]);
    expect(await policy('{weights=false}')).toHaveLength(4);
  });

  it('keeps float what keep-float names, by node or output name, with globs', async () => {
    expect(await policy('{keep-float=[conv*,p]}')).toEqual([
      'l activation 8 tensor logits fc',
      'wfc weight 8 axis1 last-layer fc',
    ]);
    // One bare pattern is a list of one; quoting an item changes nothing.
    expect(await policy('{keep-float=conv1}')).toEqual(await policy('{keep-float=["conv1"]}'));
    expect((await policy('{keep-float=conv1}')).some((l) => l.endsWith(' conv1'))).toBe(false);
    expect(await policy('{keep-float=[]}')).toEqual(await policy());
  });

  it('warns about keep-float patterns that match nothing, pointing a \';\'-joined one at the list form', async () => {
    const logger = new MemoryLogger();
    await runPipeline(parseGraph(NET), 'quant-policy{keep-float=["conv1;fc*",conv2]}', createPassContext({ logger }));
    const warnings = logger.lines.filter((l) => l.level === 'warn').map((l) => l.message);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain("keep-float pattern 'conv1;fc*' matches no node (several patterns are a list: keep-float=[conv1,fc*])");
  });

  it('rejects an empty keep-float pattern, naming the option', async () => {
    await expect(policy('{keep-float=[conv1,""]}')).rejects.toMatchObject({
      code: 'E_BAD_OPTION', message: expect.stringMatching(/option 'keep-float' holds an empty pattern/), place: { pass: 'quant-policy', option: 'keep-float' },
    });
  });

  it('applies overrides in order, a later match winning, and marks extra outputs they name', async () => {
    expect(await policy('{override=["conv*:w=6",conv2:a3:w5,g:a8]}')).toEqual([
      'c1 activation 4 axis1 default conv1',
      'c2 activation 3 axis1 override conv2',
      'g activation 8 axis1 override g',
      'l activation 8 tensor logits fc',
      'p activation 8 tensor pool p',
      'w1 weight 6 axis0 override conv1',
      'w2 weight 5 axis0 override conv2',
      'wfc weight 8 axis1 last-layer fc',
    ]);
  });

  it('puts fully connected outputs per tensor unless fc-per-tensor=false (logits stay per tensor)', async () => {
    const mlp = lines(
      'graph mlp(%x : f32[2,4]) {',
      `  %wa : f32[3,4] = const ${fill(12)}`,
      `  %wb : f32[3,3] = const ${fill(9)}`,
      `  %wc : f32[2,3] = const ${fill(6)}`,
      '  %h = Gemm(%x, %wa) {transB=1}',
      '  %r = Relu(%h)',
      '  %h2 = Gemm(%r, %wb) {transB=1}',
      '  %r2 = Relu(%h2)',
      '  %o = Gemm(%r2, %wc) {transB=1}',
      '  return %o',
      '}',
    );
    expect(await policy('', mlp)).toEqual([
      'h activation 4 tensor default h',
      'h2 activation 4 tensor default h2',
      'o activation 8 tensor logits o',
      'wa weight 8 axis0 first-layer h',
      'wb weight 4 axis0 default h2',
      'wc weight 8 axis0 last-layer o',
    ]);
    expect((await policy('{fc-per-tensor=false}', mlp)).filter((l) => l.includes('activation'))).toEqual([
      'h activation 4 axis1 default h',
      'h2 activation 4 axis1 default h2',
      'o activation 8 tensor logits o',
    ]);
  });

  it('replaces the marks of an earlier run', async () => {
    const { graph } = await runPipeline(parseGraph(NET), 'quant-policy,quant-policy{keep-float=[conv2]}');
    expect(quantPointOf(graph.value('w2')!)).toBeUndefined();
    expect(quantPointOf(graph.value('w1')!)?.bits).toBe(8);
  });

  it('records the points in the report', async () => {
    const sink = new MemoryReportSink();
    await runPipeline(parseGraph(NET), 'quant-policy', createPassContext({ reportSink: sink }));
    expect(sink.find('points')[0].value).toEqual({ weights: 3, activations: 4, float: 0 });
    expect(sink.find('point').map((e) => e.subject).sort()).toEqual(['c1', 'c2', 'l', 'p', 'w1', 'w2', 'wfc']);
    expect(sink.find('point').find((e) => e.subject === 'w1')!.value).toEqual({ kind: 'weight', bits: 8, perChannel: true, role: 'first-layer', layer: 'conv1' });
  });

  it('rejects malformed overrides and out-of-range widths with the option named', async () => {
    await expect(policy('{override=[conv1]}')).rejects.toMatchObject({ code: 'E_BAD_OPTION', message: expect.stringMatching(/override 'conv1' needs a node pattern/) });
    await expect(policy('{override=["conv1:q=3"]}')).rejects.toMatchObject({ code: 'E_BAD_OPTION', message: expect.stringMatching(/not w<bits> or a<bits>/) });
    await expect(policy('{override=[conv1:w9]}')).rejects.toMatchObject({ code: 'E_BAD_OPTION', message: expect.stringMatching(/sets 9 bits/) });
    // The former ';'-joined spelling names the list it should be.
    await expect(policy('{override=conv1:w8;fc*:a8}')).rejects.toMatchObject({
      code: 'E_BAD_OPTION', message: expect.stringContaining("holds ';': give the items as a list, [conv1:w8,fc*:a8]"), place: { pass: 'quant-policy', option: 'override' },
    });
    expect(() => resolvePipeline('quant-policy{w-bits=9}')).toThrow(/above the maximum 8/);
  });

  it('round-trips the quantization passes through pipeline text', () => {
    const text = 'quant-policy{a-bits=3,keep-float=[conv1,fc*,"odd name"],override=["conv2:w=8",g*:a8]},clip-aciq{dist=auto,cap-observed=true},'
      + 'alloc-bits{target=weights,budget=2.5,stat=alpha},clip-minmax{target=weights},quantize,bias-correct{mode=mean-var,fold=bias}';
    expect(printInvocations(resolvePipeline(text))).toBe(text);
    // Defaults print as empty lists when every option is shown.
    expect(printInvocations(resolvePipeline('quant-policy'), 'all')).toMatch(/keep-float=\[\],override=\[\]\}$/);
  });
});
