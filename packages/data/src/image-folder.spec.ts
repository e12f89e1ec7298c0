import { join } from 'path';
import { NibbleError } from '@nibble/ir';
import { decodeImage, openDataset, scanImageFolder } from './index';
import { flatJpeg, grayPng, rgbPng, tempDir, write } from './testing/files';

let tmp: ReturnType<typeof tempDir>;
let classes: string;
beforeAll(() => {
  tmp = tempDir('images');
  classes = join(tmp.dir, 'classes');
  write(join(classes, 'cat', 'b.png'), rgbPng(4, 3, 10, 20, 30));
  write(join(classes, 'cat', 'a.png'), rgbPng(4, 3, 40, 50, 60));
  write(join(classes, 'dog', 'deep', 'c.png'), rgbPng(4, 3, 70, 80, 90));
  write(join(classes, 'dog', 'notes.txt'), 'not an image');
  write(join(classes, 'ant', 'x.jpg'), flatJpeg(4, 3, [200, 100, 50]));
});
afterAll(() => tmp.cleanup());

const rejection = async (p: Promise<unknown>) => {
  const e = await p.then(() => undefined, (x: unknown) => x);
  expect(e).toBeInstanceOf(NibbleError);
  return e as NibbleError;
};

describe('image folders', () => {
  it('labels images by subfolder, in a fixed order, and decodes PNG and JPEG', async () => {
    const ds = await openDataset(`images:${classes}`);
    expect(ds.classNames).toEqual(['ant', 'cat', 'dog']);
    expect(ds.length).toBe(4);
    expect(Array.from(ds.labels())).toEqual([0, 1, 1, 2]);
    expect(ds.sampleShape).toEqual([3, 3, 4]);
    const b = await ds.batch([1, 3, 0]);
    const d = b.inputs.data as Float32Array;
    const plane = 12;
    // cat/a.png pixel (y=2, x=3): r = 40 + 3, g = 50 + 2, b = 60, in NCHW planes.
    expect([d[2 * 4 + 3], d[plane + 2 * 4 + 3], d[2 * plane + 2 * 4 + 3]]).toEqual([43, 52, 60]);
    // dog/deep/c.png pixel (0, 0).
    expect([d[3 * plane], d[4 * plane], d[5 * plane]]).toEqual([70, 80, 90]);
    // ant/x.jpg: flat colour survives JPEG coding within a few levels.
    const jpg = Array.from(d.subarray(6 * plane, 9 * plane));
    expect(Math.max(...jpg.slice(0, plane).map((v) => Math.abs(v - 200)))).toBeLessThanOrEqual(3);
    expect(Math.max(...jpg.slice(2 * plane).map((v) => Math.abs(v - 50)))).toBeLessThanOrEqual(3);
    expect(Array.from(b.labels)).toEqual([1, 2, 0]);
  });

  it('refuses an image whose header claims more than 64 megapixels before decoding it', () => {
    const png = Uint8Array.from(grayPng(3, 2, 100));
    new DataView(png.buffer).setUint32(16, 60_000);
    new DataView(png.buffer).setUint32(20, 60_000);
    expect(() => decodeImage(png, 'big.png')).toThrow(expect.objectContaining({ code: 'E_FILE_FORMAT', message: expect.stringContaining('60000 x 60000 pixels') }));
    const jpg = Uint8Array.from(flatJpeg(8, 8, [10, 20, 30]));
    const sof = jpg.findIndex((b, k) => b === 0xff && (jpg[k + 1] === 0xc0 || jpg[k + 1] === 0xc2));
    expect(sof).toBeGreaterThan(0);
    new DataView(jpg.buffer).setUint16(sof + 5, 60_000);
    new DataView(jpg.buffer).setUint16(sof + 7, 60_000);
    expect(() => decodeImage(jpg, 'big.jpg')).toThrow(expect.objectContaining({ code: 'E_FILE_FORMAT', place: expect.objectContaining({ file: 'big.jpg' }) }));
  });

  it('reads grayscale PNGs as one channel and converts channel orders', async () => {
    const dir = join(tmp.dir, 'gray');
    write(join(dir, 'g.png'), grayPng(3, 2, 100));
    const img = decodeImage(grayPng(3, 2, 100), 'g.png');
    expect([img.channels, ...img.data]).toEqual([1, 100, 101, 102, 103, 104, 105]);
    const rgb = await openDataset(`images:${dir}`, { preprocess: 'rgb' });
    expect(rgb.sampleShape).toEqual([3, 2, 3]);
    expect(rgb.hasLabels).toBe(false);
    expect((await rgb.get(0)).label).toBe(-1);
    const gray = await openDataset(`images:${classes}`, { preprocess: 'gray' });
    const g = (await gray.batch([1])).inputs.data as Float32Array;
    expect(g[0]).toBeCloseTo(0.299 * 40 + 0.587 * 50 + 0.114 * 60, 4);
    const bgr = await openDataset(`images:${classes}`, { preprocess: 'bgr,nhwc' });
    const x = (await bgr.batch([1])).inputs.data as Float32Array;
    expect([x[0], x[1], x[2]]).toEqual([60, 50, 40]);
  });

  it('takes labels from a CSV (integers or class names)', async () => {
    const dir = join(tmp.dir, 'csv');
    write(join(dir, 'p.png'), rgbPng(2, 2, 0, 0, 0));
    write(join(dir, 'sub', 'q.png'), rgbPng(2, 2, 5, 5, 5));
    write(join(tmp.dir, 'ints.csv'), 'file,label\nsub/q.png,7\n"p.png",3\n');
    const ints = await openDataset(`images:${dir},${join(tmp.dir, 'ints.csv')}`);
    expect(Array.from(ints.labels())).toEqual([3, 7]);
    expect(ints.classNames).toBeUndefined();
    write(join(tmp.dir, 'names.csv'), 'p.png,zebra\r\nsub/q.png,ant\r\n');
    const names = scanImageFolder(dir, join(tmp.dir, 'names.csv'));
    expect(names.files).toEqual(['p.png', 'sub/q.png']);
    expect(names.classNames).toEqual(['ant', 'zebra']);
    expect(Array.from(names.labels!)).toEqual([1, 0]);
  });

  it('gives typed errors naming the file: undecodable image, label/image mismatch, missing files', async () => {
    const dir = join(tmp.dir, 'broken');
    write(join(dir, 'cls', 'ok.png'), rgbPng(2, 2, 0, 0, 0));
    const bad = write(join(dir, 'cls', 'zz-bad.png'), rgbPng(2, 2, 0, 0, 0).subarray(0, 40));
    const ds = await openDataset(`images:${dir}`);
    let e = await rejection(ds.batch([0, 1]));
    expect([e.code, e.place.file]).toEqual(['E_FILE_FORMAT', bad]);
    expect(e.message).toContain(bad);
    const notImage = write(join(tmp.dir, 'fake', 'x.jpg'), 'hello');
    e = await rejection(openDataset(`images:${join(tmp.dir, 'fake')}`));
    expect([e.code, e.place.file]).toEqual(['E_FILE_FORMAT', notImage]);

    const csvDir = join(tmp.dir, 'csv');
    const short = write(join(tmp.dir, 'short.csv'), 'p.png,1\n');
    e = await rejection(openDataset(`images:${csvDir},${short}`));
    expect([e.code, e.place.file]).toEqual(['E_DATA', short]);
    expect(e.message).toMatch(/1 labels for the 2 images.*not labelled: sub\/q\.png/);
    const extra = write(join(tmp.dir, 'extra.csv'), 'p.png,1\nsub/q.png,2\nghost.png,3\n');
    e = await rejection(openDataset(`images:${csvDir},${extra}`));
    expect([e.code, e.place.file]).toEqual(['E_FILE_NOT_FOUND', join(csvDir, 'ghost.png')]);
    e = await rejection(openDataset(`images:${csvDir},${join(tmp.dir, 'absent.csv')}`));
    expect([e.code, e.place.file]).toEqual(['E_FILE_NOT_FOUND', join(tmp.dir, 'absent.csv')]);
    e = await rejection(openDataset(`images:${join(tmp.dir, 'no-such-dir')}`));
    expect([e.code, e.place.file]).toEqual(['E_FILE_NOT_FOUND', join(tmp.dir, 'no-such-dir')]);
    write(join(tmp.dir, 'empty-class', 'a', 'x.png'), rgbPng(2, 2, 0, 0, 0));
    write(join(tmp.dir, 'empty-class', 'b', 'readme.txt'), 'nothing');
    e = await rejection(openDataset(`images:${join(tmp.dir, 'empty-class')}`));
    expect([e.code, e.place.file]).toEqual(['E_DATA', join(tmp.dir, 'empty-class', 'b')]);
  });

  it('needs a resize for images of different sizes, and names the odd one', async () => {
    const dir = join(tmp.dir, 'sizes');
    write(join(dir, 'a.png'), rgbPng(4, 4, 0, 0, 0));
    const odd = write(join(dir, 'b.png'), rgbPng(6, 5, 0, 0, 0));
    const plain = await openDataset(`images:${dir}`);
    const e = await rejection(plain.batch([0, 1]));
    expect([e.code, e.place.file]).toEqual(['E_SHAPE', odd]);
    const resized = await openDataset(`images:${dir}`, { preprocess: 'resize=8x8' });
    const b = await resized.batch([0, 1]);
    expect(b.inputs.shape).toEqual([2, 3, 8, 8]);
  });
});
