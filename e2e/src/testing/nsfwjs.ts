import { dirname, join } from 'node:path';
import type { readTfjsModel } from '@nibble/tfjs';

/** A TF.js model given in memory (model.json and its shards), as readTfjsModel takes it. */
type TfjsMemorySource = Exclude<Parameters<typeof readTfjsModel>[0], string>;

/*
 * The nsfwjs package ships its models as CommonJS modules: model.min.js
 * exports the model.json object, each group1-shardKofN.min.js a shard as
 * base64 text.
 */

export const NSFWJS_MODELS = {
  mobilenet_v2: { shards: 1, size: 224, format: 'layers-model' },
  mobilenet_v2_mid: { shards: 2, size: 224, format: 'graph-model' },
  inception_v3: { shards: 6, size: 299, format: 'layers-model' },
} as const;

export type NsfwjsModel = keyof typeof NSFWJS_MODELS;

// The package exports no package.json; its CommonJS entry is dist/cjs/index.js.
const root = (): string => join(dirname(require.resolve('nsfwjs')), '..', 'models');

export function nsfwjsSource(name: NsfwjsModel): TfjsMemorySource & { weights: Record<string, string>; modelJson: Record<string, unknown> } {
  const dir = join(root(), name);
  const n = NSFWJS_MODELS[name].shards;
  const modelJson = require(join(dir, 'model.min.js')) as Record<string, unknown>;
  const weights: Record<string, string> = {};
  for (let i = 1; i <= n; i++) {
    weights[`group1-shard${i}of${n}`] = require(join(dir, `group1-shard${i}of${n}.min.js`)) as string;
  }
  return { modelJson, weights, file: `nsfwjs/${name}` };
}

/** The same model as TF.js artifacts (weight specs and one buffer), for tf.io.fromMemory. */
export function nsfwjsArtifacts(src: ReturnType<typeof nsfwjsSource>): { modelTopology: object; weightSpecs: object[]; weightData: ArrayBuffer; format?: string } {
  const manifest = src.modelJson.weightsManifest as { paths: string[]; weights: object[] }[];
  const parts = manifest.flatMap((g) => g.paths.map((p) => Buffer.from(src.weights[p], 'base64')));
  const all = Buffer.concat(parts);
  return {
    modelTopology: src.modelJson.modelTopology as object,
    weightSpecs: manifest.flatMap((g) => g.weights),
    weightData: all.buffer.slice(all.byteOffset, all.byteOffset + all.byteLength) as ArrayBuffer,
    format: src.modelJson.format as string | undefined,
  };
}
