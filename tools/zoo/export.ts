/**
 * Writes a trained zoo model to ONNX through our IR and writer, measures its
 * float32 test accuracy with onnxruntime-node on the ONNX file itself, and
 * records it in models/manifest.json.
 *
 *   npx tsx tools/zoo/export.ts resnet20 [vgg mobilenetv2]
 *
 * Reads models/tfjs/fmnist-<arch>/ (model.json, weights.bin, training.json)
 * written by train.ts; writes models/fmnist-<arch>.onnx.
 */
import * as crypto from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import * as ort from 'onnxruntime-node';
import { writeFileAtomic } from '@nibble/data';
import { writeOnnxFile } from '@nibble/onnx';
import { buildArch } from './arch';
import { normalise, Normalisation } from './batches';
import { loadFashionMnist } from './fmnist';
import { buildOnnxModel, ONNX_INPUT, ONNX_OUTPUT } from './onnx-graph';
import { readTfjsWeights } from './tfjs-weights';

const ROOT = path.join(__dirname, '..', '..');
const MODELS = path.join(ROOT, 'models');

export interface ManifestEntry {
  name: string;
  file: string;
  architecture: string;
  description: string;
  data: string;
  input: { name: string; layout: 'NCHW'; shape: (number | string)[]; dtype: 'float32' };
  output: { name: string; shape: (number | string)[]; meaning: string };
  normalisation: Normalisation & { formula: string };
  classes: string[];
  epochs: number;
  seed: number;
  trainingCommand: string;
  trainingLog: string;
  testAccuracyFloat32: number;
  testAccuracyMeasuredWith: string;
  testAccuracyTfjs: number;
  parameters: number;
  sha256: string;
  tfjs: { dir: string; modelJsonSha256: string; weightsSha256: string };
}

export const FMNIST_CLASSES = ['T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal', 'Shirt', 'Sneaker', 'Bag', 'Ankle boot'];

function sha256(file: string): string {
  return crypto.createHash('sha256').update(fs.readFileSync(file)).digest('hex');
}

/** Top-1 accuracy of an ONNX classifier over the Fashion-MNIST test split, NCHW input. */
export async function onnxTestAccuracy(file: string, norm: Normalisation, limit = 0): Promise<number> {
  const test = loadFashionMnist('t10k');
  const count = limit > 0 ? Math.min(limit, test.count) : test.count;
  const pixels = normalise(test, norm);
  const session = await ort.InferenceSession.create(file, { executionMode: 'sequential', intraOpNumThreads: 1, interOpNumThreads: 1 });
  let correct = 0;
  const bs = 500;
  for (let s = 0; s < count; s += bs) {
    const n = Math.min(bs, count - s);
    // One channel: NCHW and NHWC hold the same bytes.
    const x = new ort.Tensor('float32', pixels.slice(s * 784, (s + n) * 784), [n, 1, 28, 28]);
    const out = await session.run({ [ONNX_INPUT]: x });
    const logits = out[ONNX_OUTPUT].data as Float32Array;
    const k = logits.length / n;
    for (let i = 0; i < n; i++) {
      let best = 0;
      for (let j = 1; j < k; j++) if (logits[i * k + j] > logits[i * k + best]) best = j;
      if (best === test.labels[s + i]) correct++;
    }
  }
  await session.release();
  return correct / count;
}

