import * as fs from 'fs';
import * as path from 'path';
import type { WeightMap } from './onnx-graph';

interface WeightSpec {
  name: string;
  shape: number[];
  dtype: string;
}

/**
 * Reads the float32 weights of a TF.js layers model (model.json + its weight
 * files) by name, without TF.js: export.ts should not depend on the trainer.
 * Names are the layers' '<layer>/<weight>' names.
 */
export function readTfjsWeights(dir: string): WeightMap {
  const modelJson = JSON.parse(fs.readFileSync(path.join(dir, 'model.json'), 'utf8')) as {
    weightsManifest: { paths: string[]; weights: WeightSpec[] }[];
  };
  const out: WeightMap = new Map();
  for (const group of modelJson.weightsManifest) {
    const parts = group.paths.map((p) => fs.readFileSync(path.join(dir, p)));
    const buf = Buffer.concat(parts);
    let offset = 0;
    for (const spec of group.weights) {
      if (spec.dtype !== 'float32') throw new Error(`${dir}/model.json: weight '${spec.name}' is ${spec.dtype}; the zoo models are float32`);
      const n = spec.shape.reduce((a, b) => a * b, 1);
      if (offset + 4 * n > buf.length) throw new Error(`${dir}: weight '${spec.name}' runs past the end of the weight files`);
      const data = new Float32Array(n);
      for (let i = 0; i < n; i++) data[i] = buf.readFloatLE(offset + 4 * i);
      offset += 4 * n;
      out.set(spec.name, { shape: spec.shape, data });
    }
    if (offset !== buf.length) throw new Error(`${dir}: weight files hold ${buf.length} bytes, the manifest describes ${offset}`);
  }
  return out;
}
