/*
 * Regenerates data/photos (calib/, heldout/, README.md) from photos that
 * Debian packages ship:
 *
 *   apt-get install -y opencv-doc darknet python3-skimage
 *   npx tsx tools/bench/pretrained/make-photos.ts [--out data/photos] [--check]
 *
 * Each source's centred square is area-averaged down to 224 x 224 RGB (grey
 * sources replicated to three channels) and written as a baseline JPEG of
 * quality QUALITY with jpeg-js; a seeded permutation of the sorted names
 * puts CALIB of them in calib/ and the rest in heldout/. The same package
 * versions give the same bytes: every source's SHA-256 is checked first.
 * --check writes nothing and exits 1 if any committed file would change.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { permutation, writeFileAtomic } from '@nibble/data';
import { PACKAGES, PHOTO_SOURCES, photoName, type PhotoSource } from './photo-sources';
import { encodeRgbJpeg, squarePhoto } from './photo-ops';

export const PHOTO_SIZE = 224;
const QUALITY = 85;
const CALIB = 24;
const SPLIT_SEED = 2019;

export interface Photo {
  name: string;
  split: 'calib' | 'heldout';
  source: PhotoSource;
  bytes: Uint8Array;
}

function sourcePath(s: PhotoSource): string {
  return join(PACKAGES[s.pkg].root, s.file);
}

function readSource(s: PhotoSource): Uint8Array {
  const path = sourcePath(s);
  const p = PACKAGES[s.pkg];
  if (!existsSync(path)) throw new Error(`${path} is missing: install the Debian package ${p.apt} (${p.version})`);
  const bytes = readFileSync(path);
  const digest = createHash('sha256').update(bytes).digest('hex').slice(0, 16);
  if (digest !== s.sha256) {
    throw new Error(`${path}: SHA-256 starts ${digest}, expected ${s.sha256}; the photos were made from ${p.apt} ${p.version}`);
  }
  return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** All photos, in name order, with their split. */
export function makePhotos(): Photo[] {
  const sources = [...PHOTO_SOURCES].sort((a, b) => (photoName(a) < photoName(b) ? -1 : 1));
  const order = permutation(sources.length, SPLIT_SEED);
  const calib = new Set(Array.from(order.subarray(0, CALIB)));
  return sources.map((source, i) => ({
    name: photoName(source),
    split: calib.has(i) ? 'calib' : 'heldout',
    source,
    bytes: encodeRgbJpeg(squarePhoto(readSource(source), sourcePath(source), PHOTO_SIZE), QUALITY),
  }));
}

function readme(photos: Photo[]): string {
  const kb = (n: number): string => (n / 1024).toFixed(1);
  const total = photos.reduce((s, p) => s + p.bytes.length, 0);
  const lines = [
    '# Natural photos for calibration and evaluation',
    '',
    `${photos.length} photos, ${PHOTO_SIZE} x ${PHOTO_SIZE} RGB JPEG (${kb(total)} KiB in all), for calibrating and evaluating`,
    'pretrained ImageNet-style models (tools/bench/pretrained). They carry no labels: the benchmarks',
    "compare a quantized model's predictions with the float model's.",
    '',
    `- \`calib/\` (${photos.filter((p) => p.split === 'calib').length} photos): calibration data, \`--data images:data/photos/calib\`.`,
    `- \`heldout/\` (${photos.filter((p) => p.split === 'heldout').length} photos): never seen by calibration; evaluation only.`,
    '',
    'Generated, not edited by hand: `npx tsx tools/bench/pretrained/make-photos.ts` rewrites this folder',
    'byte for byte from the files of three Debian 12 packages',
    `(\`apt-get install -y ${Object.values(PACKAGES).map((p) => p.apt).join(' ')}\`), and`,
    '`--check` verifies the committed copy. Each source\'s centred square is area-averaged to',
    `${PHOTO_SIZE} x ${PHOTO_SIZE} (grey sources replicated to RGB) and encoded by jpeg-js at quality ${QUALITY};`,
    `the split is a seeded permutation (seed ${SPLIT_SEED}) of the names in code-point order, first ${CALIB} to calib/.`,
    'Synthetic images, renders, paintings, text pages, calibration patterns and near-duplicate',
    'pairs (stereo or flow partners) of the packages were left out.',
    '',
    '| package | version | installed under | licence (Debian copyright file) |',
    '|---|---|---|---|',
    ...Object.values(PACKAGES).map((p) => `| ${p.apt} | ${p.version} | \`${p.root}\` | ${p.licence} |`),
    '',
    '| file | source (package: path) | shows | licence | KiB |',
    '|---|---|---|---|---|',
    ...photos.map((p) => {
      const pkg = PACKAGES[p.source.pkg];
      return `| ${p.split}/${p.name} | ${pkg.apt}: \`${p.source.file}\` | ${p.source.shows} | ${p.source.licence ?? pkg.licence.replace(/ \(.*$/, '')} | ${kb(p.bytes.length)} |`;
    }),
    '',
  ];
  return lines.join('\n');
}


/** Files the folder should hold, relative path -> bytes. */
function expectedFiles(photos: Photo[]): Map<string, Uint8Array> {
  const files = new Map<string, Uint8Array>(photos.map((p) => [`${p.split}/${p.name}`, p.bytes]));
  files.set('README.md', Buffer.from(readme(photos)));
  return files;
}

function listImages(dir: string): string[] {
  return ['calib', 'heldout'].flatMap((split) => (existsSync(join(dir, split)) ? readdirSync(join(dir, split)).map((f) => `${split}/${f}`) : []));
}

if (require.main === module) {
  const { values } = parseArgs({ options: { out: { type: 'string', default: join('data', 'photos') }, check: { type: 'boolean', default: false } } });
  const dir = resolve(values.out!);
  const files = expectedFiles(makePhotos());
  if (values.check) {
    const bad = [...files].filter(([rel, bytes]) => !existsSync(join(dir, rel)) || Buffer.compare(readFileSync(join(dir, rel)), bytes) !== 0).map(([rel]) => rel);
    const extra = listImages(dir).filter((rel) => !files.has(rel));
    for (const rel of [...bad, ...extra]) console.error(`differs: ${join(dir, rel)}`);
    console.log(bad.length + extra.length === 0 ? `${dir}: all ${files.size} files identical` : `${bad.length + extra.length} files differ`);
    process.exit(bad.length + extra.length === 0 ? 0 : 1);
  }
  for (const rel of listImages(dir)) if (!files.has(rel)) rmSync(join(dir, rel));
  mkdirSync(join(dir, 'calib'), { recursive: true });
  mkdirSync(join(dir, 'heldout'), { recursive: true });
  for (const [rel, bytes] of files) writeFileAtomic(join(dir, rel), bytes);
  const total = [...files].filter(([rel]) => rel.endsWith('.jpg')).reduce((s, [, b]) => s + b.length, 0);
  console.log(`wrote ${files.size - 1} photos (${(total / 1024).toFixed(1)} KiB) and README.md to ${dir}`);
}
