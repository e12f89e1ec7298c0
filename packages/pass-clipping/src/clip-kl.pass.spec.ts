import { getPass, resolvePipeline } from '@nibble/core';
import { samplesOf, smallNetBatches } from '@nibble/testing';
import '@nibble/pass-graph';
import '@nibble/pass-quantize';
import { clipKlPass } from './clip-kl.pass';
import { runOnSmallNet } from './testing/run';
import './index';

describe("pass 'clip-kl'", () => {
  it('is registered with its options', () => {
    expect(getPass('clip-kl')).toBe(clipKlPass);
    expect(resolvePipeline('clip-kl{candidates=64,mode=asymmetric}')[0].options).toMatchObject({ candidates: 64, mode: 'asymmetric', target: 'activations' });
  });

  it('clips heavy-tailed channels inside their observed range: symmetric for signed, [0, t] for one-sided', async () => {
    const data = smallNetBatches(6);
    const g = await runOnSmallNet('clip-kl', data);
    const d = g.value('d')!.quant!;
    const c = g.value('c')!.quant!;
    for (let ch = 0; ch < 3; ch++) {
      const s = samplesOf(data, 'd', ch);
      const t = Math.max(...s.map(Math.abs));
      expect(d.range!.lo[ch]).toBeCloseTo(-d.range!.hi[ch], 12);
      expect(d.range!.hi[ch]).toBeGreaterThan(0);
      expect(d.range!.hi[ch]).toBeLessThan(t);
      expect(c.range!.lo[ch]).toBe(0);
      expect(c.range!.hi[ch]).toBeLessThan(Math.max(...samplesOf(data, 'c', ch)));
    }
  });
});
