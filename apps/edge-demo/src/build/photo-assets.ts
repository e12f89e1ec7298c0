/*
 * Build-time (Node, run by tsx from demo-plugin.ts) side of the demo's second
 * kind of model: nsfwjs MobileNetV2, a pretrained 224x224 photo classifier
 * (npm nsfwjs), converted to ONNX, and the checkout's natural photos
 * (data/photos, see its README) decoded to RGB bytes. Written under
 * out/edge-demo/, from where Vite copies them into the build as assets; the
 * e2e test reads the same files.
 *
 *   npx tsx apps/edge-demo/src/build/photo-assets.ts <out-dir>
 *
 * A child process rather than code in Vite's config: it needs nibble's
 * importers and decoders (its public API), which the config cannot load
 * before the packages are built. Same inputs, same bytes: the conversion and
 * the JPEG decoder are deterministic, and files are replaced atomically.
 */
import { mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { decodeImage, MODEL_PREPROCESS_KEY, readTfjsModel, saveModel, writeFileAtomic } from 'nibble';

export const PHOTO_MODEL_FILE = 'nsfwjs-mobilenetv2.onnx';
export const PHOTOS_FILE = 'photos.bin';
export const PHOTOS_INDEX = 'photos.json';
/** Held-out photos the page offers as test images (the first, by name); every calibration photo is used. */
export const PHOTO_TEST_COUNT = 8;
/** nsfwjs's class order and its own preprocessing (its infer(): RGB pixels / 255 at 224 x 224). */
export const NSFWJS_CLASSES = ['Drawing', 'Hentai', 'Neutral', 'Porn', 'Sexy'] as const;
export const NSFWJS_PREPROCESS = 'rgb,resize=224x224,unit';
const SIDE = 224;

/** What photos.json says about photos.bin: calibration images, then test images, each 224 x 224 x 3 bytes. */
export interface PhotoIndex {
  height: number;
  width: number;
  channels: 3;
  calib: string[];
  test: string[];
  classes: readonly string[];
}

/** nsfwjs MobileNetV2 written as ONNX to `path`, with its preprocessing in the model's metadata. */
async function writeNsfwjsOnnx(path: string): Promise<void> {
  const req = createRequire(__filename);
  // The package exports no package.json; its CommonJS entry is dist/cjs/index.js, its models beside dist/cjs.
  const dir = join(dirname(req.resolve('nsfwjs')), '..', 'models', 'mobilenet_v2');
  const modelJson = req(join(dir, 'model.min.js')) as { weightsManifest: { paths: string[] }[] };
  const weights: Record<string, string> = {};
  for (const p of modelJson.weightsManifest.flatMap((g) => g.paths)) weights[p] = req(join(dir, `${p}.min.js`)) as string;
  const model = await readTfjsModel({ modelJson, weights, file: 'nsfwjs/mobilenet_v2' });
  model.metadata.set(MODEL_PREPROCESS_KEY, NSFWJS_PREPROCESS);
  saveModel(model, path);
}

function photoBytes(root: string, folder: string, names: string[]): Uint8Array {
  const out = new Uint8Array(names.length * SIDE * SIDE * 3);
  names.forEach((name, i) => {
    const path = join(root, 'data', 'photos', folder, name);
    const img = decodeImage(new Uint8Array(readFileSync(path)), path);
    if (img.height !== SIDE || img.width !== SIDE || img.channels !== 3) {
      throw new Error(`${path}: ${img.width}x${img.height}x${img.channels}, expected ${SIDE}x${SIDE} RGB (rebuild data/photos with its README's command)`);
    }
    out.set(Uint8Array.from(img.data), i * SIDE * SIDE * 3);
  });
  return out;
}

export async function writePhotoAssets(root: string, outDir: string): Promise<void> {
  const list = (folder: string) => readdirSync(join(root, 'data', 'photos', folder)).filter((f) => /\.jpe?g$/i.test(f)).sort();
  const calib = list('calib');
  const test = list('heldout').slice(0, PHOTO_TEST_COUNT);
  mkdirSync(outDir, { recursive: true });
  const index: PhotoIndex = { height: SIDE, width: SIDE, channels: 3, calib, test, classes: NSFWJS_CLASSES };
  const [c, t] = [photoBytes(root, 'calib', calib), photoBytes(root, 'heldout', test)];
  const pixels = new Uint8Array(c.length + t.length);
  pixels.set(c);
  pixels.set(t, c.length);
  writeFileAtomic(join(outDir, PHOTOS_FILE), pixels);
  writeFileAtomic(join(outDir, PHOTOS_INDEX), `${JSON.stringify(index)}\n`);
  await writeNsfwjsOnnx(join(outDir, PHOTO_MODEL_FILE));
}

if (require.main === module) {
  const [root, outDir] = [process.argv[2], process.argv[3]];
  if (!root || !outDir) {
    console.error('usage: tsx apps/edge-demo/src/build/photo-assets.ts <checkout-root> <out-dir>');
    process.exit(2);
  }
  writePhotoAssets(root, outDir).catch((e: unknown) => {
    console.error(String((e as Error)?.stack ?? e));
    process.exit(1);
  });
}
