import { createModel, type Model, parseGraph, SeededRandom, Tensor } from '@nibble/ir';
import { createOrtExecutor } from '@nibble/runtime';
import { createWasmExecutor } from '../executor';

/*
 * The kernels PP-OCR's detector needs (elementwise tables, the squeeze-and-
 * excitation scale, Resize, Concat, ConvTranspose, Sigmoid) against
 * onnxruntime's exact QDQ simulation on small QDQ graphs with random data:
 * every QuantizeLinear's codes must be identical (the tables compute what
 * onnxruntime's float32 ops compute), and float outputs identical or, where
 * a kernel computes in float64 what onnxruntime computes in float32
 * (documented per case), within the stated bound.
 */

/** Uniform floats in [0, 1) from @nibble/ir's seeded generator. */
function random(seed: number): () => number {
  const r = new SeededRandom(seed);
  return () => r.uniform();
}

const list = (values: ArrayLike<number>): string => `[${Array.from(values).join(', ')}]`;

/**
 * Text of an input quantized on a grid of `levels` codes (scale s, zero point zp): Max/Min to
 * the levels' range (so the plan knows the codes lie in 0..levels-1), QuantizeLinear, DequantizeLinear.
 */
function quantizedInput(name: string, shape: number[], s: number, zp: number, levels: number): string {
  const dims = `[${shape.join(',')}]`;
  const lo = Math.fround(-zp * s);
  const hi = Math.fround((levels - 1 - zp) * s);
  return `
    %${name}_s : f32[] = const [${s}]
    %${name}_z : u8[] = const [${zp}]
    %${name}_lo : f32[] = const [${lo}]
    %${name}_hi : f32[] = const [${hi}]
    %${name}_a : f32${dims} = Max(%${name}_in, %${name}_lo)
    %${name}_b : f32${dims} = Min(%${name}_a, %${name}_hi)
    %${name}_q : u8${dims} = QuantizeLinear(%${name}_b, %${name}_s, %${name}_z)
    %${name} : f32${dims} = DequantizeLinear(%${name}_q, %${name}_s, %${name}_z)`;
}

/** Text of QuantizeLinear/DequantizeLinear of `from` to `name` (per tensor, 8 bits). */
function qdq(name: string, from: string, shape: number[], s: number, zp: number): string {
  const dims = `[${shape.join(',')}]`;
  return `
    %${name}_s : f32[] = const [${s}]
    %${name}_z : u8[] = const [${zp}]
    %${name}_q : u8${dims} = QuantizeLinear(%${from}, %${name}_s, %${name}_z)
    %${name} : f32${dims} = DequantizeLinear(%${name}_q, %${name}_s, %${name}_z)`;
}

const model = (text: string): Model => createModel(parseGraph(text), 21, 10);

/** Float input values: random codes of the input grid, dequantized in float32, with some values off the grid. */
function inputOf(shape: number[], s: number, zp: number, levels: number, seed: number): Tensor {
  const rand = random(seed);
  const n = shape.reduce((a, b) => a * b, 1);
  return new Tensor('float32', shape, Float32Array.from({ length: n }, () => Math.fround((Math.floor(rand() * levels) - zp) * s)));
}

interface Compared { codes: number; differingCodes: number; floats: number; differingFloats: number; maxAbs: number }

/** Run both executors on x, fetching every QuantizeLinear output's DequantizeLinear and the graph outputs. */
async function compare(m: Model, x: Tensor): Promise<Compared> {
  const dqs = m.graph.nodes.filter((n) => n.opType === 'DequantizeLinear' && n.inputs[0]?.producer?.opType === 'QuantizeLinear').map((n) => n.outputs[0].name);
  const outputs = m.graph.outputs.map((v) => v.name);
  const extra = dqs.filter((n) => !outputs.includes(n));
  const ort = await createOrtExecutor(m, { extraOutputs: extra });
  const wasm = await createWasmExecutor(m, { extraOutputs: extra });
  const feeds = { [m.graph.inputs[0].name]: x };
  const names = [...extra, ...outputs];
  const [a, w] = [await ort.run(feeds, names), await wasm.run(feeds, names)];
  await ort.dispose();
  await wasm.dispose();
  const r: Compared = { codes: 0, differingCodes: 0, floats: 0, differingFloats: 0, maxAbs: 0 };
  for (const name of names) {
    const av = a[name].toFloat64();
    const wv = w[name].toFloat64();
    expect(wv.length).toBe(av.length);
    const isCodes = dqs.includes(name);
    for (let i = 0; i < av.length; i++) {
      if (isCodes) {
        r.codes++;
        if (av[i] !== wv[i]) r.differingCodes++;
      } else {
        r.floats++;
        if (av[i] !== wv[i]) r.differingFloats++;
        r.maxAbs = Math.max(r.maxAbs, Math.abs(av[i] - wv[i]));
      }
    }
  }
  return r;
}

