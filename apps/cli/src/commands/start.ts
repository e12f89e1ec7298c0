import { existsSync, statSync } from 'node:fs';
import { checkOutputPath, DEFAULTS, defaultModelPath, mainJobOutputs, NibbleError, runMainJob, type MainJobReport, type MainJobRow } from 'nibble';
import { forceOption, jsonOption, type Command } from '../shared/command';
import { humanCount, table } from '../shared/format';
import { integerFlag } from '../shared/flags';
import { ProgressBar } from '../shared/progress';

const DEFAULT_RECIPES = ['w4a4-baseline', 'w4a4-all', 'nibble-w4a4'];
/** The recipe written for every deployment target and timed on the int4 kernels ('none' skips that part). */
const DEFAULT_DEPLOY_RECIPE = 'w4a4-baseline';

/**
 * The main job on the bundled default model and data: quantize the
 * Fashion-MNIST ResNet-20 with the naive W4A4 baseline and the paper's
 * W4A4 recipe, evaluate both and float32 on the bundled 10k test split.
 */
export const startCommand: Command = {
  name: 'start',
  summary: 'the main job: quantize the bundled ResNet-20 (naive, paper and nibble W4A4), evaluate against float32, write every deployment target and time the int4 kernels',
  usage: '[--model file.onnx] [--samples N] [--seed S] [--recipes a,b] [--deploy recipe|none] [--out dir] [--force] [--json] [--quiet]',
  positionals: [0, 0],
  options: {
    ...jsonOption,
    model: { type: 'string', valueName: 'file.onnx', description: 'float model (default: models/fmnist-resnet20.onnx)' },
    samples: { type: 'string', valueName: 'N', description: `calibration images from fashion-mnist:calib (default ${DEFAULTS.mainJobSamples})` },
    seed: { type: 'string', valueName: 'S', description: 'calibration sampling seed (default 0)' },
    recipes: { type: 'string', valueName: 'a,b', description: `recipes to compare (default ${DEFAULT_RECIPES.join(',')})` },
    out: { type: 'string', valueName: 'dir', description: 'where models, report.json and an HTML report per recipe go (default out/)' },
    deploy: { type: 'string', valueName: 'recipe', description: `recipe written for every deployment target (sim, ort, wasm, tflite, tflite-int4), each file measured where it runs, the int4 kernels timed against onnxruntime-web; 'none' skips it (default ${DEFAULT_DEPLOY_RECIPE})` },
    ...forceOption,
  },
  async run(args, io) {
    const model = (args.values.model as string | undefined) ?? defaultModelPath();
    if (!existsSync(model)) {
      throw new NibbleError('E_FILE_NOT_FOUND', `${model}: the main job's model is missing`, {
        file: model,
        hint: 'the zoo models are committed under models/; train and export them with tools/zoo (see tools/zoo/README.md), or pass --model',
      });
    }
    const samples = integerFlag(args.values.samples, 'samples', 1) ?? DEFAULTS.mainJobSamples;
    const seed = integerFlag(args.values.seed, 'seed', 0) ?? 0;
    const recipes = ((args.values.recipes as string | undefined) ?? DEFAULT_RECIPES.join(',')).split(',').map((r) => r.trim()).filter(Boolean);
    const outDir = (args.values.out as string | undefined) ?? 'out';
    if (existsSync(outDir) && !statSync(outDir).isDirectory()) {
      throw new NibbleError('E_BAD_OPTION', `${outDir}: --out is a file; the main job writes a directory of results`, { file: outDir, option: 'out', hint: 'name a directory (it is created when missing)' });
    }
    const deployRecipe = (args.values.deploy as string | undefined) ?? DEFAULT_DEPLOY_RECIPE;
    const deploy = deployRecipe === 'none' ? undefined : { recipe: deployRecipe };
    // Every file the job will write is checked before the work: never the model, an existing one only with --force.
    for (const file of mainJobOutputs({ model, recipes, outDir, deploy })) {
      if (existsSync(outDir)) checkOutputPath(file, { inputs: [model], refuseExisting: !args.values.force });
    }
    let bar: ProgressBar | undefined;
    let stage = '';
    const report = await runMainJob({
      model,
      calibration: 'fashion-mnist:calib',
      test: 'fashion-mnist:test',
      samples,
      seed,
      recipes,
      outDir,
      ...(deploy ? { deploy } : {}),
      onProgress: (name, done, total) => {
        if (name !== stage) {
          bar?.finish();
          stage = name;
          bar = new ProgressBar(name.padEnd(28), total, io, Boolean(args.values.json || args.values.quiet));
        }
        bar?.update(done);
      },
    });
    bar?.finish();
    if (args.values.json) {
      io.out(JSON.stringify(report, null, 2));
      return 0;
    }
    io.out(`nibble main job: ${report.model}`);
    io.out(`calibration: ${report.calibration.samples} images of ${report.calibration.data} (seed ${report.calibration.seed}); test: ${report.test}`);
    io.out('');
    io.out(table(
      ['model', 'top-1 %', 'agrees with float %', 'weight bits', 'activation bits', 'size', 'file'],
      report.rows.map((r: MainJobRow) => [
        r.name, (100 * r.top1).toFixed(2), r.agreement === undefined ? '-' : (100 * r.agreement).toFixed(2),
        bits(r.meanBitsWeights), bits(r.meanBitsActivations), `${humanCount(r.sizeBytes)}B`, r.file,
      ]),
    ));
    for (const r of report.rows) if (r.pipeline) io.out(`\n${r.name}: ${r.pipeline}`);
    if (report.deploy) printDeploy(report.deploy, io.out);
    io.out(`\nreport: ${outDir}/report.json`);
    for (const r of report.rows) if (r.report) io.out(`HTML report of ${r.name}: ${r.report}`);
    return 0;
  },
};

