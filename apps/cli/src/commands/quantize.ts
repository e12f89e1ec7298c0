import {
  batchForModel, checkOutputPath, checkPlanQuantizes, checkSavePath, codeEntropyOf, type CodeEntropy, dataFiles, DEFAULTS, describePlan, describePreprocess, getPass, loadModel, planQuantization,
  printGraph, quantize, type QuantizeProgress, type QuantizeReport, saveQuantized, writeQuantizeReport,
} from 'nibble';
import { type CommandIO, forceOption, jsonOption, type Command } from '../shared/command';
import { batchOption, dataOptions, integerFlag, requiredFlag, stringFlag } from '../shared/flags';
import { loadPluginFlags, pluginOption } from '../shared/plugins';
import { humanCount } from '../shared/format';
import { ProgressBar } from '../shared/progress';

/** A bar for the calibration (one per pass over the data) and one for the passes; one at a time. */
function progress(io: CommandIO, silent: boolean): { update(p: QuantizeProgress): void; finish(): void } {
  let bar: ProgressBar | undefined;
  let key = '';
  return {
    update(p) {
      const k = p.stage === 'calibrate' ? `c${p.dataPass}` : 'p';
      if (k !== key) {
        bar?.finish();
        key = k;
        bar = p.stage === 'calibrate'
          ? new ProgressBar(p.dataPass === 2 ? 'calibrating (second pass)' : 'calibrating', p.samplesTotal ?? 0, io, silent)
          : new ProgressBar('passes', p.count, io, silent);
      }
      bar!.update(p.stage === 'calibrate' ? p.samplesDone ?? 0 : p.index);
    },
    finish: () => bar?.finish(),
  };
}

const bits = (b: number | null): string => (b === null ? '-' : b.toFixed(2));

function entropyLine(e: CodeEntropy): string {
  const of = (x: number | null) => (x === null ? 'n/a' : x.toFixed(2));
  return `code entropy: weights ${of(e.meanBits.weights)} bits per value, activations ${of(e.meanBits.activations)}${e.meanBits.activations === null ? ' (no calibration histograms)' : ' (on calibration)'}`;
}

function summaryLines(report: QuantizeReport, out: string, seconds: number): string[] {
  const weights = report.perTensor.filter((t) => t.kind === 'weight').length;
  const acts = report.perTensor.length - weights;
  const { float, quantized } = report.sizeBytes;
  return [
    ...(report.recipe ? [`recipe: ${report.recipe}`] : []),
    `pipeline: ${report.pipeline}`,
    ...(report.preprocess ? [`preprocessing: ${describePreprocess(report.preprocess)}; written into ${out}`] : []),
    ...(report.calibration ? [`calibration: ${report.calibration.samples} samples${report.calibration.data ? ` of ${report.calibration.data}` : ''}`] : []),
    `mean bits: weights ${bits(report.meanBits.weights)} (per parameter, ${weights} tensors), activations ${bits(report.meanBits.activations)} (per channel, ${acts} tensors)`,
    `size: ${humanCount(float)}B float -> ${humanCount(quantized)}B quantized (${report.target.startsWith('tflite') ? `full-integer TFLite, target ${report.target}` : 'QDQ ONNX'}, ${(float / quantized).toFixed(2)}x smaller)`,
    `wrote ${out} in ${seconds} s`,
  ];
}

/** Each pass's share of the run (--timing): its own time, and the analyses computed before it. */
function timingTable(r: QuantizeReport): string {
  const total = r.timings.totalMs || 1;
  const lines = r.timings.passes.map((p, i) => {
    const ms = p.ms + p.analysesMs;
    return `${ms.toFixed(1).padStart(9)} ms ${((100 * ms) / total).toFixed(1).padStart(5)}%  ${i + 1}/${r.timings.passes.length} ${p.pass}${p.analysesMs >= 0.05 ? ` (analyses ${p.analysesMs.toFixed(1)} ms)` : ''}`;
  });
  lines.push(`${r.timings.totalMs.toFixed(1).padStart(9)} ms 100.0%  total (calibration runs inside the first pass that reads it)`);
  return lines.join('\n');
}

function planJson(plan: ReturnType<typeof planQuantization>): Record<string, unknown> {
  return {
    recipe: plan.recipe ?? null, target: plan.target, pipeline: plan.pipeline, pipelineFull: plan.pipelineFull,
    passes: plan.invocations.map((inv) => inv.pass.format(inv.options, 'all')), calibration: plan.calibration,
  };
}