async function planKernels(m: Model, sample: number[], extra: string[] = []): Promise<string[]> {
  const wasm = await createWasmExecutor(m, { extraOutputs: extra });
  const plan = (wasm as unknown as { plan(s: number[]): { steps: { kernel: string }[] } }).plan(sample);
  await wasm.dispose();
  return plan.steps.map((s) => s.kernel);
}

/** hard-swish as PP-OCR exports it, between MobileOne's rescale (Mul, Add by scalars) and the next one. */
function hardSwishChain(x: string, y: string, dims: string, w: [number, number, number, number]): string {
  return `
    %m0 : f32[] = const [${w[0]}]
    %a0 : f32[] = const [${w[1]}]
    %three : f32[] = const [3]
    %zero : f32[] = const [0]
    %six : f32[] = const [6]
    %m1 : f32[] = const [${w[2]}]
    %a1 : f32[] = const [${w[3]}]
    %t1 : f32${dims} = Mul(%m0, %${x})
    %t2 : f32${dims} = Add(%t1, %a0)
    %t3 : f32${dims} = Add(%t2, %three)
    %t4 : f32${dims} = Clip(%t3, %zero, %six)
    %t5 : f32${dims} = Mul(%t2, %t4)
    %t6 : f32${dims} = Div(%t5, %six)
    %t7 : f32${dims} = Mul(%m1, %t6)
    %${y} : f32${dims} = Add(%t7, %a1)`;
}

