/*
 * An experiment, not a product pass: how much the quantization of
 * MobileNetV2 would gain if activation ranges stopped at the upper bound of
 * the ReLU6 (Clip(0, 6)) that reads them. mark-fused-relu uses Clip's lower
 * bound (the range becomes [0, hi]) but not its upper one, so a conv output
 * whose calibration maximum is 40 spreads its levels over [0, 40] although
 * the Clip keeps only [0, 6].
 *
 *   npx tsx tools/bench/pretrained/relu6-cap.ts   (after nsfwjs-w4a4.ts has exported the model)
 *
 * For each pipeline it prints held-out agreement, KL and logit SQNR without
 * and with `cap-clip-max` (registered here) run just before `quantize`.
 */
import { join } from 'node:path';
import { definePass, registerPass } from '@nibble/core';
import { openDataset } from '@nibble/data';
import type { Model, Node } from '@nibble/ir';
import { lowerToQdq } from '@nibble/onnx';
import { createOrtExecutor } from '@nibble/runtime';
import { loadModel, quantize, workspaceRoot } from 'nibble';
import { compareLogits } from './agreement';

const ROOT = workspaceRoot();
const PREPROCESS = 'rgb,resize=224x224,unit';
const CANONICAL = 'fold-bn,fold-constants,eliminate-dead-code,mark-fused-relu';

function clipMax(node: Node): number | undefined {
  if (node.opType !== 'Clip') return undefined;
  const a = node.attributes.get('max');
  if (a) return a.type === 'float' ? a.value : undefined;
  const t = node.inputs[2]?.const;
  return t && t.size === 1 ? t.toFloat64()[0] : undefined;
}

let capped = 0;
registerPass(definePass({
  name: 'cap-clip-max',
  summary: 'experiment: lower each activation range end to the largest Clip max among its readers',
  options: {},
  preserves: 'all',
  run(graph) {
    capped = 0;
    for (const v of graph.nodes.flatMap((n) => n.outputs)) {
      const range = v.quant?.range;
      if (!range || v.uses.length === 0) continue;
      const maxes = v.uses.map((u) => (u.index === 0 ? clipMax(u.node) : undefined));
      if (maxes.some((m) => m === undefined)) continue;
      const cap = Math.max(...(maxes as number[]));
      const hi = range.hi as Float64Array;
      for (let c = 0; c < hi.length; c++) {
        if (hi[c] > cap) {
          hi[c] = cap;
          capped++;
        }
      }
    }
    return { graph, modified: capped > 0 };
  },
}));

async function logits(model: Model): Promise<Float32Array> {
  const dataset = await openDataset(`images:${join('data', 'photos', 'heldout')}`, { preprocess: PREPROCESS, cwd: ROOT });
  const name = model.graph.nodes.find((n) => n.opType === 'Softmax')!.inputs[0]!.name;
  const executor = await createOrtExecutor(model, { extraOutputs: [name] });
  const out: number[] = [];
  for await (const batch of dataset.batches({ batchSize: 8 })) {
    out.push(...((await executor.run({ [model.graph.inputs[0].name]: batch.inputs }, [name]))[name].data as Float32Array));
  }
  await executor.dispose();
  return Float32Array.from(out);
}

const PIPELINES: [string, string, string][] = [
  ['A8 only', 'quant-policy{w-bits=8,a-bits=8,weights=false},clip-minmax', ''],
  ['W4A4 min/max', 'quant-policy{w-bits=4,a-bits=4},clip-minmax', ''],
  ['w4a4-all', 'quant-policy{w-bits=4,a-bits=4},clip-minmax{target=weights},clip-aciq{dist=laplace},alloc-bits{target=weights,budget=4},alloc-bits{target=activations,budget=4}', ',bias-correct{mode=mean}'],
];

async function main(): Promise<void> {
  const model = await loadModel(join(ROOT, 'out', 'nsfwjs-mobilenetv2', 'model.json'));
  const reference = await logits(model);
  for (const [label, head, tail] of PIPELINES) {
    for (const cap of [false, true]) {
      const pipeline = `${CANONICAL},${head}${cap ? ',cap-clip-max' : ''},quantize${tail}`;
      const q = await quantize(model, { pipeline, data: `images:${join(ROOT, 'data', 'photos', 'calib')}`, preprocess: PREPROCESS, batchSize: 8 });
      const a = compareLogits(reference, await logits(lowerToQdq(q.model)), 5);
      console.log(`${label.padEnd(13)} ${cap ? `capped (${capped} channels)`.padEnd(24) : 'as the recipes do'.padEnd(24)} agree ${a.agree}/${a.n}  mean KL ${a.meanKl.toFixed(4)}  logit SQNR ${a.sqnrLogitsDb.toFixed(1)} dB`);
    }
  }
}

main().catch((e) => {
  console.error(e instanceof Error ? e.message : e);
  process.exit(1);
});
