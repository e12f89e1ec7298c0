import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { constantTensor, createModel, isNibbleError, type Model, parseGraph, SeededRandom, Tensor } from '@nibble/ir';
import { lowerForOrt, lowerToQdq, readOnnx, readOnnxFile, writeOnnx } from '@nibble/onnx';
import { createOrtExecutor } from '@nibble/runtime';
import type { CalibrationData } from '@nibble/stats';
import { buildSmallConvNet, smallNetInputs } from '@nibble/testing';
import { evaluate } from './evaluate';
import { planQuantization } from './plan';
import { quantize } from './quantize';
import { getTarget, listTargets } from './targets';

function calibration(n: number): CalibrationData {
  const x = smallNetInputs(n, 1);
  return { samples: n, description: 'synthetic', async *batches() { yield { x }; } };
}

/** Op counts of onnxruntime's optimized graph (level extended: its QDQ fusions) of an ONNX file's bytes. */
async function optimizedOps(bytes: Uint8Array): Promise<Record<string, number>> {
  const file = join(tmpdir(), `nibble-targets-${process.pid}-${Math.random().toString(36).slice(2)}.onnx`);
  writeFileSync(file, bytes);
  try {
    await ort.InferenceSession.create(file, { graphOptimizationLevel: 'extended', optimizedModelFilePath: `${file}.opt`, logSeverityLevel: 3 });
    const counts: Record<string, number> = {};
    for (const n of readOnnx(readFileSync(`${file}.opt`), { checkOps: false }).graph.nodes) counts[n.opType] = (counts[n.opType] ?? 0) + 1;
    return counts;
  } finally {
    rmSync(file, { force: true });
    rmSync(`${file}.opt`, { force: true });
  }
}

/** onnxruntime's session over an ort file gives, on the small net's inputs, exactly the outputs of the model's QDQ simulation. */
async function expectSimulation(session: ort.InferenceSession, model: Model): Promise<void> {
  const x = smallNetInputs(8, 3);
  const sim = await ort.InferenceSession.create(writeOnnx(lowerToQdq(model, { minContainerBits: 8 })), { graphOptimizationLevel: 'basic', extra: { session: { disable_quant_qdq: '1' } } } as ort.InferenceSession.SessionOptions);
  const feeds = { [session.inputNames[0]]: new ort.Tensor('float32', x.toFloat32(), x.shape) };
  const [a, b] = [await session.run(feeds), await sim.run(feeds)];
  expect(Array.from(a[session.outputNames[0]].data as Float32Array)).toEqual(Array.from(b[sim.outputNames[0]].data as Float32Array));
}

