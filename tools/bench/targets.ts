/*
 * Deployment targets on the zoo models (issue 11): for each model and recipe,
 * top-1 on the Fashion-MNIST test split of
 *   - sim: the recipe as the paper runs it (per-channel activations), simulated;
 *   - ort-sim: the same recipe under the ort target's constraints, simulated;
 *   - ort: the ort file as onnxruntime-node runs it with default optimizations
 *     (integer kernels), and the agreement of its top-1 with ort-sim;
 * and the op counts of onnxruntime's optimized graph of the ort file.
 *
 *   npx tsx tools/bench/targets.ts [--limit N] [--samples N] [--no-write]
 *
 * Writes the section `targets` of docs/accuracy.md.
 *
 *   npx tsx tools/bench/targets.ts --tflite [--limit N] [--samples N] [--no-write]
 *
 * The tflite targets instead: top-1 of the tflite file as TFLite 2.9 runs
 * it (tools/tflite-ref) against the simulation of the same constrained
 * scheme, and file bytes per target against the fp32 model. Writes
 * docs/targets.md (section `tflite`) and the section `target-sizes` of
 * docs/benchmarks.md.
 *
 *   npx tsx tools/bench/targets.ts --ppocr [--no-write]
 *
 * PP-OCRv4 det and rec (tools/bench/ppocr's models and data) through the
 * ort and tflite targets: SQNR of the ort file as onnxruntime runs it
 * against its simulation, and of the tflite file as TFLite 2.9 runs it
 * against its (or the writer's refusal naming the node). Writes the
 * section `targets-ppocr` of docs/accuracy.md.
 *
 *   npx tsx tools/bench/targets.ts --probe <zoo model> <recipe> [--limit N]
 *
 * Element-level: every int8 tensor of the tflite file as TFLite 2.9 computes
 * it against the simulation's levels (targets-probe.ts).
 */
import { readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Model } from '@nibble/ir';
import { lowerToQdq, readOnnx } from '@nibble/onnx';
import { compareLogits, createTfliteExecutor, evaluate, getTarget, loadModel, quantize } from 'nibble';
import { writeTflite } from '@nibble/tflite';
import * as ort from 'onnxruntime-node';
import { writeDocSection } from './shared/doc-section';
import { ppocrTargets } from './targets-ppocr';
import { probeTflite } from './targets-probe';

const MODELS = ['fmnist-resnet20', 'fmnist-vgg', 'fmnist-mobilenetv2'];
const CANONICAL = 'fold-bn,fold-constants,eliminate-dead-code,mark-fused-relu';
const RECIPES: { label: string; recipe?: string; pipeline?: string }[] = [
  { label: 'w8a8 (min/max)', pipeline: `${CANONICAL},quant-policy{w-bits=8,a-bits=8},clip-minmax,quantize` },
  { label: 'w4a8-baseline', recipe: 'w4a8-baseline' },
  { label: 'w4a4-all', recipe: 'w4a4-all' },
];

function flag(name: string, def: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : def;
}

/** Op counts of onnxruntime's optimized graph (level extended: the QDQ fusions, no layout transforms). */
export async function fusedOps(bytes: Uint8Array): Promise<Record<string, number>> {
  const file = join(tmpdir(), `nibble-ort-${process.pid}-${Date.now()}.onnx`);
  const optimized = `${file}.opt.onnx`;
  writeFileSync(file, bytes);
  try {
    await ort.InferenceSession.create(file, { graphOptimizationLevel: 'extended', optimizedModelFilePath: optimized, logSeverityLevel: 3 });
    const counts: Record<string, number> = {};
    for (const n of readOnnx(readFileSync(optimized), { checkOps: false }).graph.nodes) {
      const key = n.domain && n.domain !== 'ai.onnx' ? `${n.domain}.${n.opType}` : n.opType;
      counts[key] = (counts[key] ?? 0) + 1;
    }
    return counts;
  } finally {
    rmSync(file, { force: true });
    rmSync(optimized, { force: true });
  }
}

function argmax(logits: Float32Array, classes: number, i: number): number {
  let best = 0;
  for (let c = 1; c < classes; c++) if (logits[i * classes + c] > logits[i * classes + best]) best = c;
  return best;
}

/** TFLite 2.9 runs files of a fixed batch (tfjs-tflite does not resize inputs): the evaluation batch. */
const TFLITE_BATCH = 100;

