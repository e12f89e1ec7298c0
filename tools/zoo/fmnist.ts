import * as path from 'path';
import { readIdxFile } from '@nibble/data';

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

/** A uint8 IDX file of the given rank, read by @nibble/data (plain or gzipped). */
function readUint8Idx(file: string, rank: number): { dims: readonly number[]; data: Uint8Array } {
  const idx = readIdxFile(file);
  if (idx.type !== 'uint8' || idx.dims.length !== rank) {
    throw new Error(`${file}: IDX ${idx.type} [${idx.dims.join(',')}], expected uint8 of rank ${rank}`);
  }
  return { dims: idx.dims, data: idx.data as Uint8Array };
}

/** Reads one split ('train' or 't10k') of Fashion-MNIST from the gzipped IDX files. */
export function loadFashionMnist(split: 'train' | 't10k', dir = FMNIST_DIR): ImageSet {
  const img = readUint8Idx(path.join(dir, `${split}-images-idx3-ubyte.gz`), 3);
  const lab = readUint8Idx(path.join(dir, `${split}-labels-idx1-ubyte.gz`), 1);
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
