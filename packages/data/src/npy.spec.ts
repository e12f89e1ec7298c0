import { join } from 'path';
import { NibbleError } from '@nibble/ir';
import { encodeNpy, openDataset } from './index';
import { parseNpy, readNpyFile } from './npy';
import { tempDir, write } from './testing/files';

let tmp: ReturnType<typeof tempDir>;
beforeAll(() => (tmp = tempDir('npy')));
afterAll(() => tmp.cleanup());

/** A hand-built .npy header, to test what encodeNpy does not write. */
function npyWith(descr: string, shape: string, fortran: boolean, body: Uint8Array): Uint8Array {
  const header = `{'descr': '${descr}', 'fortran_order': ${fortran ? 'True' : 'False'}, 'shape': ${shape}, }\n`;
  const out = new Uint8Array(10 + header.length + body.length);
  out.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0]);
  new DataView(out.buffer).setUint16(8, header.length, true);
  out.set(new TextEncoder().encode(header), 10);
  out.set(body, 10 + header.length);
  return out;
}

describe('.npy arrays', () => {
  it('opens float32 NCHW inputs with int64 labels through a spec', async () => {
    const N = 4, C = 3, H = 2, W = 5;
    const values = Float32Array.from({ length: N * C * H * W }, (_, i) => i / 10);
    write(join(tmp.dir, 'x.npy'), encodeNpy('<f4', [N, C, H, W], values));
    write(join(tmp.dir, 'y.npy'), encodeNpy('<i8', [N], [2, 0, 1, 2]));
    const ds = await openDataset('npy:x.npy,y.npy', { cwd: tmp.dir });
    expect(ds.sampleShape).toEqual([C, H, W]);
    expect(Array.from(ds.labels())).toEqual([2, 0, 1, 2]);
    const b = await ds.batch([1]);
    expect(Array.from(b.inputs.data as Float32Array)).toEqual(Array.from(values.subarray(C * H * W, 2 * C * H * W)));
    // The same data as NHWC: channel-last output is the transpose.
    const nhwc = await openDataset('npy:x.npy,y.npy', { cwd: tmp.dir, preprocess: 'nhwc' });
    expect(nhwc.sampleShape).toEqual([H, W, C]);
    const t = (await nhwc.batch([1])).inputs.data as Float32Array;
    expect(t[(1 * W + 3) * C + 2]).toBe(values[C * H * W + (2 * H + 1) * W + 3]);
  });

  it('reads uint8 NHWC, big-endian and Fortran-ordered arrays', () => {
    const u8 = parseNpy(encodeNpy('|u1', [2, 2, 2, 3], Array.from({ length: 24 }, (_, i) => i)), 'u8');
    expect(u8.data).toBeInstanceOf(Uint8Array);
    expect(u8.shape).toEqual([2, 2, 2, 3]);
    const be = new Uint8Array(8);
    new DataView(be.buffer).setFloat32(0, 1.5, false);
    new DataView(be.buffer).setFloat32(4, -2, false);
    expect(Array.from(parseNpy(npyWith('>f4', '(2,)', false, be), 'be').data)).toEqual([1.5, -2]);
    // Fortran order: column-major storage of [[1, 2, 3], [4, 5, 6]].
    const f = new Uint8Array(24);
    [1, 4, 2, 5, 3, 6].forEach((v, i) => new DataView(f.buffer).setFloat32(4 * i, v, true));
    const arr = parseNpy(npyWith('<f4', '(2, 3)', true, f), 'fortran');
    expect(Array.from(arr.data)).toEqual([1, 2, 3, 4, 5, 6]);
  });

  it('gives typed errors naming the file', async () => {
    const bad = write(join(tmp.dir, 'bad.npy'), new TextEncoder().encode('not numpy at all'));
    expect(() => readNpyFile(bad)).toThrow(expect.objectContaining({ code: 'E_FILE_FORMAT', place: { file: bad } }));
    const cut = write(join(tmp.dir, 'cut.npy'), encodeNpy('<f4', [10], new Array(10).fill(1)).subarray(0, 100));
    expect(() => readNpyFile(cut)).toThrow(expect.objectContaining({ code: 'E_TRUNCATED', place: { file: cut } }));
    const obj = write(join(tmp.dir, 'obj.npy'), npyWith('|O', '(1,)', false, new Uint8Array(8)));
    expect(() => readNpyFile(obj)).toThrow(expect.objectContaining({ code: 'E_UNSUPPORTED', place: { file: obj } }));
    write(join(tmp.dir, 'x2.npy'), encodeNpy('<f4', [2, 1, 2, 2], new Array(8).fill(0)));
    write(join(tmp.dir, 'y3.npy'), encodeNpy('<i4', [3], [0, 1, 2]));
    const e = await openDataset('npy:x2.npy,y3.npy', { cwd: tmp.dir }).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(NibbleError);
    expect((e as NibbleError).code).toBe('E_DATA');
    expect((e as NibbleError).place.file).toBe(join(tmp.dir, 'y3.npy'));
    const missing = await openDataset('npy:none.npy', { cwd: tmp.dir }).catch((x: unknown) => x);
    expect((missing as NibbleError).code).toBe('E_FILE_NOT_FOUND');
    expect((missing as NibbleError).place.file).toBe(join(tmp.dir, 'none.npy'));
    write(join(tmp.dir, 'flat.npy'), encodeNpy('<f4', [4, 2], new Array(8).fill(0)));
    const flat = await openDataset('npy:flat.npy', { cwd: tmp.dir }).catch((x: unknown) => x);
    expect((flat as NibbleError).code).toBe('E_UNSUPPORTED');
  });
});