async function tfliteTargets(): Promise<void> {
  const limit = flag('limit', 10000);
  const samples = flag('samples', 256);
  const rows: string[] = [];
  const sizes: string[] = [];
  const pct = (x: number) => (100 * x).toFixed(2);
  for (const name of MODELS) {
    const path = `models/${name}.onnx`;
    const model: Model = await loadModel(path);
    const fp32Bytes = statSync(path).size;
    const fp32 = await evaluate(model, { data: 'fashion-mnist:test', limit });
    for (const r of RECIPES) {
      const choice = { ...(r.recipe ? { recipe: r.recipe } : { pipeline: r.pipeline }), data: 'fashion-mnist:calib', samples };
      const sim = await quantize(model, choice);
      const simTop1 = await evaluate(sim.model, { data: 'fashion-mnist:test', limit });
      const q = await quantize(model, { ...choice, target: 'tflite' });
      const constrained = await evaluate(q.model, { data: 'fashion-mnist:test', limit, keepLogits: true });
      const io = { input: q.model.graph.inputs[0].name, output: q.model.graph.outputs[0].name };
      // The same file at the evaluation batch: only the batch dimension of the shapes differs.
      const bytes = writeTflite(q.model, { batch: TFLITE_BATCH });
      const t0 = performance.now();
      const tfl = await evaluate(q.model, {
        data: 'fashion-mnist:test', limit, keepLogits: true, batchSize: TFLITE_BATCH,
        executorFactory: async () => createTfliteExecutor(bytes, io, TFLITE_BATCH),
      });
      const seconds = (performance.now() - t0) / 1000;
      const a = compareLogits(constrained.logits!, tfl.logits!, constrained.classes!);
      const int4 = getTarget('tflite-int4').write(q.model).length;
      rows.push(`| ${name} | ${r.label} | ${pct(fp32.top1)} | ${pct(simTop1.top1)} | ${pct(constrained.top1)} | ${pct(tfl.top1)} | ${pct(a.agree / a.n)} | ${a.sqnrLogitsDb.toFixed(1)} | ${seconds.toFixed(0)} |`);
      sizes.push(`| ${name} | ${r.label} | ${fp32Bytes} | ${q.onnx.length} (1/${(fp32Bytes / q.onnx.length).toFixed(2)}) | ${int4} (1/${(fp32Bytes / int4).toFixed(2)}) | ${sim.onnx.length} (1/${(fp32Bytes / sim.onnx.length).toFixed(2)}) |`);
      console.log(rows.at(-1));
      console.log(sizes.at(-1));
    }
  }
  const command = `npx tsx tools/bench/targets.ts --tflite${limit !== 10000 ? ` --limit ${limit}` : ''}${samples !== 256 ? ` --samples ${samples}` : ''}`;
  const md = [
    `Top-1 (%) on the first ${limit} images of the Fashion-MNIST test split; calibration ${samples} images of fashion-mnist:calib.`,
    'sim: the recipe as written (per-channel activations), simulated exactly; tflite-sim: the same recipe under the tflite',
    'target\'s constraints (per-tensor int8 activations, integer input, symmetric per-channel filters, bias folded, each layer\'s',
    'bias the one TFLite adds in effect: tflite-bias), simulated exactly (its QDQ lowering in onnxruntime, Q/DQ run as written);',
    'TFLite 2.9: the tflite file run by TFLite 2.9',
    `(tfjs-tflite-node, tools/tflite-ref; files written at batch ${TFLITE_BATCH}, one thread); agree: identical top-1 of TFLite 2.9`,
    'vs tflite-sim; SQNR: of the TFLite logits against tflite-sim\'s; s: wall seconds of the TFLite run.',
    '',
    '| model | recipe | fp32 | sim | tflite-sim | TFLite 2.9 | agree | SQNR dB | s |',
    '|---|---|---|---|---|---|---|---|---|',
    ...rows,
    '',
    `Command: \`${command}\``,
  ].join('\n');
  const sizeMd = [
    'File bytes per target on the zoo models (fp32: the ONNX model; tflite: int8 filters; tflite-int4: filters of at most 4 bits',
    'in INT4 tensors, two per byte, the 8-bit first and last layers in int8; sim: the QDQ simulation, int4/uint4 containers).',
    '',
    '| model | recipe | fp32 bytes | tflite | tflite-int4 | sim (onnx) |',
    '|---|---|---|---|---|---|',
    ...sizes,
    '',
    `Command: \`${command}\``,
  ].join('\n');
  if (!process.argv.includes('--no-write')) {
    writeDocSection('docs/targets.md', 'tflite', `## tflite: TFLite 2.9 against the simulation of the same scheme\n\n${md}`, '# Deployment targets: what each runtime computes');
    writeDocSection('docs/benchmarks.md', 'target-sizes', `## File bytes per deployment target (issue 11)\n\n${sizeMd}`);
  }
  console.log(md);
  console.log(sizeMd);
}

