import { createModel, parseGraph } from '@nibble/ir';
import { DEVICE_PROFILES, type DeviceProfile, getDevice } from './devices';
import { fitModel, modelFootprint } from './fit';

const lines = (...l: string[]) => l.join('\n');
const values = (n: number, f: (i: number) => number) => `[${Array.from({ length: n }, (_, i) => f(i)).join(', ')}]`;

/** x[1,1,4,4] -> Conv 1->2 k3 pad 1 -> Relu -> Flatten -> Gemm 32->3, all float32. */
const FLOAT = lines(
  'graph g(%x : f32[1,1,4,4]) {',
  `  %w : f32[2,1,3,3] = const ${values(18, (i) => (i % 5) / 10 - 0.2)}`,
  '  %b : f32[2] = const [0.1, -0.1]',
  `  %w2 : f32[3,32] = const ${values(96, (i) => (i % 7) / 20 - 0.15)}`,
  '  %b2 : f32[3] = const [0, 0, 0]',
  '  %y : f32[1,2,4,4] = Conv(%x, %w, %b) {pads=[1,1,1,1]}',
  '  %r : f32[1,2,4,4] = Relu(%y)',
  '  %f : f32[1,32] = Flatten(%r)',
  '  %o : f32[1,3] = Gemm(%f, %w2, %b2) {transB=1}',
  '  return %o',
  '}',
);

/** The same conv in QDQ form: uint8 input codes, int4 weights per channel, a clamp then uint4 output codes, then a pool. */
const QDQ = lines(
  'graph q(%x : f32[1,1,4,4]) {',
  '  %sx : f32[] = const [0.02]',
  '  %zx : u8[] = const [0]',
  `  %wq : i4[2,1,3,3] = const ${values(18, (i) => (i % 15) - 7)}`,
  '  %ws : f32[2] = const [0.01, 0.02]',
  '  %wz : i4[2] = const [0, 0]',
  '  %b : f32[2] = const [0.1, -0.1]',
  '  %lo : f32[1] = const [0]',
  '  %sy : f32[] = const [0.1]',
  '  %zy : u4[] = const [0]',
  '  %xq : u8[1,1,4,4] = QuantizeLinear(%x, %sx, %zx)',
  '  %xd : f32[1,1,4,4] = DequantizeLinear(%xq, %sx, %zx)',
  '  %wd : f32[2,1,3,3] = DequantizeLinear(%wq, %ws, %wz) {axis=0}',
  '  %y : f32[1,2,4,4] = Conv(%xd, %wd, %b) {pads=[1,1,1,1]}',
  '  %yc : f32[1,2,4,4] = Max(%y, %lo)',
  '  %yq : u4[1,2,4,4] = QuantizeLinear(%yc, %sy, %zy)',
  '  %yd : f32[1,2,4,4] = DequantizeLinear(%yq, %sy, %zy)',
  '  %o : f32[1,2,1,1] = GlobalAveragePool(%yd)',
  '  return %o',
  '}',
);

const model = (text: string) => createModel(parseGraph(text));

