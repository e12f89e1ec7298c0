import * as fs from 'fs';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { writeFileAtomic } from '@nibble/data';
import { Arch, INPUT } from './arch';
import { BN_EPSILON, BN_MOMENTUM } from './forward';

/**
 * The trained network as a standard TF.js layers model (only built-in Keras
 * layers), so any reader of the TF.js layers format can load it, including
 * our own importer. Training itself uses functional code (forward.ts) because
 * the conv gradients need tf.customGrad, which a layer could only carry as a
 * custom class that standard readers cannot load.
 */
export function buildLayersModel(arch: Arch): tf.LayersModel {
  const input = tf.input({ shape: arch.inputShape, name: INPUT });
  const values = new Map<string, tf.SymbolicTensor>([[INPUT, input]]);
  const get = (n: string): tf.SymbolicTensor => values.get(n)!;
  for (const l of arch.layers) {
    let layer: tf.layers.Layer;
    let inputs: tf.SymbolicTensor | tf.SymbolicTensor[];
    switch (l.kind) {
      case 'conv':
        layer = tf.layers.conv2d({ name: l.name, filters: l.filters, kernelSize: l.kernel, strides: l.stride, padding: 'same', useBias: false });
        inputs = get(l.input);
        break;
      case 'dwconv':
        layer = tf.layers.depthwiseConv2d({ name: l.name, kernelSize: l.kernel, strides: l.stride, padding: 'same', depthMultiplier: 1, useBias: false });
        inputs = get(l.input);
        break;
      case 'bn':
        layer = tf.layers.batchNormalization({ name: l.name, axis: -1, momentum: BN_MOMENTUM, epsilon: BN_EPSILON });
        inputs = get(l.input);
        break;
      case 'relu':
        layer = tf.layers.reLU({ name: l.name });
        inputs = get(l.input);
        break;
      case 'relu6':
        layer = tf.layers.reLU({ name: l.name, maxValue: 6 });
        inputs = get(l.input);
        break;
      case 'add':
        layer = tf.layers.add({ name: l.name });
        inputs = [get(l.inputs[0]), get(l.inputs[1])];
        break;
      case 'maxpool':
        layer = tf.layers.maxPooling2d({ name: l.name, poolSize: l.size, strides: l.size, padding: 'valid' });
        inputs = get(l.input);
        break;
      case 'gap':
        layer = tf.layers.globalAveragePooling2d({ name: l.name });
        inputs = get(l.input);
        break;
      case 'dense':
        layer = tf.layers.dense({ name: l.name, units: l.units, useBias: true });
        inputs = get(l.input);
        break;
    }
    values.set(l.name, layer.apply(inputs) as tf.SymbolicTensor);
  }
  return tf.model({ name: `fmnist_${arch.name}`, inputs: input, outputs: get(arch.output) });
}

/** Copies trained values into the layers model, matching by '<layer>/<weight>' name. */
export function setLayersWeights(model: tf.LayersModel, values: Map<string, tf.Tensor>): void {
  for (const layer of model.layers) {
    const ws = layer.weights;
    if (ws.length === 0) continue;
    const next = ws.map((w) => {
      const short = `${layer.name}/${w.originalName.split('/').pop()}`;
      const v = values.get(short);
      if (!v) throw new Error(`layers model weight '${w.originalName}' (layer ${layer.name}) has no trained value '${short}'`);
      if (v.shape.join() !== w.shape.join()) throw new Error(`'${short}': trained shape ${v.shape}, layer expects ${w.shape}`);
      return v;
    });
    layer.setWeights(next);
  }
}

/** Writes model.json + weights.bin into `dir` (tfjs-node's file:// handler is unavailable here). */
export async function saveLayersModel(model: tf.LayersModel, dir: string, extra: Record<string, unknown> = {}): Promise<void> {
  await model.save(
    tf.io.withSaveHandler(async (artifacts) => {
      const weights = artifacts.weightData ? new Uint8Array(tf.io.concatenateArrayBuffers([artifacts.weightData].flat())) : new Uint8Array(0);
      const modelJson = {
        format: 'layers-model',
        generatedBy: `TensorFlow.js tfjs-layers v${tf.version_layers}`,
        convertedBy: null,
        modelTopology: artifacts.modelTopology,
        weightsManifest: [{ paths: ['weights.bin'], weights: artifacts.weightSpecs }],
        userDefinedMetadata: extra,
      };
      fs.mkdirSync(dir, { recursive: true });
      writeFileAtomic(path.join(dir, 'weights.bin'), weights);
      writeFileAtomic(path.join(dir, 'model.json'), JSON.stringify(modelJson, null, 1) + '\n');
      return { modelArtifactsInfo: tf.io.getModelArtifactsInfoForJSON(artifacts) };
    }),
  );
}

/** Reads a model written by saveLayersModel back with TF.js' own loader (a check that it is standard). */
export async function loadLayersModel(dir: string): Promise<tf.LayersModel> {
  const modelJson = JSON.parse(fs.readFileSync(path.join(dir, 'model.json'), 'utf8'));
  const bin = fs.readFileSync(path.join(dir, 'weights.bin'));
  const weightData = bin.buffer.slice(bin.byteOffset, bin.byteOffset + bin.byteLength);
  return tf.loadLayersModel(
    tf.io.fromMemory({ modelTopology: modelJson.modelTopology, weightSpecs: modelJson.weightsManifest[0].weights, weightData }),
  );
}
