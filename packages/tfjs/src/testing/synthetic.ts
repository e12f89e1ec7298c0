import type * as TF from '@tensorflow/tfjs';
import { randomFloats } from '@nibble/testing';
import type { TfjsMemorySource } from '../source';

/** Give every weight of a TF.js model seeded random values (variances positive, so batch norms stay finite). */
export function randomizeWeights(tf: typeof TF, model: TF.LayersModel, seed: number): void {
  for (const layer of model.layers) {
    const ws = layer.getWeights();
    if (!ws.length) continue;
    layer.setWeights(layer.weights.map((w, i) => {
      const positive = /variance|gamma/.test(w.originalName);
      return tf.tensor(randomFloats(ws[i].size, seed++, positive ? 0.5 : -1, positive ? 1.5 : 1), ws[i].shape);
    }));
  }
}

/** A TF.js layers model as the converter would write it: model.json plus one shard, in memory. */
export async function layersModelSource(tf: typeof TF, model: TF.LayersModel): Promise<TfjsMemorySource> {
  let saved: TF.io.ModelArtifacts | undefined;
  await model.save(tf.io.withSaveHandler(async (a) => {
    saved = a;
    return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
  }));
  const a = saved!;
  const data = a.weightData as ArrayBuffer;
  return {
    modelJson: { format: 'layers-model', modelTopology: a.modelTopology, weightsManifest: [{ paths: ['weights.bin'], weights: a.weightSpecs }] },
    weights: { 'weights.bin': new Uint8Array(data) },
    file: model.name,
  };
}