describe('deployment targets', () => {
  const model = buildSmallConvNet();

  it('lists the targets as data: sim (the default), ort, tflite, tflite-int4', () => {
    expect(listTargets().map((t) => t.name)).toEqual(expect.arrayContaining(['sim', 'ort', 'tflite', 'tflite-int4']));
    expect(getTarget('tflite')).toMatchObject({ format: 'tflite', extension: '.tflite', activationScale: 'per-tensor', weights: 'symmetric' });
    expect(getTarget('tflite-int4').containers.weights).toEqual(['int4', 'int8']);
    expect(getTarget().name).toBe('sim');
    expect(getTarget('ort')).toMatchObject({ activationScale: 'per-tensor', weights: 'symmetric', containers: { weights: ['int8'], activations: ['uint8'] } });
    expect(() => getTarget('coreml')).toThrow(/unknown target 'coreml'.*/);
  });

  it('sim writes the bytes of the plain QDQ lowering, with or without naming the target', async () => {
    const plain = await quantize(model, { recipe: 'w4a4-all', data: calibration(16) });
    const sim = await quantize(model, { recipe: 'w4a4-all', data: calibration(16), target: 'sim' });
    expect(plain.report.pipeline).toBe(sim.report.pipeline);
    expect(Buffer.compare(Buffer.from(plain.onnx), Buffer.from(sim.onnx))).toBe(0);
    expect(Buffer.compare(Buffer.from(plain.onnx), Buffer.from(writeOnnx(lowerToQdq(plain.model))))).toBe(0);
  });

  it('puts the target\'s constraints into the plan and refuses a pipeline option that contradicts them', () => {
    const plan = planQuantization({ recipe: 'w4a4-all', target: 'ort' });
    expect(plan.target).toBe('ort');
    expect(plan.pipeline).toContain('quant-policy{w-bits=4,a-bits=4,per-channel-activations=false,integer-inputs=true,pools=false,w-max-bits=7}');
    expect(plan.pipeline).toContain('quantize{symmetric-weights=true}');
    expect(plan.pipeline).toContain('bias-correct{mode=mean,fold=bias,zero-point=false}');
    expect(() => planQuantization({ pipeline: 'quant-policy{per-channel-activations=true},quantize', target: 'ort' }))
      .toThrow(/per-channel-activations=true\} conflicts with target ort/);
  });

  it('ort: onnxruntime fuses every layer of the small net into integer kernels, and runs it', async () => {
    const q = await quantize(model, { recipe: 'w4a8-baseline', data: calibration(32), target: 'ort' });
    const ops = await optimizedOps(q.onnx);
    // conv1..conv4, the residual Add, GlobalAveragePool and the Gemm; MaxPool runs on uint8 between them.
    expect(ops).toMatchObject({ QLinearConv: 4, QLinearAdd: 1, QLinearGlobalAveragePool: 1, QGemm: 1, MaxPool: 1 });
    expect(ops.Conv).toBeUndefined();
    // Only the network input is quantized and only the logits dequantized in float.
    expect(ops).toMatchObject({ QuantizeLinear: 1, DequantizeLinear: 1 });
    const file = readOnnx(q.onnx);
    const x = smallNetInputs(8, 2);
    const integer = await evaluateLogits(file, x, false);
    const simulated = await evaluateLogits(lowerToQdq(q.model, { minContainerBits: 8 }), x, true);
    const scale = Math.max(...Array.from(simulated, Math.abs));
    // Requantization in the integer kernels rounds differently by at most a level here and there.
    for (let i = 0; i < simulated.length; i++) expect(Math.abs(integer[i] - simulated[i])).toBeLessThan(0.05 * scale);
  });

  it('ort-bias: the biases in the file are the ones onnxruntime adds after quantizing them to int32 itself, so its float path equals the simulation', async () => {
    const q = await quantize(model, { recipe: 'w4a8-baseline', data: calibration(32), target: 'ort' });
    expect(q.report.pipeline.split(',').at(-1)).toBe('ort-bias');
    // onnxruntime's own rewrite (level basic: WeightBiasQuantization, then constant folding), read back from its optimized graph.
    const file = join(tmpdir(), `nibble-ort-bias-${process.pid}.onnx`);
    writeFileSync(file, q.onnx);
    try {
      const basic = await ort.InferenceSession.create(file, { graphOptimizationLevel: 'basic', optimizedModelFilePath: `${file}.opt`, logSeverityLevel: 3 });
      const g = readOnnx(readFileSync(`${file}.opt`), { checkOps: false }).graph;
      let layers = 0;
      for (const conv of g.nodes.filter((n) => ['Conv', 'Gemm'].includes(n.opType))) {
        const dq = conv.inputs[2]?.producer;
        expect(dq?.opType).toBe('DequantizeLinear');
        const ints = constantTensor(dq!.inputs[0])!.toFloat64();
        const scale = constantTensor(dq!.inputs[1])!.toFloat64();
        const added = ints.map((v, c) => Math.fround(Math.fround(v) * scale[scale.length === 1 ? 0 : c]));
        const ours = constantTensor(q.model.graph.node(conv.name)!.inputs[2])!.toFloat64();
        expect(Array.from(added)).toEqual(Array.from(ours));
        layers++;
      }
      expect(layers).toBe(5);
      // With the biases equal, onnxruntime's float path over the file (QDQ fusions off until level extended) is the simulation.
      await expectSimulation(basic, q.model);
    } finally {
      rmSync(file, { force: true });
      rmSync(`${file}.opt`, { force: true });
    }
  });

  it('ort-bias: a MatMul followed by an Add of a constant gets the bias onnxruntime adds once MatMulAddFusion has made them a Gemm', async () => {
    // The small net with its classifier as MatMul(h, W^T) + Add(b), the way converters from PaddlePaddle and TF write it.
    const mm = buildSmallConvNet();
    const g = mm.graph;
    const fc = g.node('fc')!;
    const [h, w, b] = [fc.inputs[0]!, constantTensor(fc.inputs[1])!, fc.inputs[2]!];
    const [o, k] = w.shape;
    const wt = new Float32Array(k * o);
    for (let i = 0; i < o; i++) for (let j = 0; j < k; j++) wt[j * o + i] = w.toFloat64()[i * k + j];
    const logits = fc.outputs[0];
    const product = g.addNode({ opType: 'MatMul', name: 'fc_matmul', inputs: [h, g.addInitializer('fc.wt', new Tensor('float32', [k, o], wt))], outputs: ['fc_product'] }, g.indexOf(fc));
    const sum = g.addNode({ opType: 'Add', name: 'fc_add', inputs: [product.outputs[0], b], outputs: ['fc_sum'] }, g.indexOf(fc));
    logits.replaceAllUsesWith(sum.outputs[0]);
    g.removeNode(fc, true);
    const q = await quantize(mm, { recipe: 'w4a8-baseline', data: calibration(32), target: 'ort' });
    const file = join(tmpdir(), `nibble-ort-bias-mm-${process.pid}.onnx`);
    writeFileSync(file, q.onnx);
    try {
      const basic = await ort.InferenceSession.create(file, { graphOptimizationLevel: 'basic', optimizedModelFilePath: `${file}.opt`, logSeverityLevel: 3 });
      const gemm = readOnnx(readFileSync(`${file}.opt`), { checkOps: false }).graph.nodes.find((n) => n.opType === 'Gemm');
      const dq = gemm?.inputs[2]?.producer;
      expect(dq?.opType).toBe('DequantizeLinear');
      const scale = constantTensor(dq!.inputs[1])!.toFloat64();
      const added = constantTensor(dq!.inputs[0])!.toFloat64().map((v, c) => Math.fround(Math.fround(v) * scale[scale.length === 1 ? 0 : c]));
      const ours = constantTensor(q.model.graph.node('fc_add')!.inputs[1])!.toFloat64();
      expect(Array.from(added)).toEqual(Array.from(ours));
      // The float bias was moved: onnxruntime's rewrite would have changed it.
      expect(Array.from(ours)).not.toEqual(Array.from(constantTensor(b)!.toFloat64()));
      await expectSimulation(basic, q.model);
    } finally {
      rmSync(file, { force: true });
      rmSync(`${file}.opt`, { force: true });
    }
  });

  it('ort: a ReLU6 (Clip 0..6) in front of a 4-bit grid becomes a Relu and leaves no unused constant in the file', async () => {
    // onnxruntime warns about every initializer no node reads; the Clip's min and max went unread before.
    const r = new SeededRandom(9);
    const vals = (n: number) => Array.from({ length: n }, () => (r.uniform() * 2 - 1).toFixed(4)).join(', ');
    const relu6 = createModel(parseGraph(`graph g(%x : f32[N,3,8,8]) {
      %w1 : f32[4,3,3,3] = const [${vals(108)}]
      %lo : f32[] = const [0]
      %hi : f32[] = const [6]
      %c1 : f32[N,4,8,8] = Conv(%x, %w1) {kernel_shape=[3,3], pads=[1,1,1,1]} @conv1
      %r1 : f32[N,4,8,8] = Clip(%c1, %lo, %hi) @relu6
      %w2 : f32[2,4,1,1] = const [${vals(8)}]
      %y : f32[N,2,8,8] = Conv(%r1, %w2) {kernel_shape=[1,1]} @head
      return %y
    }`), 13, 10);
    const x = Tensor.from('float32', [8, 3, 8, 8], Array.from({ length: 8 * 3 * 64 }, () => 3 * r.uniform()));
    const data = { samples: 8, description: 'synthetic', async *batches() { yield { x }; } };
    const q = await quantize(relu6, { recipe: 'w4a4-baseline', data, target: 'ort' });
    const file = readOnnx(q.onnx);
    expect(file.graph.nodes.filter((n) => n.opType === 'Clip')).toEqual([]);
    expect(file.graph.nodes.some((n) => n.opType === 'Relu')).toBe(true);
    expect([...file.graph.initializers].filter((v) => v.uses.length === 0).map((v) => v.name)).toEqual([]);
  });

  it('ort refuses an IR quantized without its constraints, naming the node and the constraint', async () => {
    const refusal = (m: Parameters<typeof lowerForOrt>[0]): string => {
      try {
        lowerForOrt(m);
      } catch (e) {
        expect(isNibbleError(e) && e.code).toBe('E_UNSUPPORTED');
        return (e as Error).message;
      }
      throw new Error('expected a refusal');
    };
    const affine = await quantize(model, { recipe: 'w4a8-baseline', data: calibration(16) });
    expect(refusal(affine.model)).toMatch(/^target ort: node 'conv1' \(Conv\), value 'conv1\.weight_bn': .*\(constraint: symmetric weights/);
    const pipeline = 'fold-bn,mark-fused-relu,quant-policy{w-max-bits=7},clip-minmax,quantize{symmetric-weights=true}';
    const perChannel = await quantize(model, { pipeline, data: calibration(16) });
    expect(refusal(perChannel.model)).toMatch(/^target ort: node 'conv1' \(Conv\), value 'conv1': .*per channel.*\(constraint: per-tensor activation scales\)/);
  });
});