export async function exportArch(archName: string, modelsDir = MODELS): Promise<ManifestEntry> {
  const arch = buildArch(archName);
  const name = `fmnist-${arch.name}`;
  const tfjsDir = path.join(modelsDir, 'tfjs', name);
  const trainingFile = path.join(tfjsDir, 'training.json');
  if (!fs.existsSync(trainingFile)) {
    throw new Error(`${path.relative(ROOT, trainingFile)} not found: train first (tools/zoo/train-all.sh) so train.ts writes the TF.js model`);
  }
  const training = JSON.parse(fs.readFileSync(trainingFile, 'utf8'));
  const norm = training.normalisation as Normalisation;
  const weights = readTfjsWeights(tfjsDir);
  const model = buildOnnxModel(arch, weights, {
    data: 'Fashion-MNIST',
    normalisation: `x = (pixel/255 - ${norm.mean}) / ${norm.std}`,
    // Read by nibble's quantize/calibrate/eval (MODEL_PREPROCESS_KEY), so the model is fed as it was trained.
    'nibble.preprocess': `gray,scale=1/255,normalize=${norm.mean}/${norm.std}`,
    classes: FMNIST_CLASSES.join(','),
    epochs: String(training.config.epochs),
    seed: String(training.config.seed),
  });
  const file = path.join(modelsDir, `${name}.onnx`);
  fs.mkdirSync(modelsDir, { recursive: true });
  writeOnnxFile(model, file);
  const acc = await onnxTestAccuracy(file, norm, training.data.test);
  // The same weights through two runtimes: a gap beyond a few argmax ties means the export is wrong.
  if (Math.abs(acc - training.testAccuracyTfjs) > 0.002) {
    throw new Error(`${name}.onnx scores ${acc} in onnxruntime but the TF.js model scored ${training.testAccuracyTfjs}; the ONNX graph does not compute what was trained`);
  }
  let params = 0;
  for (const w of weights.values()) params += w.data.length;
  return {
    name,
    file: `${name}.onnx`,
    architecture: arch.name,
    description: arch.description,
    data: `Fashion-MNIST, trained on the ${training.data.train}-image train split, tested on the ${training.data.test}-image test split (Debian dataset-fashion-mnist)`,
    input: { name: ONNX_INPUT, layout: 'NCHW', shape: ['batch', 1, 28, 28], dtype: 'float32' },
    output: { name: ONNX_OUTPUT, shape: ['batch', arch.classes], meaning: 'logits (no softmax)' },
    normalisation: { ...norm, formula: 'x = (pixel * scale - mean) / std, pixel in 0..255' },
    classes: FMNIST_CLASSES,
    epochs: training.config.epochs,
    seed: training.config.seed,
    trainingCommand: training.command,
    trainingLog: `tools/zoo/logs/${arch.name}.log`,
    testAccuracyFloat32: acc,
    testAccuracyMeasuredWith: `onnxruntime-node ${ort.env.versions.common} on ${name}.onnx, all ${training.data.test} test images`,
    testAccuracyTfjs: training.testAccuracyTfjs,
    parameters: params,
    sha256: sha256(file),
    tfjs: {
      dir: path.relative(modelsDir, tfjsDir),
      modelJsonSha256: sha256(path.join(tfjsDir, 'model.json')),
      weightsSha256: sha256(path.join(tfjsDir, 'weights.bin')),
    },
  };
}

/** Replaces (or adds) entries by name; entries stay sorted so the file is stable. */
export function updateManifest(entries: ManifestEntry[], modelsDir = MODELS): void {
  const file = path.join(modelsDir, 'manifest.json');
  const old: { models: ManifestEntry[] } = fs.existsSync(file) ? JSON.parse(fs.readFileSync(file, 'utf8')) : { models: [] };
  const byName = new Map(old.models.map((m) => [m.name, m]));
  for (const e of entries) byName.set(e.name, e);
  const models = [...byName.values()].sort((a, b) => a.name.localeCompare(b.name));
  fs.mkdirSync(modelsDir, { recursive: true });
  writeFileAtomic(file, JSON.stringify({ models }, null, 2) + '\n');
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  let modelsDir = MODELS;
  const at = args.indexOf('--models-dir');
  if (at >= 0) {
    modelsDir = path.resolve(args[at + 1]);
    args.splice(at, 2);
  }
  const archs = args;
  if (archs.length === 0) throw new Error('usage: npx tsx tools/zoo/export.ts [--models-dir models] <arch> [<arch>...]  (resnet20, vgg, mobilenetv2)');
  const entries: ManifestEntry[] = [];
  for (const a of archs) {
    const e = await exportArch(a, modelsDir);
    console.log(`${e.file}: float32 test accuracy ${e.testAccuracyFloat32.toFixed(4)} (onnxruntime; TF.js ${e.testAccuracyTfjs.toFixed(4)}), sha256 ${e.sha256}`);
    entries.push(e);
  }
  updateManifest(entries, modelsDir);
  console.log(`updated ${path.relative(ROOT, path.join(modelsDir, 'manifest.json'))} (${entries.map((e) => e.name).join(', ')})`);
}

if (require.main === module) {
  main().catch((e) => {
    console.error(e instanceof Error ? e.stack ?? e.message : e);
    process.exit(1);
  });
}
