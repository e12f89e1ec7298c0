import { createWasmExecutor } from '@nibble/backend-wasm';
import { createModel, type Model, NibbleError, parseGraph, SeededRandom, Tensor } from '@nibble/ir';
import { describeWithWebGpu } from '@nibble/testing';
import { createWebGpuExecutor } from '../executor';

/*
 * The kernels PP-OCR's detector needs (elementwise tables, the squeeze-and-
 * excitation scale, nearest Resize, Concat, ConvTranspose, Sigmoid) on small
 * QDQ graphs with random inputs: the WebGPU plan's codes of every
 * QuantizeLinear and its float32 outputs must be the WebAssembly backend's,
 * bit for bit (that backend's own spec holds those against onnxruntime's
 * simulation), and the plan must run the kernel the case is about.
 */

const dimsOf = (shape: number[]): string => `[${shape.join(',')}]`;

/**
 * Graph lines that put value `from` on the grid (s, zp) as `name` (QuantizeLinear, DequantizeLinear;
 * `name_q` holds the codes). With `levels`, Max/Min first clamp it to the first `levels` codes, as
 * the QDQ lowering writes a grid narrower than its container (the plans then know the codes' range).
 */
function grid(name: string, from: string, shape: number[], s: number, zp: number, levels?: number): string {
  const d = dimsOf(shape);
  const clamp = levels === undefined ? '' : `
    %${name}_lo : f32[] = const [${Math.fround(-zp * s)}]
    %${name}_hi : f32[] = const [${Math.fround((levels - 1 - zp) * s)}]
    %${name}_max : f32${d} = Max(%${from}, %${name}_lo)
    %${name}_min : f32${d} = Min(%${name}_max, %${name}_hi)`;
  return `${clamp}
    %${name}_s : f32[] = const [${s}]
    %${name}_z : u8[] = const [${zp}]
    %${name}_q : u8${d} = QuantizeLinear(%${levels === undefined ? from : `${name}_min`}, %${name}_s, %${name}_z)
    %${name} : f32${d} = DequantizeLinear(%${name}_q, %${name}_s, %${name}_z)`;
}

const model = (text: string): Model => createModel(parseGraph(text), 21, 10);

/** Codes of a grid of `levels` codes drawn at random, dequantized in float32 (the graphs' float input). */
function codesInput(shape: number[], s: number, zp: number, levels: number, seed: number): Tensor {
  const r = new SeededRandom(seed);
  const n = shape.reduce((a, b) => a * b, 1);
  return new Tensor('float32', shape, Float32Array.from({ length: n }, () => Math.fround((Math.floor(r.uniform() * levels) - zp) * s)));
}

/**
 * Both backends on each input, fetching every QuantizeLinear's codes and the graph outputs: every
 * code and every float32 bit must agree. Returns how many codes and floats were compared and the
 * kernels the WebGPU plan dispatches.
 */
async function againstWasm(m: Model, inputs: Tensor[]): Promise<{ codes: number; floats: number; kernels: string[] }> {
  const acts = m.graph.nodes.filter((n) => n.opType === 'QuantizeLinear' && !n.inputs[0]!.isInitializer).map((n) => n.outputs[0].name);
  const outputs = m.graph.outputs.map((v) => v.name).filter((n) => !acts.includes(n));
  const wasm = await createWasmExecutor(m, { extraOutputs: acts });
  const gpu = await createWebGpuExecutor(m, { extraOutputs: acts });
  const r = { codes: 0, floats: 0, kernels: [] as string[] };
  try {
    for (const x of inputs) {
      const feeds = { [m.graph.inputs[0].name]: x };
      const [w, g] = [await wasm.run(feeds, [...acts, ...outputs]), await gpu.run(feeds, [...acts, ...outputs])];
      for (const a of acts) {
        expect({ [a]: Array.from(g[a].toFloat64()) }).toEqual({ [a]: Array.from(w[a].toFloat64()) });
        r.codes += w[a].size;
      }
      for (const o of outputs) {
        expect(g[o].dtype).toBe('float32');
        expect({ [o]: Array.from(g[o].data as Float32Array) }).toEqual({ [o]: Array.from(w[o].data as Float32Array) });
        r.floats += w[o].size;
      }
    }
    const plan = gpu.plan(inputs[0].shape.slice(1));
    r.kernels = plan.dispatches.map((d) => plan.steps[d.step].kernel);
  } finally {
    await wasm.dispose();
    await gpu.dispose();
  }
  return r;
}

