import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fashionMnistSlices } from './fmnist-slice';

/*
 * The Vite side of the demo. Node only: it runs in the Vite process, never in
 * the page.
 */

export const DEMO_DATA_MODULE = 'virtual:edge-demo-data';
const RESOLVED = `\0${DEMO_DATA_MODULE}`;

/**
 * The models the page offers, first the default: the three zoo models (Fashion-MNIST classifiers, from models/) and
 * nsfwjs MobileNetV2 (224x224 photos, converted at build time into PHOTO_ASSETS).
 */
export const DEMO_MODELS = [
  { id: 'resnet20', label: 'ResNet-20', file: 'fmnist-resnet20.onnx', images: 'fashion-mnist' },
  { id: 'vgg', label: 'VGG', file: 'fmnist-vgg.onnx', images: 'fashion-mnist' },
  { id: 'mobilenetv2', label: 'MobileNetV2', file: 'fmnist-mobilenetv2.onnx', images: 'fashion-mnist' },
  { id: 'nsfwjs', label: 'nsfwjs MobileNetV2 (photos, 10 MB)', file: 'nsfwjs-mobilenetv2.onnx', images: 'photos' },
] as const;

/** Where photo-assets.ts writes the photo model and the photos (ignored by git), relative to the checkout. */
export const PHOTO_ASSETS = join('out', 'edge-demo');

/**
 * Builds the packages' dist/ (a no-op when nothing changed since the last
 * build), because the page imports them as a web developer's bundler would:
 * through each package's `browser` export condition.
 */
export function buildPackages(root: string): void {
  const r = spawnSync(process.execPath, [join(root, 'tools', 'scripts', 'build-packages.mjs'), '--if-stale'], { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  if (r.status !== 0) {
    throw new Error(`building the packages for the demo failed (run node tools/scripts/build-packages.mjs and fix what it reports):\n${r.stdout}\n${r.stderr}`);
  }
}

/** The photo model and photos (photo-assets.ts, run in a child process: it needs nibble's sources through tsx). */
export function buildPhotoAssets(root: string): void {
  const r = spawnSync(process.execPath, [join(root, 'node_modules', 'tsx', 'dist', 'cli.mjs'), join(root, 'apps', 'edge-demo', 'src', 'build', 'photo-assets.ts'), root, join(root, PHOTO_ASSETS)], {
    cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'],
  });
  if (r.status !== 0) throw new Error(`writing the demo's photo model and photos failed (npx tsx apps/edge-demo/src/build/photo-assets.ts . out/edge-demo):\n${r.stdout}\n${r.stderr}`);
}

/** The slices with base64 pixels, as the page's module and the build's DATA_FILE hold them. */
function encodedSlices(root: string) {
  const { calib, test } = fashionMnistSlices(root);
  const encode = (s: typeof calib) => ({ count: s.count, height: s.height, width: s.width, labels: s.labels, pixels: Buffer.from(s.pixels).toString('base64') });
  return { calib: encode(calib), test: encode(test) };
}

/**
 * The same images as a file of the build, which the page never fetches: the
 * e2e test reads it to quantize in Node on exactly the bytes the page has.
 */
export const DATA_FILE = 'fashion-mnist-slice.json';

/**
 * A virtual module with the images (cut from the checkout's IDX files at
 * build time, as base64) and the model URLs (Vite copies the .onnx files into
 * the build as assets), so the page is self-contained.
 */
export function demoDataModule(root: string): string {
  const { calib, test } = encodedSlices(root);
  const assets = join(root, PHOTO_ASSETS);
  const where = (m: (typeof DEMO_MODELS)[number]) => (m.images === 'photos' ? join(assets, m.file) : join(root, 'models', m.file));
  const imports = DEMO_MODELS.map((m, i) => `import model${i} from ${JSON.stringify(`${where(m)}?url`)};`);
  const models = DEMO_MODELS.map((m, i) => `{ id: ${JSON.stringify(m.id)}, label: ${JSON.stringify(m.label)}, file: ${JSON.stringify(m.file)}, images: ${JSON.stringify(m.images)}, url: model${i} }`);
  // The photos: their index inline, their pixels (4.8 MB) an asset the page fetches when a photo model is chosen.
  const photoIndex = readFileSync(join(assets, 'photos.json'), 'utf8').trim();
  return [
    ...imports, `import photoPixels from ${JSON.stringify(`${join(assets, 'photos.bin')}?url`)};`,
    `export const calib = ${JSON.stringify(calib)};`, `export const test = ${JSON.stringify(test)};`, `export const models = [${models.join(', ')}];`,
    `export const photos = { ...${photoIndex}, url: photoPixels };`,
  ].join('\n');
}

/** The Vite plugin: the virtual data module, and DATA_FILE in a build. */
export function edgeDemoPlugin(root: string) {
  return {
    name: 'nibble-edge-demo-data',
    resolveId(id: string) {
      return id === DEMO_DATA_MODULE ? RESOLVED : undefined;
    },
    load(id: string) {
      return id === RESOLVED ? demoDataModule(root) : undefined;
    },
    generateBundle(this: { emitFile(f: { type: 'asset'; fileName: string; source: string }): string }) {
      this.emitFile({ type: 'asset', fileName: DATA_FILE, source: JSON.stringify(encodedSlices(root)) });
    },
  };
}
