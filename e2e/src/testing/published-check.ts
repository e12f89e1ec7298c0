import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { IO_TRANSPOSES_KEY, type Model, Tensor } from '@nibble/ir';
import { createOrtExecutor } from '@nibble/runtime';
import { applyPreprocess, decodeImage, parsePreprocess } from '@nibble/data';
import { fixturePhoto, maxAbsError, maxRelError, nhwcToNchw, randomFloats, runTfliteRef, tfWasm } from '@nibble/testing';
import { readTfjsModel } from '@nibble/tfjs';
import { readTfliteFile } from '@nibble/tflite';
import { type PublishedModel, publishedModelPath } from './published-models';

/*
 * One published model imported, run through the IR in onnxruntime and run in
 * its own runtime (TF.js wasm for TF.js graph models, TFLite 2.9 for .tflite)
 * on the same input: a photo in [0, 1] where the input is an RGB image, else
 * seeded uniform values. Outputs compared by max |a - ref| / max |ref|.
 */

export interface SourceInput {
  name: string;
  /** TensorFlow (NHWC) shape, batch fixed to 1. */
  shape: number[];
  dtype: 'float32' | 'int32';
  /** NHWC data. */
  data: Float32Array;
}

export interface OutputError {
  name: string;
  shape: number[];
  rel: number;
  abs: number;
}

/** The acceptance bar: 1e-4 of the output's scale, or 1e-7 absolute for outputs whose whole scale is tiny (a probability near 0). */
export const withinTolerance = (e: OutputError): boolean => e.rel <= 1e-4 || e.abs <= 1e-7;

export async function importPublished(m: PublishedModel): Promise<Model> {
  const path = publishedModelPath(m);
  return m.kind === 'tflite' ? readTfliteFile(path) : readTfjsModel(path);
}

/** The input the check feeds: a photo for an RGB image in [0, 1] (0..255 for int32 inputs and where the model's library feeds raw pixels), else seeded noise. */
export function sourceInput(model: Model, pixelScale: 1 | 255 = 1): SourceInput {
  const v = model.graph.inputs[0];
  const perm = (JSON.parse(model.metadata.get(IO_TRANSPOSES_KEY) ?? '{}') as { inputs?: Record<string, number[]> }).inputs?.[v.name];
  const ir = (v.type?.shape ?? []).map((d, i) => (typeof d === 'number' ? d : i === 0 ? 1 : NaN));
  if (ir.some((d) => Number.isNaN(d))) throw new Error(`${v.name}: input shape [${v.type?.shape?.join(',')}] is not fixed`);
  // The IR input is NCHW where the source was NHWC (perm maps NHWC axes to NCHW).
  const shape = perm ? [ir[0], ir[2], ir[3], ir[1]] : ir;
  const dtype = v.type?.dtype === 'int32' ? 'int32' : 'float32';
  const size = shape.reduce((a, b) => a * b, 1);
  let data: Float32Array;
  if (shape.length === 4 && shape[3] === 3) {
    const steps = parsePreprocess(`rgb,resize=${shape[2]}x${shape[1]},unit`);
    data = applyPreprocess(steps, decodeImage(readFileSync(fixturePhoto('astronaut.jpg')), 'astronaut.jpg')).data;
    if (dtype === 'int32') data = data.map((x) => Math.round(x * 255));
    else if (pixelScale === 255) data = data.map((x) => x * 255);
    if (data.length !== size) throw new Error(`photo resized to ${data.length} values, expected ${size}`);
  } else {
    data = randomFloats(size, 17, 0, 1);
  }
  return { name: v.name, shape, dtype, data };
}

