#!/usr/bin/env node
// Runs .tflite models in TFLite 2.9 (tfjs-tflite-node) as a reference for
// nibble's tests. Reads one JSON request on stdin:
//   { "runs": [{ "model": "<path>" | "modelBase64": "...",
//                "inputs": [{ "shape": [...], "data": "<base64 float32 LE>" }] }],
//     "threads": 1 }
// and prints one JSON line with a result per run, in order:
//   { "results": [{ "outputs": [{ "name", "shape", "data" }] } | { "error": "..." }] }
// It runs in its own process because its @tensorflow/tfjs-core (4.9) must not
// meet the workspace's @tensorflow/tfjs (4.22).
'use strict';
const fs = require('node:fs');
const path = require('node:path');

const modules = path.join(__dirname, 'node_modules');
require(path.join(modules, '@tensorflow/tfjs-backend-cpu'));
const tf = require(path.join(modules, '@tensorflow/tfjs-core'));
const tflite = require(path.join(modules, 'tfjs-tflite-node'));

function toFloat32(b64) {
  const bytes = Buffer.from(b64, 'base64');
  const out = new Float32Array(bytes.byteLength / 4);
  new Uint8Array(out.buffer).set(bytes);
  return out;
}

async function run(spec, threads) {
  const file = spec.model ? fs.readFileSync(spec.model) : Buffer.from(spec.modelBase64, 'base64');
  const buffer = file.buffer.slice(file.byteOffset, file.byteOffset + file.byteLength);
  const model = await tflite.loadTFLiteModel(buffer, { threads });
  const inputs = spec.inputs.map((t) => tf.tensor(toFloat32(t.data), t.shape, 'float32'));
  const result = model.predict(inputs.length === 1 ? inputs[0] : inputs);
  const named = result instanceof tf.Tensor
    ? { [model.outputs[0].name]: result }
    : Array.isArray(result) ? Object.fromEntries(result.map((t, i) => [model.outputs[i].name, t])) : result;
  return {
    outputs: model.outputs.map((o) => {
      const t = named[o.name];
      const data = new Float32Array(t.dataSync());
      return { name: o.name, shape: t.shape, data: Buffer.from(data.buffer).toString('base64') };
    }),
  };
}

async function main() {
  const request = JSON.parse(fs.readFileSync(0, 'utf8'));
  const results = [];
  for (const spec of request.runs) {
    try {
      results.push(await run(spec, request.threads ?? 1));
    } catch (e) {
      results.push({ error: String(e && e.message ? e.message : e) });
    }
  }
  process.stdout.write(JSON.stringify({ results }) + '\n');
}

main().catch((e) => {
  process.stderr.write(`tflite-ref: ${e && e.stack ? e.stack : e}\n`);
  process.exit(1);
});
