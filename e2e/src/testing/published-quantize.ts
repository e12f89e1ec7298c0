import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { openDataset } from '@nibble/data';
import { constantTensor, type Model, SeededRandom, Tensor } from '@nibble/ir';
import { readOnnx } from '@nibble/onnx';
import { createOrtExecutor } from '@nibble/runtime';
import { workspaceRoot } from '@nibble/testing';
import { quantize, sqnrDb } from 'nibble';
import { importPublished } from './published-check';
import { PUBLISHED_MODELS } from './published-models';

/*
 * Issue 17's end-to-end check: published detection / landmark models,
 * quantized by nibble's pipeline calibrated on the bundled photos
 * (data/photos/calib, 24 images), and compared with their float selves on
 * the photos calibration never saw (data/photos/heldout, 22 images): SQNR of
 * every output over all held-out images, in the exact QDQ simulation.
 *
 *   npx tsx e2e/src/testing/published-quantize.ts [--recipe w4a8-biascorr | --pipeline P --label L | --weight-noise dB] [id...]
 *
 * --weight-noise adds seeded white noise at that SQNR to every Conv / Gemm /
 * MatMul weight of the canonicalised float model instead of quantizing: how
 * sensitive the model is to weight error of a given size, whatever made it.
 *
 * Prints one markdown row per model; docs/published-models.md keeps the table.
 */

/** Image models with fixed float inputs in [0, 1] whose outputs are not a post-processed list (NMS, top-k). */
const DEFAULT_IDS = [
  'face_detection-face_detection_short_range', 'hands-hand_landmark_lite', 'hands-palm_detection_lite',
  'pose-pose_detection', 'pose-pose_landmark_lite', 'face_mesh-face_landmark', 'objectron-object_detection_3d_cup', 'human-blazeface',
];

const ROOT = workspaceRoot();

/** The canonical float model with white noise at `db` dB SQNR added to every weight of a weighted layer. */
async function withWeightNoise(float: Model, db: number): Promise<Model> {
  const { model } = await quantize(float, { pipeline: 'fold-bn,fold-constants,eliminate-dead-code', allowUnquantized: true, data: `images:${join(ROOT, 'data', 'photos', 'calib')}`, samples: 1, batchSize: 1, preprocess: 'rgb,unit' });
  const rng = new SeededRandom(3);
  for (const n of model.graph.nodes) {
    const w = ['Conv', 'ConvTranspose', 'Gemm', 'MatMul'].includes(n.opType) ? n.inputs[1] : undefined;
    const t = w && constantTensor(w);
    if (!w || !t || t.dtype !== 'float32') continue;
    const x = t.toFloat64();
    const power = x.reduce((a, b) => a + b * b, 0) / x.length;
    const std = Math.sqrt(power / 10 ** (db / 10));
    w.const = new Tensor('float32', t.shape, Float32Array.from(x, (v) => v + std * rng.normal()));
  }
  return model;
}

/** Every output of `model` on every image of `folder`, concatenated per output in the dataset's order. */
async function outputsOn(model: Model, folder: string, preprocess: string): Promise<Map<string, Float64Array>> {
  const dataset = await openDataset(`images:${folder}`, { preprocess, cwd: ROOT });
  const executor = await createOrtExecutor(model);
  const parts = new Map<string, number[]>();
  try {
    for await (const batch of dataset.batches({ batchSize: 1 })) {
      const r = await executor.run({ [model.graph.inputs[0].name]: batch.inputs });
      for (const name of executor.outputNames) {
        const list = parts.get(name) ?? [];
        for (const v of r[name].toFloat64()) list.push(v);
        parts.set(name, list);
      }
    }
  } finally {
    await executor.dispose();
  }
  return new Map([...parts].map(([k, v]) => [k, Float64Array.from(v)]));
}

async function main(): Promise<void> {
  const { values, positionals } = parseArgs({
    options: { recipe: { type: 'string', default: 'w4a8-biascorr' }, pipeline: { type: 'string' }, label: { type: 'string' }, 'weight-noise': { type: 'string' } }, allowPositionals: true,
  });
  const noise = values['weight-noise'] === undefined ? undefined : Number(values['weight-noise']);
  const recipe = noise !== undefined ? `weights + noise at ${noise} dB` : values.pipeline ? values.label ?? 'pipeline' : values.recipe!;
  const choice = values.pipeline ? { pipeline: values.pipeline } : { recipe };
  const ids = positionals.length ? positionals : DEFAULT_IDS;
  console.log(`| model | input | recipe | mean weight bits | output SQNR vs float (dB), held-out photos | quantize s |`);
  console.log('|---|---|---|---|---|---|');
  for (const id of ids) {
    const m = PUBLISHED_MODELS.find((x) => x.id === id);
    if (!m) throw new Error(`unknown published model '${id}'`);
    const float = await importPublished(m);
    const shape = float.graph.inputs[0].type!.shape as number[];
    // The IR input is NCHW (the importer transposes NHWC sources).
    const [h, w] = [shape[2], shape[3]];
    const preprocess = `rgb,resize=${w}x${h},unit`;
    const t0 = Date.now();
    const q = noise === undefined ? await quantize(float, { ...choice, data: `images:${join(ROOT, 'data', 'photos', 'calib')}`, preprocess, batchSize: 1 }) : undefined;
    const seconds = (Date.now() - t0) / 1000;
    const quantized = q ? readOnnx(q.onnx, { file: `${id}.${recipe}.onnx` }) : await withWeightNoise(float, noise!);
    const heldout = join(ROOT, 'data', 'photos', 'heldout');
    const ref = await outputsOn(float, heldout, preprocess);
    const got = await outputsOn(quantized, heldout, preprocess);
    const sqnr = [...ref].map(([name, r]) => `${name.length > 24 ? `${name.slice(0, 22)}..` : name} ${sqnrDb(r, got.get(name)!).toFixed(1)}`);
    console.log(`| ${id} (${m.kind}) | ${shape.slice(1).join('x')} | ${recipe} | ${q?.report.meanBits.weights?.toFixed(2) ?? 'float'} | ${sqnr.join('; ')} | ${seconds.toFixed(1)} |`);
  }
}

void main();