export const quantizeCommand: Command = {
  name: 'quantize',
  summary: 'quantize a float model with a recipe or a pipeline and write it as a QDQ ONNX model (int4/uint4 where it fits)',
  usage: '<model> --data <spec> (--recipe <name> | --pipeline "<passes>") --out <file.onnx|file.nbz|file.tflite> [--target sim|ort|tflite|tflite-int4] [--report file.html] [--force] [--samples N] [--seed S] [--batch B] [--preprocess P] [--dry-run] [--timing] [--print-ir-after <pass|all>] [--allow-unquantized] [--plugin <module>]... [--json] [--quiet]',
  positionals: [1, 1],
  options: {
    recipe: { type: 'string', valueName: 'name', description: 'a named recipe (nibble recipes lists them), e.g. w4a4-all' },
    pipeline: { type: 'string', valueName: 'passes', description: 'pipeline text, e.g. "fold-bn,mark-fused-relu,quant-policy,quantize"' },
    out: { type: 'string', valueName: 'file.onnx', description: 'where to write the quantized model (.nbz: the ONNX file with its weights entropy-coded)' },
    ...dataOptions,
    ...batchOption(DEFAULTS.calibrationBatch),
    samples: { type: 'string', valueName: 'N', description: `calibration samples, a seeded random subset (default ${DEFAULTS.calibrationSamples} or the dataset size)` },
    seed: { type: 'string', valueName: 'S', description: `seed of the subset (default ${DEFAULTS.seed})` },
    target: { type: 'string', valueName: 'sim|ort|tflite|tflite-int4', description: 'where the file runs: sim (exact simulation, default), ort (onnxruntime integer kernels), tflite (full-integer .tflite) or tflite-int4 (INT4 filters); its constraints join the pipeline' },
    'dry-run': { type: 'boolean', description: 'print the plan (passes with every option, what calibration collects) and stop: no model or data is read' },
    timing: { type: 'boolean', description: 'print each pass\'s wall time and share of the run on stderr' },
    'print-ir-after': { type: 'string', valueName: 'pass|all', description: 'print the graph as IR text on stderr after each run of that pass (or after every pass)' },
    'allow-unquantized': { type: 'boolean', description: 'accept a pipeline that quantizes nothing (the output is then a float copy); an error otherwise' },
    report: { type: 'string', valueName: 'file.html', description: 'also write a self-contained HTML report: pipeline, per-layer ranges and bits, histograms' },
    ...pluginOption,
    ...forceOption,
    ...jsonOption,
  },
  async run(args, io) {
    const [modelPath] = args.positionals;
    const v = args.values;
    await loadPluginFlags(v.plugin);
    // Everything the user can get wrong is checked before the model is read: one plan, used as it is.
    const choice = {
      recipe: stringFlag(v.recipe), pipeline: stringFlag(v.pipeline), target: stringFlag(v.target),
      samples: integerFlag(v.samples, 'samples', 1), seed: integerFlag(v.seed, 'seed', 0), batchSize: integerFlag(v.batch, 'batch', 1),
    };
    let plan = planQuantization(choice);
    checkPlanQuantizes(plan, Boolean(v['allow-unquantized']));
    const printAfter = stringFlag(v['print-ir-after']);
    if (printAfter !== undefined && printAfter !== 'all') getPass(printAfter);
    if (v['dry-run']) {
      io.out(v.json ? JSON.stringify({ model: modelPath, ...planJson(plan) }, null, 2) : describePlan(plan).join('\n'));
      return 0;
    }
    const out = requiredFlag(v.out, 'quantize', 'out', 'model-w4a4.onnx');
    const data = requiredFlag(v.data, 'quantize', 'data', 'fashion-mnist:calib');
    const inputs = [modelPath, ...dataFiles(data)];
    checkSavePath(out, { inputs, refuseExisting: !v.force }, plan.target);
    const reportPath = stringFlag(v.report);
    if (reportPath !== undefined) {
      checkOutputPath(reportPath, { inputs: [...inputs, out], refuseExisting: !v.force, option: 'report', extension: { ext: '.html', what: 'the report' } });
    }
    const model = await loadModel(modelPath);
    // A model with a fixed batch calibrates in it (a --batch it cannot take is an error naming both).
    const batch = batchForModel(model, choice.batchSize, DEFAULTS.calibrationBatch, modelPath);
    if (plan.calibration && plan.calibration.batchSize !== batch) plan = planQuantization({ ...choice, batchSize: batch });
    const bar = progress(io, Boolean(v.json || v.quiet));
    const t0 = performance.now();
    let result;
    try {
      result = await quantize(model, {
        plan, data, preprocess: stringFlag(v.preprocess), allowUnquantized: Boolean(v['allow-unquantized']),
        onProgress: (p) => bar.update(p),
        ...(printAfter ? {
          instrument: {
            afterPass: (record, graph) => {
              if (printAfter === 'all' || record.pass === printAfter) io.err(`// after ${record.index + 1}/${plan.invocations.length} ${record.invocation}\n${printGraph(graph)}`);
            },
          },
        } : {}),
      });
    } finally {
      bar.finish();
    }
    saveQuantized(result, out);
    if (reportPath !== undefined) writeQuantizeReport(result, reportPath, { model: modelPath, out });
    const seconds = Math.round((performance.now() - t0) / 10) / 100;
    const r = result.report;
    for (const w of r.warnings) io.err(`warning: ${w}`);
    if (v.timing) io.err(timingTable(r));
    // What an entropy coder (--out .nbz) can reach: the codes' entropy per channel and per value (issue 19).
    const entropy = codeEntropyOf(result.model, result.calibration);
    if (v.json) {
      io.out(JSON.stringify({
        model: modelPath, out, recipe: r.recipe ?? null, pipeline: r.pipeline, pipelineFull: r.pipelineFull, meanBits: r.meanBits,
        sizeBytes: r.sizeBytes, calibration: r.calibration ?? null, preprocess: r.preprocess ?? null, report: reportPath ?? null, seconds, warnings: r.warnings, perTensor: r.perTensor,
        entropy,
      }, null, 2));
    } else {
      io.out([...summaryLines(r, out, seconds), entropyLine(entropy), ...(reportPath ? [`report: ${reportPath}`] : [])].join('\n'));
    }
    return 0;
  },
};
