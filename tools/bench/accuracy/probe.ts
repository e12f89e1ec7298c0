/*
 * Quick comparison of pipelines on one zoo model, outside the cache: to find
 * out which part of a recipe wins or loses before a row is measured in full.
 *
 *   npx tsx tools/bench/accuracy/probe.ts --model resnet20 [--n 2000] [--samples 32] [--seed 0]
 *       name=pipeline-or-recipe [name=...]
 *
 * Prints, per pipeline, top-1, agreement with float32 and logit SQNR on the
 * first n test images (onnxruntime on one thread, as the benchmark).
 */
import { parseArgs } from 'node:util';
import { loadModel, quantize, evaluate, resolvePipelineChoice, workspaceRoot } from 'nibble';
import { join } from 'node:path';
import { measureFloat, singleThreaded } from './cell';
import { CALIBRATION_DATA, TEST_DATA, ZOO } from './config';
import { compareLogits } from './metrics';

async function main(): Promise<void> {
  const { values: args, positionals } = parseArgs({
    options: { model: { type: 'string', default: 'resnet20' }, n: { type: 'string', default: '2000' }, samples: { type: 'string', default: '32' }, seed: { type: 'string', default: '0' } },
    allowPositionals: true,
  });
  const zoo = ZOO.find((z) => z.name === args.model);
  if (!zoo) throw new Error(`--model: one of ${ZOO.map((z) => z.name).join(', ')}`);
  const model = await loadModel(join(workspaceRoot(), zoo.file));
  const n = Number(args.n);
  const ref = await measureFloat(model, n);
  console.log(`${zoo.name}: float32 top-1 ${(ref.top1 * 100).toFixed(2)} % on ${n}`);
  for (const p of positionals) {
    const eq = p.indexOf('=');
    const name = eq < 0 ? p : p.slice(0, eq);
    const text = eq < 0 ? p : p.slice(eq + 1);
    const choice = /^[a-z0-9-]+$/.test(text) ? { recipe: text } : { pipeline: text };
    const t0 = performance.now();
    const { model: q } = await quantize(model, {
      pipeline: resolvePipelineChoice(choice).text, data: CALIBRATION_DATA, samples: Number(args.samples), seed: Number(args.seed), executorFactory: singleThreaded,
    });
    const t1 = performance.now();
    const r = await evaluate(q, { data: TEST_DATA, limit: n, keepLogits: true, executorFactory: singleThreaded });
    const c = compareLogits(ref.logits, r.logits!, ref.classes);
    console.log(`${name}: top-1 ${(r.top1 * 100).toFixed(2)} %, agreement ${((c.agree / c.n) * 100).toFixed(2)} %, SQNR ${c.sqnrDb.toFixed(2)} dB (quantize ${((t1 - t0) / 1000).toFixed(1)} s)`);
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
