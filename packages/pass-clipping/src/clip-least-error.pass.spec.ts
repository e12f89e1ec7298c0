import { getPass } from '@nibble/core';
import { paramsFromRange } from '@nibble/quant';
import { samplesOf, smallNetBatches } from '@nibble/testing';
import '@nibble/pass-graph';
import '@nibble/pass-quantize';
import { clipLeastErrorPass, ERROR_CURVES_KEY, type ErrorCurves } from './clip-least-error.pass';
import { runOnSmallNet } from './testing/run';
import './index';

/** Every sample quantized on the grid of [lo, hi] at `bits`, in float64: the reference error. */
function bruteMse(x: ArrayLike<number>, lo: number, hi: number, bits: number): number {
  const p = paramsFromRange({ lo, hi, bits });
  const [s, zp, qmax] = [p.scale[0], p.zeroPoint[0], 2 ** bits - 1];
  let sum = 0;
  for (let i = 0; i < x.length; i++) sum += (x[i] - (Math.min(qmax, Math.max(0, Math.round(x[i] / s) + zp)) - zp) * s) ** 2;
  return sum / x.length;
}

describe("pass 'clip-least-error'", () => {
  it('is registered, reads histograms for activations and nothing for weights', () => {
    expect(getPass('clip-least-error')).toBe(clipLeastErrorPass);
    const opts = (o: Record<string, string>) => clipLeastErrorPass.parseOptions(Object.entries(o).map(([key, value]) => ({ key, value })));
    expect(clipLeastErrorPass.requirements(opts({})).map((r) => r.needs)).toEqual([{ histograms: true }]);
    expect(clipLeastErrorPass.requirements(opts({ target: 'weights' }))).toEqual([]);
  });

  it('per channel, a range inside the observed one with no more error than min/max on the samples', async () => {
    const data = smallNetBatches(4);
    const g = await runOnSmallNet('clip-least-error', data);
    for (const [name, oneSided] of [['c', true], ['d', false]] as const) {
      const q = g.value(name)!.quant!;
      for (let ch = 0; ch < 3; ch++) {
        const s = samplesOf(data, name, ch);
        const x = oneSided ? s.map((v) => Math.max(v, 0)) : s;
        const [min, max] = [Math.min(...x), Math.max(...x)];
        const [lo, hi] = [q.range!.lo[ch], q.range!.hi[ch]];
        expect(lo).toBeGreaterThanOrEqual(Math.min(min, 0) - 1e-6);
        expect(hi).toBeLessThanOrEqual(max * (1 + 1e-6));
        if (oneSided) expect(lo).toBe(0);
        // The pass measures on a 2048-bin histogram; on the samples themselves it may differ by a hair.
        expect(bruteMse(x, lo, hi, q.bits![ch])).toBeLessThanOrEqual(bruteMse(x, oneSided ? 0 : min, max, q.bits![ch]) * 1.02);
      }
    }
  });

  it('clips weights on their exact values: no more error than min/max on any channel', async () => {
    const g = await runOnSmallNet('clip-least-error{target=weights}', smallNetBatches(4, 1));
    const q = g.value('w2')!.quant!;
    // w2 is the identity: each output channel holds [1, 0, 0] exactly, which min/max represents without error.
    const rows = [[1, 0, 0], [0, 1, 0], [0, 0, 1]];
    rows.forEach((x, ch) => {
      expect(bruteMse(x, q.range!.lo[ch], q.range!.hi[ch], q.bits![ch])).toBeLessThanOrEqual(1e-12);
    });
    const w = g.value('w')!.quant!;
    [[1, 0.5], [-0.5, 1], [0.25, -1]].forEach((x, ch) => {
      const [min, max] = [Math.min(...x, 0), Math.max(...x, 0)];
      expect(bruteMse(x, w.range!.lo[ch], w.range!.hi[ch], w.bits![ch])).toBeLessThanOrEqual(bruteMse(x, min, max, w.bits![ch]) + 1e-15);
      expect(w.range!.lo[ch]).toBeGreaterThanOrEqual(min);
      expect(w.range!.hi[ch]).toBeLessThanOrEqual(max);
    });
  });

  it('curves=true records each channel\'s least error two bits either side of its width, falling with the width', async () => {
    const g = await runOnSmallNet('clip-least-error{curves=true}', smallNetBatches(4));
    const v = g.value('d')!;
    const cv = v.meta[ERROR_CURVES_KEY] as ErrorCurves;
    expect(cv.widths).toEqual([2, 3, 4, 5, 6]);
    expect(cv.errors).toHaveLength(3);
    for (const e of cv.errors) for (let k = 1; k < e.length; k++) expect(e[k]).toBeLessThan(e[k - 1]);
    expect(g.value('c')!.meta[ERROR_CURVES_KEY]).toBeDefined();
    expect((await runOnSmallNet('clip-least-error', smallNetBatches(4))).value('d')!.meta[ERROR_CURVES_KEY]).toBeUndefined();
  });
});
