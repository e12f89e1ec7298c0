import { DEFAULTS, loadModel, NibbleError, quantize, type QuantizeProgress, type QuantizeReport, resolvePipelineChoice, saveQuantized } from 'nibble';
import { jsonOption, type Command } from '../shared/command';
import { batchOption, dataOptions, integerFlag, requiredFlag, stringFlag } from '../shared/flags';
import { humanCount } from '../shared/format';
import { ProgressBar } from '../shared/progress';

/** A bar for the calibration (one per pass over the data) and one for the passes; one at a time. */
function progress(interactive: boolean): { update(p: QuantizeProgress): void; finish(): void } {
  let bar: ProgressBar | undefined;
  let key = '';
  return {
    update(p) {
      const k = p.stage === 'calibrate' ? `c${p.dataPass}` : 'p';
      if (k !== key) {
        bar?.finish();
        key = k;
        bar = p.stage === 'calibrate'
          ? new ProgressBar(p.dataPass === 2 ? 'calibrating (second pass)' : 'calibrating', p.samplesTotal ?? 0, interactive)
          : new ProgressBar('passes', p.count, interactive);
      }
      bar!.update(p.stage === 'calibrate' ? p.samplesDone ?? 0 : p.index);
    },
    finish: () => bar?.finish(),
  };
}

const bits = (b: number | null): string => (b === null ? '-' : b.toFixed(2));

function summaryLines(report: QuantizeReport, out: string, seconds: number): string[] {
  const weights = report.perTensor.filter((t) => t.kind === 'weight').length;
  const acts = report.perTensor.length - weights;
  const { float, quantized } = report.sizeBytes;
  return [
    ...(report.recipe ? [`recipe: ${report.recipe}`] : []),
    `pipeline: ${report.pipeline}`,
    ...(report.calibration ? [`calibration: ${report.calibration.samples} samples${report.calibration.data ? ` of ${report.calibration.data}` : ''}`] : []),
    `mean bits: weights ${bits(report.meanBits.weights)} (per parameter, ${weights} tensors), activations ${bits(report.meanBits.activations)} (per channel, ${acts} tensors)`,
    `size: ${humanCount(float)}B float -> ${humanCount(quantized)}B quantized (QDQ ONNX, ${(float / quantized).toFixed(2)}x smaller)`,
    `wrote ${out} in ${seconds} s`,
  ];
}

export const quantizeCommand: Command = {
  name: 'quantize',
  summary: 'quantize a float model with a recipe or a pipeline and write it as a QDQ ONNX model (int4/uint4 where it fits)',
  usage: '<model> --data <spec> (--recipe <name> | --pipeline "<passes>") --out <file.onnx> [--samples N] [--seed S] [--batch B] [--preprocess P] [--json]',
  positionals: [1, 1],
  options: {
    recipe: { type: 'string', valueName: 'name', description: 'a named recipe (nibble recipes lists them), e.g. w4a4-all' },
    pipeline: { type: 'string', valueName: 'passes', description: 'pipeline text, e.g. "fold-bn,mark-fused-relu,quant-policy,quantize"' },
    out: { type: 'string', valueName: 'file.onnx', description: 'where to write the quantized model' },
    ...dataOptions,
    ...batchOption(DEFAULTS.calibrationBatch),
    samples: { type: 'string', valueName: 'N', description: `calibration samples, a seeded random subset (default ${DEFAULTS.calibrationSamples} or the dataset size)` },
    seed: { type: 'string', valueName: 'S', description: `seed of the subset (default ${DEFAULTS.seed})` },
    ...jsonOption,
  },
  async run(args, io) {
    const [modelPath] = args.positionals;
    const v = args.values;
    // Everything the user can get wrong is checked before the model is read.
    const choice = resolvePipelineChoice({ recipe: stringFlag(v.recipe), pipeline: stringFlag(v.pipeline) });
    const out = requiredFlag(v.out, 'quantize', 'out', 'model-w4a4.onnx');
    const data = requiredFlag(v.data, 'quantize', 'data', 'fashion-mnist:calib');
    if (!out.toLowerCase().endsWith('.onnx')) {
      throw new NibbleError('E_BAD_OPTION', `--out ${out}: the quantized model is written as ONNX; give a path ending in .onnx`, { option: 'out', file: out });
    }
    const samples = integerFlag(v.samples, 'samples', 1);
    const seed = integerFlag(v.seed, 'seed', 0);
    const batchSize = integerFlag(v.batch, 'batch', 1);
    const model = await loadModel(modelPath);
    const bar = progress(io.interactive && !v.json);
    const t0 = performance.now();
    let result;
    try {
      result = await quantize(model, {
        ...(choice.recipe ? { recipe: choice.recipe } : { pipeline: choice.text }),
        data, preprocess: stringFlag(v.preprocess), samples, seed, batchSize,
        onProgress: (p) => bar.update(p),
      });
    } finally {
      bar.finish();
    }
    saveQuantized(result.model, out);
    const seconds = Math.round((performance.now() - t0) / 10) / 100;
    const r = result.report;
    for (const w of r.warnings) io.err(`warning: ${w}`);
    if (v.json) {
      io.out(JSON.stringify({
        model: modelPath, out, recipe: r.recipe ?? null, pipeline: r.pipeline, pipelineFull: r.pipelineFull, meanBits: r.meanBits,
        sizeBytes: r.sizeBytes, calibration: r.calibration ?? null, seconds, warnings: r.warnings, perTensor: r.perTensor,
      }, null, 2));
    } else {
      io.out(summaryLines(r, out, seconds).join('\n'));
    }
    return 0;
  },
};
