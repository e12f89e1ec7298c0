import { join } from 'node:path';
import { listDatasetRoots, openDataset, readIdxFile, resolveSplit } from '@nibble/data';
import { bundledFashionMnistDir, defaultPreprocess } from './datasets';
import { workspaceRoot } from './defaults';

describe('bundled dataset roots (registered on import of the public API)', () => {
  const dir = join(workspaceRoot(), 'data', 'fashion-mnist');

  it('finds the checkout', () => {
    expect(bundledFashionMnistDir()).toBe(dir);
  });

  it('resolves fashion-mnist:test to the bundled test split', async () => {
    const [best] = resolveSplit('fashion-mnist', 'test');
    expect(best.spec).toEqual({ kind: 'idx', images: join(dir, 't10k-images-idx3-ubyte.gz'), labels: join(dir, 't10k-labels-idx1-ubyte.gz') });
    expect(best.missing).toEqual([]);
    const ds = await openDataset('fashion-mnist:test', { preprocess: 'fashion-mnist' });
    expect(ds.length).toBe(10000);
    expect(ds.sampleShape).toEqual([1, 28, 28]);
  });

  it('resolves fashion-mnist:calib to the bundled 2,000 training images, pixel for pixel', async () => {
    const ds = await openDataset('fashion-mnist:calib');
    expect(ds.length).toBe(2000);
    const raw = readIdxFile(join(dir, 'calib-images-idx3-ubyte.gz'));
    const s = await ds.get(1234);
    expect(Array.from(s.input.data as Float32Array)).toEqual(Array.from(raw.data.subarray(1234 * 784, 1235 * 784)));
    expect(listDatasetRoots().find((r) => r.name === 'fashion-mnist')?.splits).toEqual(['calib', 'test', 'train']);
  });

  it('sends fashion-mnist:train to the Debian package, and says which package when it is absent', () => {
    const candidates = resolveSplit('fashion-mnist', 'train', () => false);
    expect(candidates).toHaveLength(1);
    expect(candidates[0].spec).toMatchObject({ images: '/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz' });
    expect(candidates[0].provider).toMatch(/apt-get install dataset-fashion-mnist/);
    expect(candidates[0].missing).toContain('/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz');
  });

  it('falls back to the Debian copy of the test split only after the bundled one', () => {
    const candidates = resolveSplit('fashion-mnist', 'test', () => false);
    expect(candidates.map((c) => (c.spec as { images: string }).images)).toEqual([
      join(dir, 't10k-images-idx3-ubyte.gz'), '/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz',
    ]);
  });

  it('gives named datasets their preset as the default preprocessing, files none', () => {
    expect(defaultPreprocess('fashion-mnist:calib')).toBe('fashion-mnist');
    expect(defaultPreprocess('mnist:test')).toBe('mnist');
    expect(defaultPreprocess('idx:/tmp/x.idx')).toBeUndefined();
  });
});
