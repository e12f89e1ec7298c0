import { datasetFromArrays } from './index';

describe('batching', () => {
  const N = 10;
  const data = Uint8Array.from({ length: N * 2 * 2 }, (_, i) => Math.floor(i / 4)); // sample i is all i
  const ds = datasetFromArrays({ data, shape: [N, 2, 2], labels: Int32Array.from({ length: N }, (_, i) => 100 + i), file: 'mem' });

  const collect = async (options: Parameters<typeof ds.batches>[0]) => {
    const out: number[][] = [];
    for await (const b of ds.batches(options)) {
      const d = b.inputs.data as Float32Array;
      expect(b.inputs.shape).toEqual([b.labels.length, 1, 2, 2]);
      expect(Array.from(b.labels)).toEqual(Array.from(b.indices).map((i) => 100 + i));
      out.push(Array.from(b.indices));
      b.indices.forEach((i, k) => expect(d[k * 4]).toBe(i));
    }
    return out;
  };

  it('visits samples in order by default, in batches, with a smaller last batch', async () => {
    expect(await collect({ batchSize: 4 })).toEqual([[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]);
    expect(await collect({ batchSize: 4, dropLast: true })).toEqual([[0, 1, 2, 3], [4, 5, 6, 7]]);
    expect(await collect({ batchSize: 3, limit: 5 })).toEqual([[0, 1, 2], [3, 4]]);
  });

  it('shuffles by seed: the same seed gives the same samples, another seed others', async () => {
    const a = (await collect({ batchSize: 4, shuffle: true, seed: 1 })).flat();
    const b = (await collect({ batchSize: 3, shuffle: true, seed: 1 })).flat();
    const c = (await collect({ batchSize: 4, shuffle: true, seed: 2 })).flat();
    expect(a).toEqual(b);
    expect(a).not.toEqual(c);
    expect([...a].sort((x, y) => x - y)).toEqual([...Array(N).keys()]);
    expect(Array.from(ds.order({ shuffle: true, seed: 1, limit: 3 }))).toEqual(a.slice(0, 3));
  });

  it('gets one sample and rejects bad indices and batch sizes', async () => {
    const s = await ds.get(7);
    expect(s.input.shape).toEqual([1, 1, 2, 2]);
    expect([s.index, s.label]).toEqual([7, 107]);
    await expect(ds.batch([10])).rejects.toMatchObject({ code: 'E_BAD_OPTION' });
    await expect(ds.batches({ batchSize: 0 }).next()).rejects.toMatchObject({ code: 'E_BAD_OPTION' });
  });
});
