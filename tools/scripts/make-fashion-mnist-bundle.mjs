#!/usr/bin/env node
// Builds the bundled default data under data/fashion-mnist/ from Debian's
// dataset-fashion-mnist: the 10k test split as shipped, and a fixed
// calibration subset of 2,000 training images (seeded, class-balanced:
// 200 per class), so the main job needs nothing beyond `npm ci`.
// Deterministic: the same source files give byte-identical outputs.
import { copyFileSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';

const SRC = process.argv[2] ?? '/usr/share/datasets/fashion-mnist';
const DST = process.argv[3] ?? 'data/fashion-mnist';
const PER_CLASS = 200;
const SEED = 20190531;

// mulberry32: tiny seeded PRNG, enough for a reproducible subset choice.
function prng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const writeAtomic = (path, bytes) => {
  writeFileSync(`${path}.tmp`, bytes);
  renameSync(`${path}.tmp`, path);
};

const images = gunzipSync(readFileSync(join(SRC, 'train-images-idx3-ubyte.gz')));
const labels = gunzipSync(readFileSync(join(SRC, 'train-labels-idx1-ubyte.gz')));
const n = labels.readUInt32BE(4);
const [rows, cols] = [images.readUInt32BE(8), images.readUInt32BE(12)];
const rand = prng(SEED);
const order = Array.from({ length: n }, (_, i) => i);
for (let i = n - 1; i > 0; i--) {
  const j = Math.floor(rand() * (i + 1));
  [order[i], order[j]] = [order[j], order[i]];
}
const taken = new Array(10).fill(0);
const chosen = [];
for (const i of order) {
  const c = labels[8 + i];
  if (taken[c] < PER_CLASS) {
    taken[c]++;
    chosen.push(i);
  }
}
chosen.sort((a, b) => a - b);

const imgOut = Buffer.alloc(16 + chosen.length * rows * cols);
images.copy(imgOut, 0, 0, 16);
imgOut.writeUInt32BE(chosen.length, 4);
const lblOut = Buffer.alloc(8 + chosen.length);
labels.copy(lblOut, 0, 0, 8);
lblOut.writeUInt32BE(chosen.length, 4);
chosen.forEach((src, k) => {
  images.copy(imgOut, 16 + k * rows * cols, 16 + src * rows * cols, 16 + (src + 1) * rows * cols);
  lblOut[8 + k] = labels[8 + src];
});
writeAtomic(join(DST, 'calib-images-idx3-ubyte.gz'), gzipSync(imgOut, { level: 9 }));
writeAtomic(join(DST, 'calib-labels-idx1-ubyte.gz'), gzipSync(lblOut, { level: 9 }));
writeAtomic(join(DST, 'calib-indices.json'), JSON.stringify({ seed: SEED, perClass: PER_CLASS, trainIndices: chosen }) + '\n');
for (const f of ['t10k-images-idx3-ubyte.gz', 't10k-labels-idx1-ubyte.gz']) copyFileSync(join(SRC, f), join(DST, f));
console.log(`wrote ${chosen.length} calibration images and the 10k test split to ${DST}`);
