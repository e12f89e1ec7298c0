import { createModel, type Model, parseGraph, SeededRandom, Tensor } from '@nibble/ir';
import { createWasmExecutor } from '../executor';
import { WINOGRAD } from './conv-winograd';

/*
 * Winograd's F(2x2, 3x3) in integers computes the direct kernel's int32
 * sums exactly, so its outputs must equal taps+convGemm's bit for bit:
 * codes when a QuantizeLinear is fused, float64 values when the conv's
 * output is fetched. Odd sizes (partial tiles), pads 0-2, odd channel
 * counts, outputs not a multiple of 4, 4- and 8-bit input codes.
 */

/** Uniform floats in [0, 1) from @nibble/ir's seeded generator. */
function random(seed: number): () => number {
  const r = new SeededRandom(seed);
  return () => r.uniform();
}

interface Case { C: number; O: number; H: number; W: number; pad: number; levels: number; wBits: number; fused: boolean }

function build(c: Case, seed: number): { model: Model; x: Tensor; out: string } {
  const rand = random(seed);
  const { C, O, H, W, pad } = c;
  const OH = H + 2 * pad - 2;
  const OW = W + 2 * pad - 2;
  const half = 2 ** (c.wBits - 1);
  const wq = Array.from({ length: O * C * 9 }, () => Math.floor(rand() * 2 * half) - half);
  const ws = Array.from({ length: O }, () => Math.fround(0.01 + 0.05 * rand()));
  const wz = Array.from({ length: O }, () => Math.floor(rand() * 3) - 1);
  const b = Array.from({ length: O }, () => Math.fround(rand() - 0.5));
  const s = 0.0731;
  const zp = Math.floor(c.levels / 3);
  const lo = Math.fround(-zp * s);
  const hi = Math.fround((c.levels - 1 - zp) * s);
  const dims = `[1,${C},${H},${W}]`;
  const odims = `[1,${O},${OH},${OW}]`;
  const list = (v: number[]): string => `[${v.join(', ')}]`;
  const text = `graph t(%x_in : f32${dims}) {
    %xs : f32[] = const [${s}]
    %xz : u8[] = const [${zp}]
    %lo : f32[] = const [${lo}]
    %hi : f32[] = const [${hi}]
    %xa : f32${dims} = Max(%x_in, %lo)
    %xb : f32${dims} = Min(%xa, %hi)
    %xq : u8${dims} = QuantizeLinear(%xb, %xs, %xz)
    %x : f32${dims} = DequantizeLinear(%xq, %xs, %xz)
    %wq : i8[${O},${C},3,3] = const ${list(wq)}
    %wsc : f32[${O}] = const ${list(ws)}
    %wzp : i8[${O}] = const ${list(wz)}
    %w : f32[${O},${C},3,3] = DequantizeLinear(%wq, %wsc, %wzp) {axis=0}
    %b : f32[${O}] = const ${list(b)}
    %y : f32${odims} = Conv(%x, %w, %b) {kernel_shape=[3,3], pads=[${pad},${pad},${pad},${pad}]}
    %ys : f32[] = const [0.0419]
    %yz : u8[] = const [128]
    %yq : u8${odims} = QuantizeLinear(%y, %ys, %yz)
    %yd : f32${odims} = DequantizeLinear(%yq, %ys, %yz)
    return %yd
  }`;
  const n = C * H * W;
  const x = new Tensor('float32', [1, C, H, W], Float32Array.from({ length: n }, () => (rand() * c.levels - zp) * s));
  return { model: createModel(parseGraph(text), 21, 10), x, out: c.fused ? 'yd' : 'y' };
}

async function run(m: Model, x: Tensor, out: string, winograd: boolean): Promise<{ values: Float64Array; kernels: string[] }> {
  WINOGRAD.enabled = winograd;
  try {
    const e = await createWasmExecutor(m, { extraOutputs: out === 'y' ? ['y'] : [] });
    const r = await e.run({ x_in: x }, [out]);
    const plan = (e as unknown as { plan(s: number[]): { steps: { kernel: string }[] } }).plan(x.shape.slice(1));
    await e.dispose();
    return { values: r[out].toFloat64(), kernels: plan.steps.map((s) => s.kernel) };
  } finally {
    WINOGRAD.enabled = true;
  }
}

describe('Winograd F(2x2, 3x3) in integers equals the direct integer conv bit for bit', () => {
  it.each<[string, Case]>([
    ['8-bit codes, pads 1, even sizes, fused codes', { C: 8, O: 8, H: 16, W: 16, pad: 1, levels: 256, wBits: 4, fused: true }],
    ['4-bit codes, odd sizes and channels, O = 6, float64 output', { C: 5, O: 6, H: 13, W: 11, pad: 1, levels: 16, wBits: 4, fused: false }],
    ['no pads, 8-bit weights, odd output width', { C: 5, O: 5, H: 12, W: 19, pad: 0, levels: 256, wBits: 8, fused: false }],
    ['pads 2, wide rows (partial groups of 8 tiles)', { C: 16, O: 4, H: 9, W: 37, pad: 2, levels: 16, wBits: 4, fused: true }],
  ])('%s', async (_name, c) => {
    for (let seed = 1; seed <= 3; seed++) {
      const { model, x, out } = build(c, seed);
      const direct = await run(model, x, out, false);
      const wino = await run(model, x, out, true);
      expect(wino.kernels).toContain('winogradConv');
      expect(direct.kernels).not.toContain('winogradConv');
      expect(Array.from(wino.values)).toEqual(Array.from(direct.values));
      // The codes are not all one level.
      expect(new Set(wino.values).size).toBeGreaterThan(3);
    }
  });
});

it('leaves 3x3 convs of fewer than 4 input channels (stems) to the direct kernel', async () => {
  const { model, x, out } = build({ C: 3, O: 8, H: 12, W: 12, pad: 1, levels: 256, wBits: 8, fused: true }, 1);
  expect((await run(model, x, out, true)).kernels).not.toContain('winogradConv');
});
