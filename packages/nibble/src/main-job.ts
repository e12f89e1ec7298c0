import { mkdirSync, readFileSync, statSync } from 'node:fs';
import { writeFileAtomic } from '@nibble/data';
import { basename, join } from 'node:path';
import { NibbleError } from '@nibble/ir';
import { compareLogits } from './agreement';
import { evaluate } from './evaluate';
import { deployOutputs, type DeploySection, runDeploySection } from './main-job-deploy';
import { loadModel } from './load';
import { quantize, saveQuantized } from './quantize';
import { writeQuantizeReport } from './report/write';

export interface MainJobOptions {
  /** The float model (default: the bundled Fashion-MNIST ResNet-20). */
  model: string;
  /** Calibration data spec (never the test split). */
  calibration: string;
  /** Evaluation data spec. */
  test: string;
  /** Evaluate the first N test samples only (default: all). */
  testLimit?: number;
  samples: number;
  seed: number;
  /** Recipes to compare with float32, in table order. */
  recipes: string[];
  outDir: string;
  /** Also write an HTML report per recipe beside its model (default true). */
  htmlReports?: boolean;
  /** Write this recipe for every deployment target, measure each file where it runs and time the int4 kernels (default: off). */
  deploy?: { recipe: string; benchRuns?: number };
  /** Called as work advances: a stage name and its fraction done. */
  onProgress?: (stage: string, done: number, total: number) => void;
}

export interface MainJobRow {
  name: string;
  top1: number;
  n: number;
  meanBitsWeights: number | null;
  meanBitsActivations: number | null;
  sizeBytes: number;
  /** The ONNX file the row was measured on. */
  file: string;
  pipeline?: string;
  /** The HTML report of the quantized row. */
  report?: string;
  /** Against float32 on the same samples: top-1 agreement (fraction), mean KL in nats, logit SQNR in dB. */
  agreement?: number;
  meanKl?: number;
  sqnrLogitsDb?: number;
}

export interface MainJobReport {
  model: string;
  calibration: { data: string; samples: number; seed: number };
  test: string;
  rows: MainJobRow[];
  deploy?: DeploySection;
}

function writeJsonAtomic(path: string, value: unknown): void {
  writeFileAtomic(path, `${JSON.stringify(value, null, 2)}\n`);
}

const stemOf = (model: string): string => basename(model).replace(/\.onnx$/i, '');

/** Every file the main job writes, so the caller can check them all before the work starts. */
export function mainJobOutputs(options: Pick<MainJobOptions, 'model' | 'recipes' | 'outDir' | 'htmlReports' | 'deploy'>): string[] {
  const stem = stemOf(options.model);
  return [
    ...(options.deploy ? deployOutputs(options.outDir, stem, options.deploy.recipe) : []),
    ...options.recipes.flatMap((r) => [
      join(options.outDir, `${stem}.${r}.onnx`),
      ...(options.htmlReports === false ? [] : [join(options.outDir, `${stem}.${r}.report.html`)]),
    ]),
    join(options.outDir, 'report.json'),
  ];
}

/**
 * nibble's main job: quantize a float model with each recipe, write each
 * quantized model as ONNX (QDQ), and measure float32 and every quantized
 * model on the test data. Each quantized row is measured on the file it
 * wrote, read back from disk, so `nibble eval <file>` reproduces it exactly.
 */
export async function runMainJob(options: MainJobOptions): Promise<MainJobReport> {
  if (options.recipes.length === 0) throw new NibbleError('E_BAD_OPTION', 'the main job needs at least one recipe', { option: 'recipes' });
  mkdirSync(options.outDir, { recursive: true });
  const float = await loadModel(options.model);
  const stem = stemOf(options.model);
  const progress = (stage: string) => (done: number, total: number) => options.onProgress?.(stage, done, total);

  const floatEval = await evaluate(float, { data: options.test, limit: options.testLimit, keepLogits: true, onProgress: progress('eval float32') });
  const rows: MainJobRow[] = [{
    name: 'float32',
    top1: floatEval.top1,
    n: floatEval.n,
    meanBitsWeights: 32,
    meanBitsActivations: 32,
    sizeBytes: statSync(options.model).size,
    file: options.model,
  }];

  for (const recipe of options.recipes) {
    const quantized = await quantize(float, {
      recipe,
      data: options.calibration,
      samples: options.samples,
      seed: options.seed,
      onProgress: (p) => {
        if (p.stage === 'calibrate') options.onProgress?.(`calibrate ${recipe}`, p.samplesDone ?? 0, p.samplesTotal ?? 0);
      },
    });
    const file = join(options.outDir, `${stem}.${recipe}.onnx`);
    const { report } = quantized;
    saveQuantized(quantized, file);
    const written = await loadModel(file);
    // No preprocessing given: the file's own metadata must carry it, as it does for `nibble eval <file>`.
    const result = await evaluate(written, { data: options.test, limit: options.testLimit, keepLogits: true, onProgress: progress(`eval ${recipe}`) });
    const against = compareLogits(floatEval.logits!, result.logits!, result.classes!);
    const html = join(options.outDir, `${stem}.${recipe}.report.html`);
    if (options.htmlReports !== false) {
      writeQuantizeReport(quantized, html, { model: options.model, out: file }, {
        data: options.test, n: result.n, floatTop1: floatEval.top1, quantizedTop1: result.top1,
        agree: against.agree, meanKl: against.meanKl, sqnrLogitsDb: against.sqnrLogitsDb,
      });
    }
    rows.push({
      name: recipe,
      top1: result.top1,
      n: result.n,
      meanBitsWeights: report.meanBits.weights,
      meanBitsActivations: report.meanBits.activations,
      sizeBytes: readFileSync(file).length,
      file,
      pipeline: report.pipeline,
      ...(options.htmlReports !== false ? { report: html } : {}),
      agreement: against.agree / against.n, meanKl: against.meanKl, sqnrLogitsDb: against.sqnrLogitsDb,
    });
  }

  const deploy = options.deploy
    ? await runDeploySection({
      float, modelPath: options.model, stem, recipe: options.deploy.recipe, calibration: options.calibration, test: options.test, testLimit: options.testLimit,
      samples: options.samples, seed: options.seed, outDir: options.outDir, floatLogits: floatEval.logits!, benchRuns: options.deploy.benchRuns ?? 50,
      onProgress: options.onProgress,
    })
    : undefined;
  const out: MainJobReport = {
    model: options.model,
    calibration: { data: options.calibration, samples: options.samples, seed: options.seed },
    test: options.test,
    rows,
    ...(deploy ? { deploy } : {}),
  };
  writeJsonAtomic(join(options.outDir, 'report.json'), out);
  return out;
}
