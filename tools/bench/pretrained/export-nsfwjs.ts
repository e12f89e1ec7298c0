/*
 * Writes a model that the nsfwjs npm package bundles as standard TF.js files
 * (model.json + binary weight shards), so that the CLI reads it like any
 * other TF.js model:
 *
 *   npx tsx tools/bench/pretrained/export-nsfwjs.ts [--model mobilenet_v2] [--out out/nsfwjs-mobilenetv2]
 *   npx tsx apps/cli/src/main.ts inspect out/nsfwjs-mobilenetv2/model.json
 *
 * nsfwjs ships each model as CommonJS modules: model.min.js exports the
 * model.json object, group1-shardKofN.min.js exports one shard as base64
 * text. The files written here are those objects and bytes unchanged (the
 * shards stay uint8-quantized as published; the importer dequantizes them),
 * so the output is byte-identical on every run. Nothing is committed: out/
 * is ignored by git.
 */
import { mkdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { writeFileAtomic } from '@nibble/data';

/** The nsfwjs models, by directory name under node_modules/nsfwjs/dist/models. */
export const NSFWJS_MODELS = ['mobilenet_v2', 'mobilenet_v2_mid', 'inception_v3'] as const;
export type NsfwjsModelName = (typeof NSFWJS_MODELS)[number];

/** nsfwjs's class order (its dist/cjs/nsfw_classes.js). */
export const NSFWJS_CLASSES = ['Drawing', 'Hentai', 'Neutral', 'Porn', 'Sexy'] as const;

// The package exports no package.json; its CommonJS entry is dist/cjs/index.js.
function modelsRoot(): string {
  return join(dirname(require.resolve('nsfwjs')), '..', 'models');
}


/**
 * Writes `<outDir>/model.json` and the shards its weightsManifest names;
 * returns the model.json path.
 */
export function exportNsfwjsModel(name: NsfwjsModelName, outDir: string): string {
  const dir = join(modelsRoot(), name);
  const modelJson = require(join(dir, 'model.min.js')) as { weightsManifest: { paths: string[] }[] };
  mkdirSync(outDir, { recursive: true });
  for (const path of modelJson.weightsManifest.flatMap((g) => g.paths)) {
    const base64 = require(join(dir, `${path}.min.js`)) as string;
    writeFileAtomic(join(outDir, path), Buffer.from(base64, 'base64'));
  }
  const jsonPath = join(outDir, 'model.json');
  writeFileAtomic(jsonPath, JSON.stringify(modelJson));
  return jsonPath;
}

if (require.main === module) {
  const { values } = parseArgs({ options: { model: { type: 'string', default: 'mobilenet_v2' }, out: { type: 'string' } } });
  const name = values.model as NsfwjsModelName;
  if (!NSFWJS_MODELS.includes(name)) {
    console.error(`--model ${name}: not an nsfwjs model; one of ${NSFWJS_MODELS.join(', ')}`);
    process.exit(2);
  }
  const out = resolve(values.out ?? join('out', `nsfwjs-${name.replace(/_/g, '')}`));
  console.log(exportNsfwjsModel(name, out));
}