async function evaluateLogits(m: Parameters<typeof writeOnnx>[0], x: ReturnType<typeof smallNetInputs>, exactQdq: boolean): Promise<Float32Array> {
  const ex = await createOrtExecutor(m, { exactQdq });
  try {
    const out = await ex.run({ x });
    return Float32Array.from(out[ex.outputNames[0]].toFloat64());
  } finally {
    await ex.dispose();
  }
}

describe('ort target on a zoo model', () => {
  it('agrees with the simulation of its constrained scheme on 200 Fashion-MNIST test images (fmnist-resnet20, w4a8-baseline)', async () => {
    const float = readOnnxFile(join(__dirname, '..', '..', '..', 'models', 'fmnist-resnet20.onnx'));
    const q = await quantize(float, { recipe: 'w4a8-baseline', data: 'fashion-mnist:calib', samples: 64, target: 'ort' });
    const sim = await evaluate(lowerToQdq(q.model, { minContainerBits: 8 }), { data: 'fashion-mnist:test', limit: 200, keepLogits: true });
    const integer = await evaluate(readOnnx(q.onnx), { data: 'fashion-mnist:test', limit: 200, keepLogits: true, exactQdq: false });
    const k = sim.classes!;
    const top = (l: Float32Array, i: number) => l.subarray(i * k, (i + 1) * k).reduce((b, v, c, a) => (v > a[b] ? c : b), 0);
    let differ = 0;
    for (let i = 0; i < 200; i++) if (top(sim.logits!, i) !== top(integer.logits!, i)) differ++;
    // Measured on the 10k split: 99.9% identical top-1 (docs/accuracy.md, "Deployment targets"); 200 images allow 2.
    expect(differ).toBeLessThanOrEqual(2);
  }, 120_000);
});