async function main(): Promise<void> {
  if (process.argv.includes('--tflite')) return tfliteTargets();
  if (process.argv.includes('--ppocr')) return ppocrTargets(RECIPES, !process.argv.includes('--no-write'));
  const probe = process.argv.indexOf('--probe');
  if (probe >= 0) return probeTflite(process.argv[probe + 1], process.argv[probe + 2], flag('limit', 100));
  const limit = flag('limit', 10000);
  const samples = flag('samples', 512);
  const rows: string[] = [];
  const fusion: string[] = [];
  for (const name of MODELS) {
    const model: Model = await loadModel(`models/${name}.onnx`);
    const fp32 = await evaluate(model, { data: 'fashion-mnist:test', limit });
    for (const r of RECIPES) {
      const choice = { ...(r.recipe ? { recipe: r.recipe } : { pipeline: r.pipeline }), data: 'fashion-mnist:calib', samples };
      const sim = await quantize(model, choice);
      const simTop1 = await evaluate(sim.model, { data: 'fashion-mnist:test', limit });
      const q = await quantize(model, { ...choice, target: 'ort' });
      const constrained = await evaluate(q.model, { data: 'fashion-mnist:test', limit });
      // The same simulation with uint8 containers (4-bit grids clamped before QuantizeLinear): the ort file's arithmetic.
      const wide = await evaluate(lowerToQdq(q.model, { minContainerBits: 8 }), { data: 'fashion-mnist:test', limit, keepLogits: true });
      const file = readOnnx(q.onnx);
      const integer = await evaluate(file, { data: 'fashion-mnist:test', limit, keepLogits: true, exactQdq: false });
      const classes = wide.classes!;
      let agree = 0;
      for (let i = 0; i < integer.n; i++) if (argmax(wide.logits!, classes, i) === argmax(integer.logits!, classes, i)) agree++;
      const ops = await fusedOps(q.onnx);
      const pct = (x: number) => (100 * x).toFixed(2);
      rows.push(`| ${name} | ${r.label} | ${pct(fp32.top1)} | ${pct(simTop1.top1)} | ${pct(constrained.top1)} | ${pct(wide.top1)} | ${pct(integer.top1)} | ${pct(agree / integer.n)} | ${q.onnx.length} / ${sim.onnx.length} |`);
      fusion.push(`| ${name} | ${r.label} | ${Object.entries(ops).sort(([a], [b]) => a.localeCompare(b)).map(([k, v]) => `${k} ${v}`).join(', ')} |`);
      console.log(rows.at(-1));
      console.log(fusion.at(-1));
    }
  }
  const md = [
    `Top-1 (%) on the first ${limit} images of the Fashion-MNIST test split; calibration ${samples} images of fashion-mnist:calib.`,
    'sim: the recipe as written (per-channel activations), simulated exactly; ort-sim: the same recipe under the ort target\'s',
    'constraints (per-tensor activations, integer inputs, symmetric weights, bias folded), simulated exactly; ort: the ort file',
    'run by onnxruntime-node 1.30 with default session options (QDQ fused into integer kernels); ort-sim8: ort-sim lowered with uint8',
    'containers (4-bit grids clamped before QuantizeLinear), the same arithmetic; agree: identical top-1 of ort vs ort-sim8.',
    '',
    '| model | recipe | fp32 | sim | ort-sim | ort-sim8 | ort (integer) | agree | bytes ort / sim |',
    '|---|---|---|---|---|---|---|---|---|',
    ...rows,
    '',
    'Operators of onnxruntime\'s optimized graph of each ort file (level extended, `optimizedModelFilePath`):',
    '',
    '| model | recipe | ops after optimization |',
    '|---|---|---|',
    ...fusion,
    '',
    `Command: \`npx tsx tools/bench/targets.ts${limit !== 10000 ? ` --limit ${limit}` : ''}${samples !== 512 ? ` --samples ${samples}` : ''}\``,
  ].join('\n');
  if (!process.argv.includes('--no-write')) writeDocSection('docs/accuracy.md', 'targets', `## Deployment targets: sim vs ort (issue 11)\n\n${md}`);
  console.log(md);
}

void main().catch((e) => {
  console.error(e);
  process.exit(1);
});
