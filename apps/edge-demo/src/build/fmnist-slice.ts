import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import type { ImageSlice } from '../demo-data';

/*
 * Build-time (Node) side of the demo's data: a small slice of Fashion-MNIST
 * cut from the IDX files the checkout bundles (data/fashion-mnist, see its
 * README), so the page ships its images and fetches nothing outside the app.
 * The e2e test calls the same function, so the page and the Node reference
 * calibrate on byte-identical images.
 *
 * Plain Errors here: this runs inside Vite's config, before the packages
 * are built, so it cannot load nibble (whose NibbleError the page uses).
 */

/** Images the page calibrates on (the first of the checkout's calibration subset) and test images it offers. */
export const CALIB_COUNT = 64;
export const TEST_COUNT = 100;

/** An IDX file (gzip or not) as its dimensions and bytes; the header is big-endian (magic 0x0000 08 rank). */
function readIdx(path: string): { dims: number[]; data: Uint8Array } {
  if (!existsSync(path)) {
    throw new Error(`${path} is missing: the demo's images are cut from it; restore data/fashion-mnist with git (or rebuild it with tools/scripts/make-fashion-mnist-bundle.ts)`);
  }
  const raw = readFileSync(path);
  const buf = path.endsWith('.gz') ? gunzipSync(raw) : raw;
  if (buf[0] !== 0 || buf[1] !== 0 || buf[2] !== 0x08) {
    throw new Error(`${path} is not an IDX file of unsigned bytes: give the Fashion-MNIST IDX files`);
  }
  const rank = buf[3];
  const dims = Array.from({ length: rank }, (_, i) => buf.readUInt32BE(4 + 4 * i));
  return { dims, data: new Uint8Array(buf.buffer, buf.byteOffset + 4 + 4 * rank, dims.reduce((a, b) => a * b, 1)) };
}

function slice(dir: string, prefix: string, count: number): ImageSlice {
  const images = readIdx(join(dir, `${prefix}-images-idx3-ubyte.gz`));
  const labels = readIdx(join(dir, `${prefix}-labels-idx1-ubyte.gz`));
  const [n, height, width] = images.dims;
  const k = Math.min(count, n);
  return { count: k, height, width, pixels: images.data.slice(0, k * height * width), labels: Array.from(labels.data.subarray(0, k)) };
}

/** The calibration and test slices, from the checkout's data/fashion-mnist. */
export function fashionMnistSlices(root: string): { calib: ImageSlice; test: ImageSlice } {
  const dir = join(root, 'data', 'fashion-mnist');
  return { calib: slice(dir, 'calib', CALIB_COUNT), test: slice(dir, 't10k', TEST_COUNT) };
}
