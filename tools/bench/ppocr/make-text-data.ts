/*
 * Regenerates data/text from the samples of OpenCV's text module that
 * Debian's opencv-doc ships:
 *
 *   apt-get install -y opencv-doc
 *   npx tsx tools/bench/ppocr/make-text-data.ts [--out data/text] [--check] [--find-boxes]
 *
 * - words/: the four word crops, copied byte for byte, and labels.csv with their text;
 * - scenes/ and det-calib/: scenes with text, area-averaged to a longer side of
 *   at most SCENE_SIDE and re-encoded by jpeg-js at QUALITY;
 * - rec-calib/: the text boxes of text-sources.ts cut from the full-size scenes
 *   and encoded the same way.
 * Every source's SHA-256 is checked first, so the same package version gives
 * the same bytes. --check writes nothing and exits 1 if a committed file
 * would change; --find-boxes prints REC_CALIB_BOXES as the float32 detector
 * finds them today (they are frozen in text-sources.ts).
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { convertChannels, decodeImage, type RawImage, writeFileAtomic } from '@nibble/data';
import { areaResize, encodeRgbJpeg } from '../pretrained/photo-ops';
import { cropImage } from './ocr-inputs';
import { DET_CALIB, OPENCV_DOC, REC_CALIB_BOXES, SCENES, type TextSource, WORDS } from './text-sources';

export const SCENE_SIDE = 640;
const QUALITY = 85;

function readSource(s: TextSource): Uint8Array {
  const path = join(OPENCV_DOC.root, s.file);
  if (!existsSync(path)) throw new Error(`${path} is missing: install the Debian package ${OPENCV_DOC.apt} (${OPENCV_DOC.version})`);
  const bytes = readFileSync(path);
  const digest = createHash('sha256').update(bytes).digest('hex').slice(0, 16);
  if (digest !== s.sha256) throw new Error(`${path}: SHA-256 starts ${digest}, expected ${s.sha256}; data/text was made from ${OPENCV_DOC.apt} ${OPENCV_DOC.version}`);
  return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

const decodeRgb = (s: TextSource): RawImage => convertChannels(decodeImage(readSource(s), s.file), 'rgb');

/** A scene with its longer side area-averaged down to at most SCENE_SIDE (unchanged when already small enough). */
export function sceneImage(img: RawImage): RawImage {
  const s = SCENE_SIDE / Math.max(img.height, img.width);
  return s < 1 ? areaResize(img, Math.round(img.height * s), Math.round(img.width * s)) : img;
}

const stem = (file: string): string => file.replace(/\.jpg$/, '');

/** Every file data/text should hold (relative path -> bytes), and the README's rows. */
function expectedFiles(): Map<string, Uint8Array> {
  const files = new Map<string, Uint8Array>();
  for (const w of WORDS) files.set(`words/${w.file}`, readSource(w));
  files.set('words/labels.csv', Buffer.from(['file,text', ...WORDS.map((w) => `${w.file},${w.text}`)].join('\n') + '\n'));
  for (const s of SCENES) files.set(`scenes/${s.file}`, encodeRgbJpeg(sceneImage(decodeRgb(s)), QUALITY));
  for (const s of DET_CALIB) files.set(`det-calib/${s.file}`, encodeRgbJpeg(sceneImage(decodeRgb(s)), QUALITY));
  for (const s of [...SCENES, ...DET_CALIB]) {
    const img = decodeRgb(s);
    (REC_CALIB_BOXES[s.file] ?? []).forEach(([x0, y0, x1, y1], k) => {
      files.set(`rec-calib/${stem(s.file)}-${String(k + 1).padStart(2, '0')}.jpg`, encodeRgbJpeg(cropImage(img, y0, x0, y1 - y0, x1 - x0), QUALITY));
    });
  }
  files.set('README.md', Buffer.from(readme(files)));
  return files;
}

