import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { loadModel, workspaceRoot } from 'nibble';
import { randomResnet20 } from '../resnet';
import { type FloatReference, measureCell, measureFloat } from './cell';
import { compareLogits } from './metrics';

const ZOO_RESNET = join(workspaceRoot(), 'models', 'fmnist-resnet20.onnx');
const haveZoo = existsSync(ZOO_RESNET);
if (!haveZoo) {
  console.warn(`SKIPPED the zoo accuracy test: ${ZOO_RESNET} does not exist yet (train and export it with tools/zoo)`);
}

describe('accuracy benchmark cell', () => {
  it('measures a cell deterministically, its figures consistent with each other (random ResNet-20 stand-in)', async () => {
    const model = randomResnet20();
    // The zoo models declare their input preprocessing; the stand-in declares the same.
    model.metadata.set('nibble.preprocess', 'gray,scale=1/255,normalize=0.286041/0.353024');
    const n = 96;
    const float = await measureFloat(model, n);
    expect(float.n).toBe(n);
    expect(float.logits).toHaveLength(n * float.classes);
    const spec = { recipe: 'w8a4-baseline', samples: 32, seed: 3, n };
    const a = await measureCell(model, spec, float);
    const b = await measureCell(model, spec, float);
    const { ms: _a, ...figuresA } = a;
    const { ms: _b, ...figuresB } = b;
    expect(figuresB).toEqual(figuresA);
    expect(a.top1).toBeCloseTo(a.correct / n, 14);
    expect(a.agreement).toBeCloseTo(a.agree / n, 14);
    expect(a.sqnrDb).toBeCloseTo(10 * Math.log10(a.signal / a.noise), 10);
    expect(a.bitsWeights).toBeGreaterThanOrEqual(8);
    expect(a.bitsActivations).toBeGreaterThan(3.99);
    expect(a.bitsActivations).toBeLessThan(4.2);
    // Float32 against itself: full agreement, no noise.
    const self = compareLogits(float.logits, float.logits, float.classes);
    expect(self.agree).toBe(n);
    expect(self.sqnrDb).toBe(Infinity);
  }, 60_000);

  (haveZoo ? it : it.skip)('zoo ResNet-20, 500 test images, 128 calibration images: W4A4 all methods is at least the naive baseline', async () => {
    const model = await loadModel(ZOO_RESNET);
    const n = 500;
    const float: FloatReference = await measureFloat(model, n);
    const baseline = await measureCell(model, { recipe: 'w4a4-baseline', samples: 128, seed: 0, n }, float);
    const all = await measureCell(model, { recipe: 'w4a4-all', samples: 128, seed: 0, n }, float);
    expect(float.top1).toBeGreaterThan(0.85);
    expect(all.top1).toBeGreaterThanOrEqual(baseline.top1);
    // Allocation must not spend more than the 4-bit budget (the 8-bit first conv, last FC and logits aside).
    expect(all.bitsWeights!).toBeLessThanOrEqual(baseline.bitsWeights! + 1e-9);
    expect(all.bitsActivations!).toBeLessThanOrEqual(baseline.bitsActivations! + 1e-9);
  }, 120_000);
});