describe('PP-OCR det kernels against onnxruntime (exact QDQ simulation)', () => {
  const shape = [1, 4, 6, 7];
  const dims = `[${shape.join(',')}]`;

  it.each([
    ['4-bit codes', 0.173, 6, 16],
    ['8-bit codes', 0.0311, 131, 256],
  ])('Mul/Add/Clip/Div chain (hard-swish) on %s: a table, then the codes of the next QuantizeLinear', async (_what, s, zp, levels) => {
    const m = model(`graph t(%x_in : f32${dims}) {
      ${quantizedInput('x', shape, s, zp, levels)}
      ${hardSwishChain('x', 'h', dims, [0.94316906, 0.5042972, 0.4763231, -0.0075732437])}
      ${qdq('y', 'h', shape, 0.0123, 37)}
      return %y
    }`);
    expect(await planKernels(m, shape.slice(1))).toEqual(['quantize', 'mapCodes']);
    for (let seed = 1; seed <= 5; seed++) {
      const r = await compare(m, inputOf(shape, s, zp, levels, seed));
      expect(r.codes).toBe(2 * 168);
      expect(r.differingCodes).toBe(0);
    }
  });

  it('per-channel codes and per-channel constants: one table per channel', async () => {
    const m = model(`graph t(%x_in : f32${dims}) {
      %xs : f32[4] = const [0.05, 0.11, 0.173, 0.021]
      %xz : u8[4] = const [3, 7, 0, 15]
      %xq : u8${dims} = QuantizeLinear(%x_in, %xs, %xz) {axis=1}
      %x : f32${dims} = DequantizeLinear(%xq, %xs, %xz) {axis=1}
      %k : f32[1,4,1,1] = const [0.5, -1.25, 3.3, 0.7]
      %b : f32[4,1,1] = const [0.1, -0.2, 0.3, -0.45]
      %u : f32${dims} = Mul(%x, %k)
      %v : f32${dims} = Sub(%u, %b)
      ${qdq('y', 'v', shape, 0.0173, 120)}
      return %y
    }`);
    for (let seed = 1; seed <= 3; seed++) {
      const rand = random(seed);
      const x = new Tensor('float32', shape, Float32Array.from({ length: 168 }, () => (rand() - 0.3) * 5));
      const r = await compare(m, x);
      expect(r.differingCodes).toBe(0);
    }
  });

  it('squeeze-and-excitation: GlobalAveragePool, HardSigmoid, Mul by the gate per channel (fused codes, and float values when fetched)', async () => {
    const g = [1, 4, 1, 1];
    const m = model(`graph t(%x_in : f32${dims}) {
      ${quantizedInput('x', shape, 0.173, 6, 16)}
      %p : f32[1,4,1,1] = GlobalAveragePool(%x)
      ${qdq('pq', 'p', g, 0.0137, 100)}
      %hs : f32[1,4,1,1] = HardSigmoid(%pq) {alpha=0.1666667, beta=0.5}
      %se : f32${dims} = Mul(%x, %hs)
      ${qdq('y', 'se', shape, 0.0093, 90)}
      return %y
    }`);
    expect(await planKernels(m, shape.slice(1))).toContain('channelScale');
    for (let seed = 1; seed <= 5; seed++) expect((await compare(m, inputOf(shape, 0.173, 6, 16, seed))).differingCodes).toBe(0);
    // Fetching the Mul's output leaves it unfused: its float32 values, bit for bit.
    const withValues = model(`graph t(%x_in : f32${dims}) {
      ${quantizedInput('x', shape, 0.173, 6, 16)}
      %p : f32[1,4,1,1] = GlobalAveragePool(%x)
      ${qdq('pq', 'p', g, 0.0137, 100)}
      %hs : f32[1,4,1,1] = HardSigmoid(%pq) {alpha=0.2, beta=0.5}
      %se : f32${dims} = Mul(%hs, %x)
      return %se
    }`);
    for (let seed = 1; seed <= 5; seed++) {
      const r = await compare(withValues, inputOf(shape, 0.173, 6, 16, seed));
      expect(r.floats).toBe(168);
      expect(r.differingFloats).toBe(0);
    }
  });

  it('Resize nearest (asymmetric, floor, x2) of codes and of float values, then Concat of both and QuantizeLinear', async () => {
    const small = [1, 4, 3, 4];
    const big = [1, 4, 6, 8];
    const cat = [1, 8, 6, 8];
    const m = model(`graph t(%x_in : f32[1,4,3,4]) {
      ${quantizedInput('x', small, 0.173, 6, 16)}
      %roi : f32[0] = const []
      %scales : f32[4] = const [1, 1, 2, 2]
      %r : f32[1,4,6,8] = Resize(%x, %roi, %scales) {coordinate_transformation_mode="asymmetric", mode="nearest", nearest_mode="floor"}
      ${qdq('rq', 'r', big, 0.2, 7)}
      %sum : f32[1,4,3,4] = Add(%x, %x)
      %sizes : i64[4] = const [1, 4, 6, 8]
      %r2 : f32[1,4,6,8] = Resize(%sum, %roi, _, %sizes) {coordinate_transformation_mode="asymmetric", mode="nearest", nearest_mode="floor"}
      %c : f32${`[${cat.join(',')}]`} = Concat(%rq, %r2) {axis=1}
      ${qdq('y', 'c', cat, 0.021, 140)}
      return %y
    }`);
    const kernels = await planKernels(m, small.slice(1));
    expect(kernels.filter((k) => k === 'resizeNearest')).toHaveLength(2);
    expect(kernels).toContain('concatReal');
    for (let seed = 1; seed <= 5; seed++) {
      const r = await compare(m, inputOf(small, 0.173, 6, 16, seed));
      expect(r.codes).toBe(48 + 192 + 384);
      expect(r.differingCodes).toBe(0);
    }
  });

  it('FPN: sums of codes, upsampled and concatenated, then quantized: the Adds write the codes through Resize and Concat', async () => {
    const small = [1, 4, 3, 4];
    const big = [1, 4, 6, 8];
    const m = model(`graph t(%x_in : f32[1,4,3,4]) {
      ${quantizedInput('x', small, 0.173, 6, 16)}
      ${qdq('a', 'x', small, 0.05, 30)}
      %s1 : f32[1,4,3,4] = Add(%x, %a)
      %roi : f32[0] = const []
      %scales : f32[4] = const [1, 1, 2, 2]
      %r : f32[1,4,6,8] = Resize(%s1, %roi, %scales) {coordinate_transformation_mode="asymmetric", mode="nearest", nearest_mode="floor"}
      %xs : f32[4] = const [1, 1, 2, 2]
      %up : f32[1,4,6,8] = Resize(%x, %roi, %xs) {coordinate_transformation_mode="asymmetric", mode="nearest", nearest_mode="floor"}
      ${qdq('b', 'up', big, 0.031, 11)}
      %s2 : f32[1,4,6,8] = Add(%b, %up)
      %c : f32[1,8,6,8] = Concat(%r, %s2) {axis=1}
      ${qdq('y', 'c', [1, 8, 6, 8], 0.0437, 71)}
      return %y
    }`);
    const kernels = await planKernels(m, small.slice(1));
    // Both sums write codes (fused), nothing is quantized from float64, and the Concat has nothing left to do.
    expect(kernels.filter((k) => k === 'addCodes')).toHaveLength(2);
    expect(kernels.filter((k) => k === 'quantize')).toHaveLength(1);
    for (let seed = 1; seed <= 5; seed++) expect((await compare(m, inputOf(small, 0.173, 6, 16, seed))).differingCodes).toBe(0);
  });

  it('Concat of codes on different grids keeps codes (a table per channel into the next grid)', async () => {
    const m = model(`graph t(%x_in : f32${dims}) {
      ${quantizedInput('x', shape, 0.173, 6, 16)}
      ${qdq('a', 'x', shape, 0.05, 30)}
      %c : f32[1,8,6,7] = Concat(%x, %a) {axis=1}
      ${qdq('y', 'c', [1, 8, 6, 7], 0.031, 60)}
      return %y
    }`);
    expect(await planKernels(m, shape.slice(1))).toContain('concatCodes');
    for (let seed = 1; seed <= 3; seed++) expect((await compare(m, inputOf(shape, 0.173, 6, 16, seed))).differingCodes).toBe(0);
  });

  it.each([
    ['with bias, per-tensor output (fused)', true, 'none'],
    ['without bias, per-channel output (fused)', false, 'channel'],
    ['float output', true, 'float'],
  ])('ConvTranspose 2x2 stride 2 on 4-bit codes, int4 weights: %s', async (_what, withBias, output) => {
    const C = 4, O = 3;
    const rand = random(7);
    const levels = Array.from({ length: C * O * 4 }, () => Math.floor(rand() * 16) - 8);
    const ws = Array.from({ length: O }, () => Math.fround(0.02 + 0.1 * rand()));
    const wz = Array.from({ length: O }, () => Math.floor(rand() * 3) - 1);
    const bias = Array.from({ length: O }, () => Math.fround(rand() - 0.5));
    const out = [1, O, 12, 14];
    const tail = output === 'none' ? qdq('y', 'ct', out, 0.043, 128)
      : output === 'channel' ? `
        %ys : f32[3] = const [0.04, 0.07, 0.02]
        %yz : u8[3] = const [128, 100, 140]
        %yq : u8[1,3,12,14] = QuantizeLinear(%ct, %ys, %yz) {axis=1}
        %y : f32[1,3,12,14] = DequantizeLinear(%yq, %ys, %yz) {axis=1}`
        : '';
    const m = model(`graph t(%x_in : f32${dims}) {
      ${quantizedInput('x', shape, 0.173, 6, 16)}
      %wq : i8[4,3,2,2] = const ${list(levels)}
      %ws : f32[3] = const ${list(ws)}
      %wz : i8[3] = const ${list(wz)}
      %w : f32[4,3,2,2] = DequantizeLinear(%wq, %ws, %wz) {axis=1}
      %b : f32[3] = const ${list(bias)}
      %ct : f32[1,3,12,14] = ConvTranspose(%x, %w${withBias ? ', %b' : ''}) {kernel_shape=[2,2], strides=[2,2]}
      ${tail}
      return ${output === 'float' ? '%ct' : '%y'}
    }`);
    for (let seed = 1; seed <= 3; seed++) {
      const r = await compare(m, inputOf(shape, 0.173, 6, 16, seed));
      expect(r.differingCodes).toBe(0);
      if (output === 'float') {
        // Our float64 sums against onnxruntime's float32 ones: a few float32 ulps apart.
        expect(r.floats).toBe(3 * 12 * 14);
        expect(r.maxAbs).toBeLessThan(1e-5);
      } else {
        expect(r.codes).toBe(168 + 3 * 12 * 14);
      }
    }
  });

  it('Sigmoid of codes (the probability map): within 2 float32 ulps of onnxruntime\'s approximation', async () => {
    const m = model(`graph t(%x_in : f32${dims}) {
      ${quantizedInput('x', shape, 0.0625, 128, 256)}
      %y : f32${dims} = Sigmoid(%x)
      return %y
    }`);
    const r = await compare(m, inputOf(shape, 0.0625, 128, 256, 3));
    expect(r.floats).toBe(168);
    expect(r.maxAbs).toBeLessThanOrEqual(2 ** -23);
  });

  it('names the node it cannot run', async () => {
    const m = model(`graph t(%x_in : f32${dims}) {
      ${quantizedInput('x', shape, 0.173, 6, 16)}
      ${qdq('z', 'x', shape, 0.05, 30)}
      %y : f32${dims} = Div(%x, %z) @the_div
      return %y
    }`);
    const wasm = await createWasmExecutor(m);
    expect(() => (wasm as unknown as { plan(s: number[]): unknown }).plan(shape.slice(1))).toThrow(/Div 'the_div'/);
  });
});