function printDeploy(d: NonNullable<MainJobReport['deploy']>, out: (line: string) => void): void {
  const pct = (x: number | null) => (x === null ? '-' : (100 * x).toFixed(2));
  out(`\ndeployable files: recipe ${d.recipe} written for every target (float32 file ${humanCount(d.floatBytes)}B)`);
  out(table(
    ['target', 'size', 'x smaller', 'top-1 %', 'agrees with float %', 'measured in', 'file'],
    d.rows.map((r) => [r.target, `${humanCount(r.bytes)}B`, (d.floatBytes / r.bytes).toFixed(2), pct(r.top1), pct(r.agreement), r.note && r.top1 === null ? `${r.runtime}: ${r.note}` : r.runtime, r.file]),
  ));
  const w = d.wasm;
  out(`\nint4 WebAssembly kernels on ${w.file} (${w.n} test images): top-1 ${pct(w.top1Wasm)} %, the same file in onnxruntime's simulation ${pct(w.top1Simulation)} %; identical predictions ${pct(w.identical)} %`);
  const fp32 = d.latency.find((r) => r.backend === 'ort-wasm');
  out('latency, batch 1, one thread, one test image, median (p90) of each backend run in turn:');
  out(table(
    ['backend', 'median ms', 'p90 ms', 'vs ort-web fp32', 'weights', 'arena'],
    d.latency.map((r) => [
      r.backend === 'wasm' ? 'nibble int4 (wasm)' : r.backend === 'ort-wasm' ? 'onnxruntime-web fp32' : 'onnxruntime-web int8 QDQ',
      r.latencyMs.median.toFixed(2), r.latencyMs.p90.toFixed(2), fp32 ? `${(fp32.latencyMs.median / r.latencyMs.median).toFixed(2)}x` : '-',
      r.weightBytes === null ? '-' : `${humanCount(r.weightBytes)}B`, r.arenaBytes === null ? '-' : `${humanCount(r.arenaBytes)}B`,
    ]),
  ));
}

function bits(b: number | null): string {
  return b === null ? '-' : b.toFixed(2);
}
