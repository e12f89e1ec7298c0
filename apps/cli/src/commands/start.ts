import { existsSync, statSync } from 'node:fs';
import { checkOutputPath, DEFAULTS, defaultModelPath, mainJobOutputs, NibbleError, runMainJob, type MainJobRow } from 'nibble';
import { forceOption, jsonOption, type Command } from '../shared/command';
import { humanCount, table } from '../shared/format';
import { integerFlag } from '../shared/flags';
import { ProgressBar } from '../shared/progress';

const DEFAULT_RECIPES = ['w4a4-baseline', 'w4a4-all'];

/**
 * The main job on the bundled default model and data: quantize the
 * Fashion-MNIST ResNet-20 with the naive W4A4 baseline and the paper's
 * W4A4 recipe, evaluate both and float32 on the bundled 10k test split.
 */
export const startCommand: Command = {
  name: 'start',
  summary: 'the main job: quantize the bundled ResNet-20 (naive and paper W4A4) and evaluate against float32',
  usage: '[--model file.onnx] [--samples N] [--seed S] [--recipes a,b] [--out dir] [--force] [--json] [--quiet]',
  positionals: [0, 0],
  options: {
    ...jsonOption,
    model: { type: 'string', valueName: 'file.onnx', description: 'float model (default: models/fmnist-resnet20.onnx)' },
    samples: { type: 'string', valueName: 'N', description: `calibration images from fashion-mnist:calib (default ${DEFAULTS.mainJobSamples})` },
    seed: { type: 'string', valueName: 'S', description: 'calibration sampling seed (default 0)' },
    recipes: { type: 'string', valueName: 'a,b', description: `recipes to compare (default ${DEFAULT_RECIPES.join(',')})` },
    out: { type: 'string', valueName: 'dir', description: 'where models, report.json and an HTML report per recipe go (default out/)' },
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
    // Every file the job will write is checked before the work: never the model, an existing one only with --force.
    for (const file of mainJobOutputs({ model, recipes, outDir })) {
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
    io.out(`\nreport: ${outDir}/report.json`);
    for (const r of report.rows) if (r.report) io.out(`HTML report of ${r.name}: ${r.report}`);
    return 0;
  },
};

function bits(b: number | null): string {
  return b === null ? '-' : b.toFixed(2);
}