function readme(files: Map<string, Uint8Array>): string {
  const kb = (n: number): string => (n / 1024).toFixed(1);
  const sizeOf = (dir: string): number => [...files].filter(([k]) => k.startsWith(`${dir}/`) && k.endsWith('.jpg')).reduce((s, [, b]) => s + b.length, 0);
  const count = (dir: string): number => [...files.keys()].filter((k) => k.startsWith(`${dir}/`) && k.endsWith('.jpg')).length;
  const row = (dir: string, s: TextSource, extra = ''): string => `| ${dir}/${s.file} | \`${s.file}\` | ${s.shows}${extra} | ${kb(files.get(`${dir}/${s.file}`)!.length)} |`;
  return [
    '# Text images for the PP-OCR benchmark',
    '',
    'Photographs with text for tools/bench/ppocr (PP-OCRv4 recognition and detection, float32',
    'against quantized). All come from the samples of OpenCV\'s text module as Debian packages them:',
    `\`${OPENCV_DOC.apt}\` ${OPENCV_DOC.version}, installed under \`${OPENCV_DOC.root}\`.`,
    `Licence: ${OPENCV_DOC.licence} (${OPENCV_DOC.licenceNote}).`,
    '',
    `- \`words/\` (${count('words')} crops, ${kb(sizeOf('words'))} KiB): the recognition **test set**, the sources' bytes unchanged;`,
    '  `labels.csv` gives the text each shows (read by eye; PP-OCRv4\'s float32 model reads the same).',
    `- \`scenes/\` (${count('scenes')} scenes, ${kb(sizeOf('scenes'))} KiB): the detection **evaluation** images.`,
    `- \`det-calib/\` (${count('det-calib')} scenes, ${kb(sizeOf('det-calib'))} KiB): detection **calibration**, with data/photos/calib.`,
    `- \`rec-calib/\` (${count('rec-calib')} crops, ${kb(sizeOf('rec-calib'))} KiB): recognition **calibration**: the text boxes the float32`,
    '  detector finds in the scenes of scenes/ and det-calib/ (tools/bench/ppocr/text-sources.ts lists them),',
    '  cut from the full-size sources. None is one of the four test words, nor cut from their photos.',
    '',
    'Generated, not edited by hand: `npx tsx tools/bench/ppocr/make-text-data.ts` rewrites this folder',
    `byte for byte (\`apt-get install -y ${OPENCV_DOC.apt}\` first), \`--check\` verifies it. Scenes are`,
    `area-averaged to a longer side of at most ${SCENE_SIDE} and, like the crops, encoded by jpeg-js at quality ${QUALITY}.`,
    '',
    '| file | source | shows | KiB |',
    '|---|---|---|---|',
    ...WORDS.map((w) => row('words', w, ` ("${w.text}")`)),
    ...SCENES.map((s) => row('scenes', s)),
    ...DET_CALIB.map((s) => row('det-calib', s)),
    '',
  ].join('\n');
}


function listFiles(dir: string): string[] {
  return ['words', 'scenes', 'det-calib', 'rec-calib'].flatMap((d) => (existsSync(join(dir, d)) ? readdirSync(join(dir, d)).map((f) => `${d}/${f}`) : []));
}

async function findBoxes(): Promise<void> {
  // Imported here so that regenerating the data needs no model.
  const { floatDetector } = await import('./detect');
  const detector = await floatDetector();
  try {
    for (const s of [...SCENES, ...DET_CALIB]) {
      const img = decodeRgb(s);
      const boxes = await detector.sourceBoxes(sceneImage(img), img.height, img.width);
      console.log(`  '${s.file}': [${boxes.map((b) => `[${b.join(', ')}]`).join(', ')}],`);
    }
  } finally {
    await detector.dispose();
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { out: { type: 'string', default: join('data', 'text') }, check: { type: 'boolean', default: false }, 'find-boxes': { type: 'boolean', default: false } } });
  if (values['find-boxes']) return findBoxes();
  const dir = resolve(values.out!);
  const files = expectedFiles();
  if (values.check) {
    const bad = [...files].filter(([rel, bytes]) => !existsSync(join(dir, rel)) || Buffer.compare(readFileSync(join(dir, rel)), bytes) !== 0).map(([rel]) => rel);
    const extra = listFiles(dir).filter((rel) => !files.has(rel));
    for (const rel of [...bad, ...extra]) console.error(`differs: ${join(dir, rel)}`);
    console.log(bad.length + extra.length === 0 ? `${dir}: all ${files.size} files identical` : `${bad.length + extra.length} files differ`);
    process.exitCode = bad.length + extra.length === 0 ? 0 : 1;
    return;
  }
  for (const rel of listFiles(dir)) if (!files.has(rel)) rmSync(join(dir, rel));
  for (const [rel, bytes] of files) {
    mkdirSync(dirname(join(dir, rel)), { recursive: true });
    writeFileAtomic(join(dir, rel), bytes);
  }
  const total = [...files].filter(([rel]) => rel.endsWith('.jpg')).reduce((s, [, b]) => s + b.length, 0);
  console.log(`wrote ${files.size} files (${(total / 1024).toFixed(1)} KiB of images) to ${dir}`);
}

if (require.main === module) {
  main().catch((e) => {
    console.error(e);
    process.exit(1);
  });
}