function irInput(model: Model, x: SourceInput): Tensor {
  const perm = (JSON.parse(model.metadata.get(IO_TRANSPOSES_KEY) ?? '{}') as { inputs?: Record<string, number[]> }).inputs?.[x.name];
  if (x.dtype === 'int32') return new Tensor('int32', x.shape, Int32Array.from(x.data));
  if (!perm) return new Tensor('float32', x.shape, x.data);
  const [n, h, w, c] = x.shape;
  return new Tensor('float32', [n, c, h, w], nhwcToNchw(x.data, x.shape));
}

/** Reference outputs by name (NHWC as the source runtime gives them). */
type Reference = Map<string, { shape: number[]; data: Float32Array }>;

async function tfjsReference(path: string, x: SourceInput, outputNames: string[]): Promise<Reference> {
  const tf = await tfWasm();
  const json = JSON.parse(readFileSync(path, 'utf8')) as { modelTopology: object; weightsManifest: { paths: string[]; weights: object[] }[]; format?: string; userDefinedMetadata?: { signature?: { outputs?: Record<string, { name?: string }> } } };
  const shards = json.weightsManifest.flatMap((g) => g.paths.map((p) => readFileSync(join(dirname(path), p))));
  const all = Buffer.concat(shards);
  const g = await tf.loadGraphModel(tf.io.fromMemory({
    modelTopology: json.modelTopology,
    weightSpecs: json.weightsManifest.flatMap((m) => m.weights) as never,
    weightData: all.buffer.slice(all.byteOffset, all.byteOffset + all.byteLength) as ArrayBuffer,
    format: json.format,
  }));
  const input = tf.tensor(x.dtype === 'int32' ? Int32Array.from(x.data) : x.data, x.shape, x.dtype);
  const refs = Object.values(json.userDefinedMetadata?.signature?.outputs ?? {}).map((o) => o.name ?? '').filter(Boolean);
  const names = refs.length ? refs : outputNames;
  const outs = (await g.executeAsync(input, names)) as import('@tensorflow/tfjs').Tensor | import('@tensorflow/tfjs').Tensor[];
  const list = Array.isArray(outs) ? outs : [outs];
  const ref: Reference = new Map();
  list.forEach((t, i) => ref.set(names[i].replace(/:\d+$/, ''), { shape: t.shape, data: Float32Array.from(t.dataSync()) }));
  tf.dispose([input, ...list]);
  g.dispose();
  return ref;
}

function tfliteReference(path: string, x: SourceInput): Reference {
  const [r] = runTfliteRef([{ model: path, inputs: [{ shape: x.shape, data: x.data }] }]);
  if (typeof r === 'string') throw new Error(`TFLite 2.9 failed: ${r}`);
  return new Map(r.map((o) => [o.name, { shape: o.shape, data: o.data }]));
}

/** Import, run both ways, and measure every output's error. */
export async function checkPublished(m: PublishedModel, model?: Model): Promise<OutputError[]> {
  const imported = model ?? (await importPublished(m));
  const path = publishedModelPath(m);
  const x = sourceInput(imported, m.pixelScale);
  const outputNames = imported.graph.outputs.map((o) => o.name);
  const ref = m.kind === 'tflite' ? tfliteReference(path, x) : await tfjsReference(path, x, outputNames);
  const transposes = (JSON.parse(imported.metadata.get(IO_TRANSPOSES_KEY) ?? '{}') as { outputs?: Record<string, number[]> }).outputs ?? {};
  const ex = await createOrtExecutor(imported, { backend: 'node' });
  try {
    const out = await ex.run({ [x.name]: irInput(imported, x) });
    return outputNames.map((name) => {
      const r = ref.get(name);
      if (!r) throw new Error(`the reference has no output ${name} (it has ${[...ref.keys()].join(', ')})`);
      const mine = Float32Array.from(out[name].data as ArrayLike<number>);
      const want = transposes[name] && r.shape.length === 4 ? nhwcToNchw(r.data, r.shape) : r.data;
      return { name, shape: r.shape, rel: maxRelError(mine, want), abs: maxAbsError(mine, want) };
    });
  } finally {
    await ex.dispose();
  }
}
