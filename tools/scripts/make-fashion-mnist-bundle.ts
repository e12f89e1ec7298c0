/*
 * Builds the bundled default data under data/fashion-mnist/ from Debian's
 * dataset-fashion-mnist: the 10k test split as shipped, and a fixed
 * calibration subset of 2,000 training images (seeded, class-balanced: 200
 * per class), so the main job needs nothing beyond `npm ci`. Deterministic:
 * the same source files give byte-identical outputs.
 *
 *   npx tsx --tsconfig tsconfig.base.json tools/scripts/make-fashion-mnist-bundle.ts [SRC] [DST]
 */
import { copyFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { encodeIdx, readIdxFile, writeFileAtomic } from '@nibble/data';

const SRC = process.argv[2] ?? '/usr/share/datasets/fashion-mnist';
const DST = process.argv[3] ?? 'data/fashion-mnist';
const PER_CLASS = 200;
const SEED = 20190531;

/*
 * mulberry32, not @nibble/ir's SeededRandom: the committed bundle (and every
 * figure measured on it) was drawn with this exact sequence.
 */
function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const images = readIdxFile(join(SRC, 'train-images-idx3-ubyte.gz'));
const labels = readIdxFile(join(SRC, 'train-labels-idx1-ubyte.gz'));
const [n, rows, cols] = images.dims;
const rand = mulberry32(SEED);
const order = Array.from({ length: n }, (_, i) => i);
for (let i = n - 1; i > 0; i--) {
  const j = Math.floor(rand() * (i + 1));
  [order[i], order[j]] = [order[j], order[i]];
}
const taken = new Array<number>(10).fill(0);
const chosen: number[] = [];
for (const i of order) {
  const c = labels.data[i];
  if (taken[c] < PER_CLASS) {
    taken[c]++;
    chosen.push(i);
  }
}
chosen.sort((a, b) => a - b);

const pixels = rows * cols;
const imgOut = new Uint8Array(chosen.length * pixels);
chosen.forEach((src, k) => imgOut.set(images.data.subarray(src * pixels, (src + 1) * pixels), k * pixels));
const lblOut = Uint8Array.from(chosen, (src) => labels.data[src]);
writeFileAtomic(join(DST, 'calib-images-idx3-ubyte.gz'), gzipSync(encodeIdx('uint8', [chosen.length, rows, cols], imgOut), { level: 9 }));
writeFileAtomic(join(DST, 'calib-labels-idx1-ubyte.gz'), gzipSync(encodeIdx('uint8', [chosen.length], lblOut), { level: 9 }));
writeFileAtomic(join(DST, 'calib-indices.json'), `${JSON.stringify({ seed: SEED, perClass: PER_CLASS, trainIndices: chosen })}\n`);
for (const f of ['t10k-images-idx3-ubyte.gz', 't10k-labels-idx1-ubyte.gz']) copyFileSync(join(SRC, f), join(DST, f));
console.log(`wrote ${chosen.length} calibration images and the 10k test split to ${DST}`);
