import { getPass } from '@nibble/core';
import { samplesOf, smallNetBatches } from '@nibble/testing';
import '@nibble/pass-graph';
import '@nibble/pass-quantize';
import { clipPercentilePass } from './clip-percentile.pass';
import { runOnSmallNet } from './testing/run';
import './index';

/** The q-quantile of samples by sorting (the brute-force reference). */
function quantile(values: Float64Array, q: number): number {
  const s = Float64Array.from(values).sort();
  return s[Math.min(s.length - 1, Math.max(0, Math.round(q * (s.length - 1))))];
}

describe("pass 'clip-percentile'", () => {
  it('is registered', () => expect(getPass('clip-percentile')).toBe(clipPercentilePass));

  it('cuts each tail by (100 - p)/2 percent of the calibration histogram, one-sided values from 0', async () => {
    const data = smallNetBatches(9);
    const g = await runOnSmallNet('clip-percentile{p=98}', data);
    const d = g.value('d')!.quant!;
    const c = g.value('c')!.quant!;
    expect(d.rangeSource).toBe('clip-percentile{p=98}');
    for (let ch = 0; ch < 3; ch++) {
      const s = samplesOf(data, 'd', ch);
      const spread = quantile(s, 0.99) - quantile(s, 0.01);
      // The histogram interpolates within bins of 2048 over the range: a small fraction of the spread.
      expect(Math.abs(d.range!.lo[ch] - quantile(s, 0.01))).toBeLessThan(0.01 * spread);
      expect(Math.abs(d.range!.hi[ch] - quantile(s, 0.99))).toBeLessThan(0.01 * spread);
      const cs = samplesOf(data, 'c', ch).map((v) => Math.max(v, 0));
      expect(c.range!.lo[ch]).toBe(0);
      expect(Math.abs(c.range!.hi[ch] - quantile(cs, 0.98)) / quantile(cs, 0.98)).toBeLessThan(0.01);
    }
  });

  it('takes the symmetric mode: [-t, t] with t the p-th percentile of |x|', async () => {
    const data = smallNetBatches(9);
    const d = (await runOnSmallNet('clip-percentile{p=99,mode=symmetric}', data)).value('d')!.quant!;
    for (let ch = 0; ch < 3; ch++) {
      const t = quantile(samplesOf(data, 'd', ch).map(Math.abs), 0.99);
      expect(d.range!.hi[ch]).toBeCloseTo(-d.range!.lo[ch], 12);
      expect(Math.abs(d.range!.hi[ch] - t) / t).toBeLessThan(0.01);
    }
  });
});