describe('modelFootprint, against a hand count', () => {
  it('float: every constant at 4 bytes; the arena peak is a node with its input and output alive', () => {
    const m = model(FLOAT);
    const f = modelFootprint(m);
    expect(f.quantized).toBe(false);
    // Conv: 18 weights + 2 biases = 80 B; Gemm: 96 + 3 = 396 B.
    expect(f.layers.map((l) => [l.op, l.bits, l.bytes])).toEqual([['Conv', 32, 80], ['Gemm', 32, 396]]);
    expect(f.weightBytes).toBe(476);
    // x 64 B, y 128, r 128, f 128, o 12: Conv 64+128, Relu 128+128, Flatten 128+128, Gemm 128+12.
    expect(f.arenaPeakBytes).toBe(256);
    expect(f.arenaPeakAt).toBe(m.graph.nodes[1].name);
    expect(f.ops).toEqual(['Conv', 'Flatten', 'Gemm', 'Relu']);
  });

  it('QDQ: int4 weights packed, activations as codes (a dequantize is a view, a clamp before requantizing is the kernel\'s)', () => {
    const m = model(QDQ);
    const f = modelFootprint(m);
    expect(f.quantized).toBe(true);
    // QuantizeLinear(x): scale 4 + zero point 1; Conv: 18 int4 = 9, scales 8, zero points 2 x int4 = 1, bias 8;
    // Max: its bound 4; QuantizeLinear(y): scale 4 + a uint4 zero point 1.
    expect(f.layers.map((l) => [l.op, l.bytes])).toEqual([['QuantizeLinear', 5], ['Conv', 26], ['Max', 4], ['QuantizeLinear', 5]]);
    expect(f.layers[1].bits).toBe(4);
    expect(f.weightBytes).toBe(40);
    // xq: 16 uint8 codes alive from the start to the Conv; yq: 32 uint4 codes = 16 B written by the Conv, read by the pool;
    // o: 2 floats = 8 B. At the Conv: 16 + 16.
    expect(f.arenaPeakBytes).toBe(32);
    expect(f.arenaPeakAt).toBe(m.graph.nodes.find((n) => n.opType === 'Conv')!.name);
  });
});

describe('fitModel', () => {
  const tiny = (weights: number, arena: number, float = false): DeviceProfile => ({
    name: 'tiny', summary: 'a test device', weightBudgetBytes: weights, arenaBudgetBytes: arena, float,
    ops: ['Conv', 'Relu', 'Flatten', 'Gemm', 'QuantizeLinear', 'DequantizeLinear', 'Max', 'GlobalAveragePool'],
  });

  it('a quantized model: fits exactly at its footprint, not a byte below', async () => {
    const m = model(QDQ);
    expect((await fitModel(m, tiny(40, 32))).fits).toBe(true);
    const short = await fitModel(m, tiny(39, 32));
    expect(short.weights).toEqual({ bytes: 40, budget: 39, fits: false });
    expect(short.fits).toBe(false);
    const noArena = await fitModel(m, tiny(40, 31));
    expect(noArena.arena).toMatchObject({ peakBytes: 32, fits: false });
    expect(noArena.recipes).toBeUndefined();
  });

  it('a float model on a device without float kernels: which recipe fits, the least compressed first', async () => {
    const m = model(FLOAT);
    const roomy = await fitModel(m, tiny(476, 256));
    expect(roomy.needsQuantization).toBe(true);
    expect(roomy.fits).toBe(false);
    expect(roomy.recipes!.length).toBeGreaterThan(5);
    // Every recipe quantizes the weights to 8 bits or fewer: a quarter of float or less, plus scales.
    for (const r of roomy.recipes!) expect(r.weightBytes).toBeLessThan(476 / 2);
    const best = roomy.recipes!.find((r) => r.recipe === roomy.recommended)!;
    expect(best.fits).toBe(true);
    expect(Math.max(...roomy.recipes!.filter((r) => r.fits).map((r) => r.weightBytes))).toBe(best.weightBytes);
    const smallest = Math.min(...roomy.recipes!.map((r) => r.weightBytes));
    const none = await fitModel(m, tiny(smallest - 1, 256));
    expect(none.recommended).toBeNull();
  });

  it('names kernels the device lacks', async () => {
    const r = await fitModel(model(FLOAT), { ...tiny(1e6, 1e6, true), ops: ['Conv', 'Gemm'] });
    expect(r.missingKernels).toEqual(['Flatten', 'Relu']);
    expect(r.fits).toBe(false);
  });

  it('has the three profiles; an unknown name is a typed error listing them', () => {
    expect(DEVICE_PROFILES.map((d) => d.name)).toEqual(['cortex-m7', 'esp32-s3', 'phone-browser']);
    expect(getDevice('phone-browser').ops).toContain('Conv');
    expect(() => getDevice('pdp-11')).toThrow(expect.objectContaining({ code: 'E_BAD_OPTION', hint: expect.stringContaining('cortex-m7, esp32-s3, phone-browser') }));
  });
});
