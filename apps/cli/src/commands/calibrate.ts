import {
  calibrate, type CalibrationProgress, checkOutputPath, choosePreprocess, dataFiles, DEFAULTS, describePreprocess, loadModel, memoryLimitBytes, writeCalibrationStats,
} from 'nibble';
import { type CommandIO, forceOption, jsonOption, memoryOption, type Command } from '../shared/command';
import { batchOption, integerFlag, requiredFlag, stringFlag } from '../shared/flags';
import { ProgressBar } from '../shared/progress';

/** One bar per pass over the data; the second (exact deviations) is rare. */
function progressBars(io: CommandIO, silent: boolean): { update(p: CalibrationProgress): void; finish(): void } {
  let bar: ProgressBar | undefined;
  let pass = 0;
  return {
    update(p) {
      if (p.pass !== pass) {
        bar?.finish();
        pass = p.pass;
        bar = new ProgressBar(p.pass === 1 ? 'calibrating' : 'second pass (exact deviations)', p.samplesTotal, io, silent);
      }
      bar!.update(p.samplesDone);
    },
    finish: () => bar?.finish(),
  };
}

export const calibrateCommand: Command = {
  name: 'calibrate',
  summary: 'run the float model over calibration data and write the statistics of every activation and weight',
  usage: '<model> --data <spec> --out <stats.json> [--force] [--samples N] [--seed S] [--batch B] [--preprocess P] [--histogram BINS] [--memory-limit GiB] [--json] [--quiet]',
  positionals: [1, 1],
  options: {
    data: { type: 'string', valueName: 'spec', description: 'calibration data: fashion-mnist:calib, idx:<images>, images:<dir>, npy:<file>' },
    out: { type: 'string', valueName: 'stats.json', description: 'where to write the statistics (JSON)' },
    samples: { type: 'string', valueName: 'N', description: `samples to calibrate on, a seeded random subset (default ${DEFAULTS.calibrationSamples})` },
    seed: { type: 'string', valueName: 'S', description: 'seed of the subset (default 0)' },
    ...batchOption(DEFAULTS.calibrationBatch),
    preprocess: { type: 'string', valueName: 'steps', description: "preprocessing, e.g. 'rgb,resize=224x224,unit' (default: the dataset's preset)" },
    histogram: { type: 'string', valueName: 'BINS', description: 'also collect histograms with this many bins (8 to 1048576; memory is estimated first)' },
    ...memoryOption,
    ...forceOption,
    ...jsonOption,
  },
  async run(args, io) {
    const [modelPath] = args.positionals;
    const v = args.values;
    const data = requiredFlag(v.data, 'calibrate', 'data', 'fashion-mnist:calib');
    const out = requiredFlag(v.out, 'calibrate', 'out', 'stats.json');
    const samples = integerFlag(v.samples, 'samples', 1);
    const seed = integerFlag(v.seed, 'seed', 0);
    const batchSize = integerFlag(v.batch, 'batch', 1);
    const bins = integerFlag(v.histogram, 'histogram', 8);
    const memoryLimit = memoryLimitBytes(stringFlag(v['memory-limit']));
    // Where the statistics go is checked before the model is read: never over an input, an existing file only with --force.
    checkOutputPath(out, { inputs: [modelPath, ...dataFiles(data)], refuseExisting: !v.force, extension: { ext: '.json', what: 'calibration statistics' } });
    const model = await loadModel(modelPath);
    const preprocess = choosePreprocess(data, model, stringFlag(v.preprocess));
    if (preprocess.warning) io.err(`warning: ${preprocess.warning}`);
    const bars = progressBars(io, Boolean(v.json || v.quiet));
    const t0 = performance.now();
    let stats;
    try {
      stats = await calibrate(model, {
        data, samples, seed, batchSize, preprocess: stringFlag(v.preprocess), memoryLimit,
        histogram: bins === undefined ? false : { bins }, onProgress: (p) => bars.update(p),
      });
    } finally {
      bars.finish();
    }
    writeCalibrationStats(stats, out);
    const seconds = Math.round((performance.now() - t0) / 10) / 100;
    const summary = {
      model: modelPath, data: stats.data ?? data, samples: stats.samples, passes: stats.passes,
      activations: stats.activationNames().length, weights: stats.weightNames().length, out, seconds, preprocess,
    };
    if (v.json) io.out(JSON.stringify(summary));
    else {
      io.out(`calibrated ${modelPath} on ${summary.data}: ${summary.samples} samples, ${summary.passes} pass${summary.passes > 1 ? 'es' : ''} over the data, ${seconds} s`);
      io.out(`preprocessing: ${describePreprocess(preprocess)}`);
      io.out(`wrote ${out}: statistics of ${summary.activations} activations and ${summary.weights} weights`);
    }
    return 0;
  },
};
