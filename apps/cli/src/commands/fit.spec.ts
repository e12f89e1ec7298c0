import { join } from 'node:path';
import { DTYPES, type Value } from '@nibble/ir';
import { readOnnxFile } from '@nibble/onnx';
import { cli } from '../testing/run-cli';

const VGG = join(__dirname, '..', '..', '..', '..', 'models', 'fmnist-vgg.onnx');

const bytesOf = (v: Value): number => {
  const shape = (v.const?.shape ?? v.type!.shape!).map((d) => (typeof d === 'number' ? d : 1));
  return (shape.reduce((a, b) => a * b, 1) * DTYPES[v.const?.dtype ?? v.type!.dtype].bits) / 8;
};

describe('nibble fit', () => {
  it('the zoo VGG on the Cortex-M profile: float bytes of every constant; the arena peak of a chain is its largest node', async () => {
    const r = await cli('fit', VGG, '--device', 'cortex-m7', '--json');
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    const report = JSON.parse(r.out);
    const g = readOnnxFile(VGG).graph;
    // Counted here independently: every initializer at 4 bytes an element.
    const floatBytes = g.initializers.reduce((s, v) => s + bytesOf(v), 0);
    expect(report.weights.bytes).toBe(floatBytes);
    expect(report.footprint.layers.reduce((s: number, l: { bytes: number }) => s + l.bytes, 0)).toBe(floatBytes);
    // VGG has no skip connection: at each node only its inputs and outputs are alive, so the peak is the largest node's sum.
    const perNode = g.nodes.map((n) => [...n.inputs, ...n.outputs].filter((v): v is Value => !!v && !v.isInitializer).reduce((s, v) => s + bytesOf(v), 0));
    expect(report.arena.peakBytes).toBe(Math.max(...perNode));
    expect(report.arena.method).toBe('value-lifetimes');
    // No float kernels on the MCU: a recipe is recommended, and it fits the budgets.
    expect(report.needsQuantization).toBe(true);
    expect(report.fits).toBe(false);
    const best = report.recipes.find((x: { recipe: string }) => x.recipe === report.recommended);
    expect(best.fits).toBe(true);
    expect(best.weightBytes).toBeLessThanOrEqual(report.device.weightBudgetBytes);
    expect(best.weightBytes).toBeLessThan(floatBytes / 3);
  }, 60_000);

  it('prints a table and a verdict', async () => {
    const r = await cli('fit', VGG, '--device', 'phone-browser');
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^weights: .* of 8\.00 MiB: fits$/m);
    expect(r.out).toMatch(/^arena: +.* peak \(at .*\) of 64\.00 MiB: fits/m);
    expect(r.out).toMatch(/^recommended: \S+ /m);
  }, 60_000);

  it('without --device, or with an unknown one, exits 2 listing the profiles', async () => {
    const none = await cli('fit', VGG);
    expect(none.code).toBe(2);
    expect(none.err).toContain('cortex-m7');
    const unknown = await cli('fit', VGG, '--device', 'pdp-11');
    expect(unknown.code).toBe(2);
    expect(unknown.err).toContain("unknown device profile 'pdp-11'");
    expect(unknown.err).toContain('esp32-s3');
  });
});
