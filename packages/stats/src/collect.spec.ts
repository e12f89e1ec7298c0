import { Tensor } from '@nibble/ir';
import { bruteStats } from '@nibble/testing';
import { collectTensorStats, type TensorStream } from './collect';
import { channelValues, gaussian, laplace, relErr, sample } from './testing/distributions';

describe('collectTensorStats', () => {
  const shape = [4, 3, 6, 6];
  const size = 4 * 3 * 36;
  const batches = [0, 1, 2, 3].map((b) => ({
    conv: new Tensor('float32', shape, sample(size, laplace(0, 1), 500 + b)),
    fc: new Tensor('float32', [4, 10], sample(40, gaussian(1, 2), 600 + b)),
  }));
  const passes: number[] = [];
  const stream: TensorStream = async function* (pass) {
    passes.push(pass);
    for (const b of batches) yield b;
  };

  it('makes one pass when nothing needs a second, two when asked, with exact results', async () => {
    passes.length = 0;
    const one = await collectTensorStats({ conv: { axis: 1 }, fc: { histogram: { bins: 64 } } }, stream);
    expect(one.passes).toBe(1);
    expect(passes).toEqual([1]);
    expect(one.stats.get('fc')!.histograms![0].count).toBe(160);

    passes.length = 0;
    const two = await collectTensorStats({ conv: { axis: 1, mad: 'two-pass' }, fc: {} }, stream);
    expect(two.passes).toBe(2);
    expect(passes).toEqual([1, 2]);
    const conv = two.stats.get('conv')!;
    for (let c = 0; c < 3; c++) {
      const all = new Float32Array(batches.length * (size / 3));
      batches.forEach((b, i) => all.set(channelValues(b.conv.data as Float32Array, shape, 1, c), i * (size / 3)));
      expect(relErr(conv.mad[c], bruteStats(all).mad)).toBeLessThan(1e-9);
      expect(conv.madExact[c]).toBe(1);
    }
  });

  it('names a tensor missing from a batch', async () => {
    await expect(collectTensorStats({ relu9: {} }, stream)).rejects.toMatchObject({ code: 'E_INTERNAL', place: { value: 'relu9' } });
  });
});
