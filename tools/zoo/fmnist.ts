import * as fs from 'fs';
import * as path from 'path';
import * as zlib from 'zlib';

/** Debian's `dataset-fashion-mnist` installs the four gzipped IDX files here. */
export const FMNIST_DIR = '/usr/share/datasets/fashion-mnist';

export interface ImageSet {
  /** uint8 pixels, N x H x W, row-major. */
  images: Uint8Array;
  labels: Uint8Array;
  count: number;
  height: number;
  width: number;
}

function readIdx(file: string, expectedMagic: number): { dims: number[]; data: Uint8Array } {
  let buf: Buffer = fs.readFileSync(file);
  if (file.endsWith('.gz')) buf = zlib.gunzipSync(buf);
  const magic = buf.readUInt32BE(0);
  if (magic !== expectedMagic) {
    throw new Error(`${file}: IDX magic 0x${magic.toString(16)}, expected 0x${expectedMagic.toString(16)} (not an IDX uint8 file of the right rank)`);
  }
  const rank = magic & 0xff;
  const dims: number[] = [];
  for (let i = 0; i < rank; i++) dims.push(buf.readUInt32BE(4 + 4 * i));
  const offset = 4 + 4 * rank;
  const size = dims.reduce((a, b) => a * b, 1);
  if (buf.length !== offset + size) throw new Error(`${file}: ${buf.length - offset} data bytes, header says ${size}`);
  return { dims, data: new Uint8Array(buf.buffer, buf.byteOffset + offset, size) };
}

/** Reads one split ('train' or 't10k') of Fashion-MNIST from the gzipped IDX files. */
export function loadFashionMnist(split: 'train' | 't10k', dir = FMNIST_DIR): ImageSet {
  const img = readIdx(path.join(dir, `${split}-images-idx3-ubyte.gz`), 0x00000803);
  const lab = readIdx(path.join(dir, `${split}-labels-idx1-ubyte.gz`), 0x00000801);
  if (img.dims[0] !== lab.dims[0]) throw new Error(`${dir}/${split}: ${img.dims[0]} images but ${lab.dims[0]} labels`);
  return { images: img.data, labels: lab.data, count: img.dims[0], height: img.dims[1], width: img.dims[2] };
}

/** Mean and standard deviation of the pixels scaled to [0,1], in float64. */
export function pixelStats(set: ImageSet): { mean: number; std: number } {
  let s = 0;
  let s2 = 0;
  for (let i = 0; i < set.images.length; i++) {
    const v = set.images[i] / 255;
    s += v;
    s2 += v * v;
  }
  const n = set.images.length;
  const mean = s / n;
  return { mean, std: Math.sqrt(s2 / n - mean * mean) };
}
