import { DEFAULTS, evaluate, loadModel } from 'nibble';
import { jsonOption, type Command } from '../shared/command';
import { ProgressBar } from '../shared/progress';
import { batchOption, dataOptions, integerFlag, requiredFlag, stringFlag } from '../shared/flags';

export const evalCommand: Command = {
  name: 'eval',
  summary: 'top-1 accuracy of a model on labelled data, run in onnxruntime (a quantized model as its QDQ simulation)',
  usage: '<model> --data <spec> [--limit N] [--batch B] [--preprocess P] [--json]',
  positionals: [1, 1],
  options: {
    ...dataOptions,
    ...batchOption(DEFAULTS.evaluationBatch),
    limit: { type: 'string', valueName: 'N', description: 'evaluate the first N samples (default: all)' },
    ...jsonOption,
  },
  async run(args, io) {
    const [modelPath] = args.positionals;
    const v = args.values;
    const data = requiredFlag(v.data, 'eval', 'data', 'fashion-mnist:test');
    const limit = integerFlag(v.limit, 'limit', 1);
    const batchSize = integerFlag(v.batch, 'batch', 1);
    const model = await loadModel(modelPath);
    let bar: ProgressBar | undefined;
    const t0 = performance.now();
    let r;
    try {
      r = await evaluate(model, {
        data, limit, batchSize, preprocess: stringFlag(v.preprocess),
        onProgress: (done, total) => {
          bar ??= new ProgressBar('evaluating', total, io.interactive && !v.json);
          bar.update(done);
        },
      });
    } finally {
      bar?.finish();
    }
    const seconds = Math.round((performance.now() - t0) / 10) / 100;
    if (v.json) {
      io.out(JSON.stringify({ top1: r.top1, n: r.n, correct: r.correct, model: modelPath, data: r.data, quantized: r.quantized, seconds }));
    } else {
      io.out(`top-1: ${(100 * r.top1).toFixed(2)}% (${r.correct} of ${r.n} samples of ${r.data}${r.quantized ? ', QDQ simulation' : ''}) in ${seconds} s`);
    }
    return 0;
  },
};
