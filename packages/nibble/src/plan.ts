import { existsSync, statSync } from 'node:fs';
import { dirname, extname, resolve } from 'node:path';
import { type AnyPassInvocation, getRecipe, parsePipeline, printInvocations, printPipeline, resolvePipeline } from '@nibble/core';
import { NibbleError } from '@nibble/ir';
import { CALIBRATION_STATS, type CalibrationNeeds } from '@nibble/stats';
import { DEFAULTS } from './defaults';
import { ensurePassesRegistered } from './recipes';

/*
 * Everything `quantize` will do, decided before any model or data is read:
 * the recipe resolved, the pipeline parsed once and its passes resolved,
 * what calibration collects (the union of what the passes declare they
 * read), and the defaults filled in. The CLI prints it (--dry-run) and
 * hands it to quantize(); nothing downstream parses pipeline text again.
 */

export interface PlanChoice {
  /** A recipe name or alias (`nibble recipes`); exactly one of recipe and pipeline. */
  recipe?: string;
  /** Pipeline text of registered passes. */
  pipeline?: string;
  /** Calibration samples (default DEFAULTS.calibrationSamples, at most the dataset's size). */
  samples?: number;
  /** Seed of the sample choice (default DEFAULTS.seed). */
  seed?: number;
  /** Calibration batch size (default DEFAULTS.calibrationBatch). */
  batchSize?: number;
}

export interface QuantizePlan {
  /** The recipe's canonical name, when one was named (an alias resolves to it). */
  readonly recipe?: string;
  /** The pipeline as written (a recipe's expansion), in canonical text. */
  readonly pipeline: string;
  /** The same with every option written out: exactly what will run. */
  readonly pipelineFull: string;
  readonly invocations: readonly AnyPassInvocation[];
  /** What calibration collects; null when no pass reads calibration statistics. */
  readonly calibration: {
    readonly samples: number;
    readonly seed: number;
    readonly batchSize: number;
    readonly needs: Required<CalibrationNeeds>;
  } | null;
}

function positiveInteger(v: number | undefined, option: string, min: number): void {
  if (v !== undefined && (!Number.isSafeInteger(v) || v < min)) {
    throw new NibbleError('E_BAD_OPTION', `${option} must be an integer >= ${min}, got ${v}`, { option });
  }
}

/** The recipe or pipeline (exactly one), resolved against the pass registry, with calibration needs and defaults. */
export function planQuantization(choice: PlanChoice): QuantizePlan {
  const { recipe, pipeline } = choice;
  if ((recipe === undefined) === (pipeline === undefined)) {
    throw new NibbleError('E_BAD_OPTION', recipe === undefined ? 'give a recipe or a pipeline to quantize with' : 'give a recipe or a pipeline, not both', {
      option: 'recipe',
      hint: 'name a recipe (`nibble recipes` lists them with their expansions) or write a pipeline of passes',
    });
  }
  positiveInteger(choice.samples, 'samples', 1);
  positiveInteger(choice.seed, 'seed', 0);
  positiveInteger(choice.batchSize, 'batchSize', 1);
  ensurePassesRegistered();
  const named = recipe !== undefined ? getRecipe(recipe) : undefined;
  // Parsed once; unknown passes and bad options fail here, before any model or data is read.
  const spec = parsePipeline(named ? named.pipeline : pipeline!);
  const invocations = Object.freeze(resolvePipeline(spec));
  let reads = false;
  let needs: CalibrationNeeds = {};
  for (const { pass, options } of invocations) {
    for (const r of pass.requirements(options)) {
      if (r.analysis !== CALIBRATION_STATS) continue;
      reads = true;
      if (r.needs !== undefined) needs = CALIBRATION_STATS.mergeNeeds!(needs, r.needs as CalibrationNeeds);
    }
  }
  return Object.freeze({
    ...(named ? { recipe: named.name } : {}),
    pipeline: printPipeline(spec),
    pipelineFull: printInvocations(invocations, 'all'),
    invocations,
    calibration: reads
      ? {
        samples: choice.samples ?? DEFAULTS.calibrationSamples,
        seed: choice.seed ?? DEFAULTS.seed,
        batchSize: choice.batchSize ?? DEFAULTS.calibrationBatch,
        needs: { histograms: needs.histograms === true, layerInputs: needs.layerInputs === true },
      }
      : null,
  });
}

/** The plan as lines of text (what `nibble quantize --dry-run` prints). */
export function describePlan(plan: QuantizePlan): string[] {
  const c = plan.calibration;
  return [
    ...(plan.recipe ? [`recipe: ${plan.recipe}`] : []),
    `pipeline: ${plan.pipeline}`,
    'passes:',
    ...plan.invocations.map((inv, i) => `  ${i + 1}. ${inv.pass.format(inv.options, 'all')}`),
    c
      ? `calibration: ${c.samples} samples (seed ${c.seed}), batches of ${c.batchSize}; collects moments${c.needs.histograms ? ', histograms' : ''}${c.needs.layerInputs ? ', layer-input means' : ''}`
      : 'calibration: none (no pass reads calibration statistics)',
  ];
}

/**
 * Where a quantized model may be written: an .onnx path in an existing
 * directory. Checked before any work, so a long run never fails at the end.
 */
export function checkQuantizedOutput(path: string): void {
  if (extname(path).toLowerCase() !== '.onnx') {
    throw new NibbleError('E_BAD_OPTION', `${path}: a quantized model is written as ONNX; give a path ending in .onnx`, { file: path, option: 'out' });
  }
  const dir = dirname(resolve(path));
  if (!existsSync(dir) || !statSync(dir).isDirectory()) {
    throw new NibbleError('E_BAD_OPTION', `${path}: the directory ${dir} does not exist`, { file: path, option: 'out', hint: 'create the directory first, or write somewhere that exists' });
  }
}