const seeds = (n: number, f: (seed: number) => Tensor): Tensor[] => Array.from({ length: n }, (_, i) => f(i + 1));

/** hard-swish as PP-OCR exports it, between MobileOne's rescale (Mul, Add by scalars) and the next one: x -> h. */
function hardSwish(x: string, h: string, d: string): string {
  return `
    %k0 : f32[] = const [0.94316906]
    %c0 : f32[] = const [0.5042972]
    %three : f32[] = const [3]
    %zero : f32[] = const [0]
    %six : f32[] = const [6]
    %k1 : f32[] = const [0.4763231]
    %c1 : f32[] = const [-0.0075732437]
    %r0 : f32${d} = Mul(%k0, %${x})
    %r1 : f32${d} = Add(%r0, %c0)
    %p3 : f32${d} = Add(%r1, %three)
    %cl : f32${d} = Clip(%p3, %zero, %six)
    %sw : f32${d} = Mul(%r1, %cl)
    %d6 : f32${d} = Div(%sw, %six)
    %r2 : f32${d} = Mul(%k1, %d6)
    %${h} : f32${d} = Add(%r2, %c1)`;
}

describeWithWebGpu('webgpu kernels for PP-OCR det: identical to the wasm backend', () => {
  const shape = [1, 4, 6, 7];
  const d = dimsOf(shape);

  it.each([
    ['4-bit codes', 0.173, 6, 16],
    ['8-bit codes', 0.0311, 131, 256],
  ])('hard-swish chain (Mul/Add/Clip/Mul/Div by constants) on %s: one map of the codes, and the float table read back', async (_what, s, zp, levels) => {
    const m = model(`graph t(%x_in : f32${d}) {
      ${grid('x', 'x_in', shape, s, zp, levels)}
      ${hardSwish('x', 'h', d)}
      ${grid('y', 'h', shape, 0.0123, 37)}
      return %y, %h
    }`);
    const r = await againstWasm(m, seeds(4, (seed) => codesInput(shape, s, zp, levels, seed)));
    expect(r.codes).toBe(4 * 2 * 168);
    // %y dequantized, and %h: the table's float32 values.
    expect(r.floats).toBe(4 * 2 * 168);
    // The input's threshold step, then the chain as one map of its codes.
    expect(r.kernels).toEqual(['quantizeInput', 'mapCodes']);
  });

  it('per-channel codes and per-channel constants (Mul, Sub), HardSigmoid and Sigmoid: a table per channel', async () => {
    const m = model(`graph t(%x_in : f32${d}) {
      %xs : f32[4] = const [0.05, 0.11, 0.173, 0.021]
      %xz : u8[4] = const [3, 7, 0, 15]
      %xq : u8${d} = QuantizeLinear(%x_in, %xs, %xz) {axis=1}
      %x : f32${d} = DequantizeLinear(%xq, %xs, %xz) {axis=1}
      %k : f32[1,4,1,1] = const [0.5, -1.25, 3.3, 0.7]
      %b : f32[4,1,1] = const [0.1, -0.2, 0.3, -0.45]
      %u : f32${d} = Mul(%x, %k)
      %v : f32${d} = Sub(%u, %b)
      ${grid('y', 'v', shape, 0.0173, 120)}
      %hs : f32${d} = HardSigmoid(%y) {alpha=0.1666667, beta=0.5}
      %sg : f32${d} = Sigmoid(%v)
      return %hs, %sg
    }`);
    const r = await againstWasm(m, seeds(3, (seed) => {
      const rand = new SeededRandom(seed);
      return new Tensor('float32', shape, Float32Array.from({ length: 168 }, () => (rand.uniform() - 0.3) * 5));
    }));
    expect(r.floats).toBe(3 * 2 * 168);
  });

  it('squeeze-and-excitation: the gate (GlobalAveragePool, HardSigmoid) scales each channel, its codes fused; its float values when fetched', async () => {
    const g = [1, 4, 1, 1];
    const gate = (x: string, alpha: number): string => `
      %p : f32${dimsOf(g)} = GlobalAveragePool(%${x})
      ${grid('pq', 'p', g, 0.0137, 100)}
      %hs : f32${dimsOf(g)} = HardSigmoid(%pq) {alpha=${alpha}, beta=0.5}`;
    const fused = model(`graph t(%x_in : f32${d}) {
      ${grid('x', 'x_in', shape, 0.173, 6, 16)}
      ${gate('x', 0.1666667)}
      %se : f32${d} = Mul(%x, %hs)
      ${grid('y', 'se', shape, 0.0093, 90)}
      return %y
    }`);
    const inputs = seeds(4, (seed) => codesInput(shape, 0.173, 6, 16, seed));
    const a = await againstWasm(fused, inputs);
    expect(a.kernels).toContain('channelScale');
    expect(a.kernels).not.toContain('broadcastGate');
    const fetched = model(`graph t(%x_in : f32${d}) {
      ${grid('x', 'x_in', shape, 0.173, 6, 16)}
      ${gate('x', 0.2)}
      %se : f32${d} = Mul(%hs, %x)
      return %se
    }`);
    const b = await againstWasm(fetched, inputs);
    expect(b.floats).toBe(4 * 168);
    expect(b.kernels).toContain('broadcastGate');
  });

  it('Resize nearest of codes and of a sum, Concat of both (codes beside a pair of codes), QuantizeLinear', async () => {
    const small = [1, 4, 3, 4];
    const m = model(`graph t(%x_in : f32${dimsOf(small)}) {
      ${grid('x', 'x_in', small, 0.173, 6, 16)}
      %roi : f32[0] = const []
      %scales : f32[4] = const [1, 1, 2, 2]
      %r : f32[1,4,6,8] = Resize(%x, %roi, %scales) {coordinate_transformation_mode="asymmetric", mode="nearest", nearest_mode="floor"}
      ${grid('rq', 'r', [1, 4, 6, 8], 0.2, 7)}
      %sum : f32${dimsOf(small)} = Add(%x, %x)
      %sizes : i64[4] = const [1, 4, 6, 8]
      %r2 : f32[1,4,6,8] = Resize(%sum, %roi, _, %sizes) {coordinate_transformation_mode="half_pixel", mode="nearest", nearest_mode="round_prefer_ceil"}
      %c : f32[1,8,6,8] = Concat(%rq, %r2) {axis=1}
      ${grid('y', 'c', [1, 8, 6, 8], 0.021, 140)}
      return %y, %c
    }`);
    const r = await againstWasm(m, seeds(4, (seed) => codesInput(small, 0.173, 6, 16, seed)));
    expect(r.codes).toBe(4 * (48 + 192 + 384));
    expect(r.floats).toBe(4 * 2 * 384);
    expect(r.kernels.filter((k) => k === 'resizeNearest')).toHaveLength(3);
  });

  it('FPN: sums of codes, upsampled and concatenated, then quantized: the sums write the codes through Resize and Concat', async () => {
    const small = [1, 4, 3, 4];
    const big = [1, 4, 6, 8];
    const m = model(`graph t(%x_in : f32${dimsOf(small)}) {
      ${grid('x', 'x_in', small, 0.173, 6, 16)}
      ${grid('a', 'x', small, 0.05, 30)}
      %s1 : f32${dimsOf(small)} = Add(%x, %a)
      %roi : f32[0] = const []
      %scales : f32[4] = const [1, 1, 2, 2]
      %r : f32${dimsOf(big)} = Resize(%s1, %roi, %scales) {coordinate_transformation_mode="asymmetric", mode="nearest", nearest_mode="floor"}
      %up : f32${dimsOf(big)} = Resize(%x, %roi, %scales) {coordinate_transformation_mode="asymmetric", mode="nearest", nearest_mode="floor"}
      ${grid('b', 'up', big, 0.031, 11)}
      %s2 : f32${dimsOf(big)} = Add(%b, %up)
      %c : f32[1,8,6,8] = Concat(%r, %s2) {axis=1}
      ${grid('y', 'c', [1, 8, 6, 8], 0.0437, 71)}
      return %y
    }`);
    const r = await againstWasm(m, seeds(4, (seed) => codesInput(small, 0.173, 6, 16, seed)));
    // Both sums as code pairs, Resize moving codes, the Concat two copies of codes; nothing quantized from a real value but the input.
    expect(r.kernels.filter((k) => k === 'addCodes')).toHaveLength(2);
    expect(r.kernels.filter((k) => k === 'concat')).toHaveLength(2);
    expect(r.kernels.filter((k) => k === 'quantizeInput' || k === 'requantize')).toHaveLength(1);
  });

  it('Concat of codes on different grids stays codes (a map per channel onto the next grid)', async () => {
    const m = model(`graph t(%x_in : f32${d}) {
      ${grid('x', 'x_in', shape, 0.173, 6, 16)}
      ${grid('a', 'x', shape, 0.05, 30)}
      %c : f32[1,8,6,7] = Concat(%x, %a) {axis=1}
      ${grid('y', 'c', [1, 8, 6, 7], 0.031, 60)}
      return %y, %c
    }`);
    const r = await againstWasm(m, seeds(3, (seed) => codesInput(shape, 0.173, 6, 16, seed)));
    expect(r.floats).toBe(3 * 2 * 336);
    expect(r.kernels).toContain('mapCodes');
  });

  it.each([
    ['with bias, per-tensor output (fused)', true, 'tensor'],
    ['without bias, per-channel output (fused)', false, 'channel'],
    ['float output (int32 sums scattered)', true, 'float'],
    ['then a bias added and quantized (as the detector\'s last one)', false, 'bias'],
  ])('ConvTranspose 2x2 stride 2 on 4-bit codes, int4 weights: %s', async (_what, withBias, output) => {
    const C = 4, O = 3;
    const rand = new SeededRandom(7);
    const list = (n: number, f: () => number): string => `[${Array.from({ length: n }, f).join(', ')}]`;
    const out = [1, O, 12, 14];
    const tail: Record<string, string> = {
      tensor: `${grid('y', 'ct', out, 0.043, 128)}
        return %y`,
      channel: `
        %ys : f32[3] = const [0.04, 0.07, 0.02]
        %yz : u8[3] = const [128, 100, 140]
        %yq : u8${dimsOf(out)} = QuantizeLinear(%ct, %ys, %yz) {axis=1}
        %y : f32${dimsOf(out)} = DequantizeLinear(%yq, %ys, %yz) {axis=1}
        return %y`,
      float: 'return %ct',
      bias: `
        %b2 : f32[3,1,1] = const [0.25, -0.5, 0.125]
        %cb : f32${dimsOf(out)} = Add(%ct, %b2)
        ${grid('y', 'cb', out, 0.043, 128, 256)}
        return %y`,
    };
    const m = model(`graph t(%x_in : f32${d}) {
      ${grid('x', 'x_in', shape, 0.173, 6, 16)}
      %wq : i8[4,3,2,2] = const ${list(C * O * 4, () => Math.floor(rand.uniform() * 16) - 8)}
      %ws : f32[3] = const ${list(O, () => Math.fround(0.02 + 0.1 * rand.uniform()))}
      %wz : i8[3] = const ${list(O, () => Math.floor(rand.uniform() * 3) - 1)}
      %w : f32[4,3,2,2] = DequantizeLinear(%wq, %ws, %wz) {axis=1}
      %b : f32[3] = const ${list(O, () => Math.fround(rand.uniform() - 0.5))}
      %ct : f32${dimsOf(out)} = ConvTranspose(%x, %w${withBias ? ', %b' : ''}) {kernel_shape=[2,2], strides=[2,2]}
      ${tail[output]}
    }`);
    const r = await againstWasm(m, seeds(3, (seed) => codesInput(shape, 0.173, 6, 16, seed)));
    expect(r.kernels).toContain('depthToSpace');
    if (output === 'float') expect(r.floats).toBe(3 * 3 * 12 * 14);
    else expect(r.codes).toBe(3 * (168 + 3 * 12 * 14));
    // Fused: the 1x1 conv writes codes, no threshold step after the scatter.
    if (output === 'tensor' || output === 'channel') expect(r.kernels.filter((k) => k === 'requantize')).toHaveLength(0);
  });

  it('Sigmoid of 8-bit codes (the probability map): the float table read back', async () => {
    const m = model(`graph t(%x_in : f32${d}) {
      ${grid('x', 'x_in', shape, 0.0625, 128, 256)}
      %y : f32${d} = Sigmoid(%x)
      return %y
    }`);
    expect((await againstWasm(m, seeds(2, (seed) => codesInput(shape, 0.0625, 128, 256, seed)))).floats).toBe(2 * 168);
  });

  it('names the node and the way out where it cannot run an op', async () => {
    const m = model(`graph t(%x_in : f32${d}) {
      ${grid('x', 'x_in', shape, 0.173, 6, 16)}
      ${grid('z', 'x', shape, 0.05, 30)}
      %y : f32${d} = Div(%x, %z) @the_div
      return %y
    }`);
    const gpu = await createWebGpuExecutor(m);
    const err = await gpu.run({ x_in: codesInput(shape, 0.173, 6, 16, 1) }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NibbleError);
    expect((err as NibbleError).message).toMatch(/Div 'the_div'/);
    expect((err as NibbleError).hint).toMatch(/--backend/);
    await gpu.dispose();
  });
});
