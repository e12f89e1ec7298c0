import { type AnyPassInvocation, getRecipe, parsePipeline, printInvocations, printPipeline, resolvePipeline } from '@nibble/core';
import { NibbleError } from '@nibble/ir';
import { CALIBRATION_STATS, type CalibrationNeeds } from '@nibble/stats';
import { DEFAULTS } from './defaults';
import { checkInteger } from './option-checks';
import { ensurePassesRegistered } from './recipes';
import { constrainPipeline, getTarget } from './targets';
import { checkOutputPath, type OutputCheck } from './outputs';

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
  /** Where the model will run (targets.ts): its constraints join the pipeline's options; default 'sim'. */
  target?: string;
}

export interface QuantizePlan {
  /** The recipe's canonical name, when one was named (an alias resolves to it). */
  readonly recipe?: string;
  /** The deployment target (targets.ts), whose constraints are in the pipeline's options. */
  readonly target: string;
  /** The pipeline as written (a recipe's expansion) with the target's constraints, in canonical text. */
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


/** The recipe or pipeline (exactly one), resolved against the pass registry, with calibration needs and defaults. */
export function planQuantization(choice: PlanChoice): QuantizePlan {
  const { recipe, pipeline } = choice;
  if ((recipe === undefined) === (pipeline === undefined)) {
    throw new NibbleError('E_BAD_OPTION', recipe === undefined ? 'give a recipe or a pipeline to quantize with' : 'give a recipe or a pipeline, not both', {
      option: 'recipe',
      hint: 'name a recipe (`nibble recipes` lists them with their expansions) or write a pipeline of passes',
    });
  }
  checkInteger(choice.samples, 'samples', 1);
  checkInteger(choice.seed, 'seed', 0);
  checkInteger(choice.batchSize, 'batchSize', 1);
  ensurePassesRegistered();
  const named = recipe !== undefined ? getRecipe(recipe) : undefined;
  // Parsed once; unknown passes and bad options fail here, before any model or data is read.
  const target = getTarget(choice.target);
  const spec = constrainPipeline(parsePipeline(named ? named.pipeline : pipeline!), target);
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
    target: target.name,
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

/** A target's constraints, for the plan's printout. */
function describeTarget(name: string): string[] {
  const t = getTarget(name);
  const constraints = Object.entries(t.constraints).map(([pass, o]) => `${pass}{${Object.entries(o).map(([k, v]) => `${k}=${v}`).join(',')}}`);
  return [
    `target: ${t.name} (${t.summary})`,
    ...(constraints.length > 0 ? [`  constraints: ${constraints.join(' ')}`] : []),
    `  activations ${t.activationScale}, weights ${t.weights}, containers ${[...t.containers.weights, ...t.containers.activations].join('/')}; narrow grids: ${t.narrowGrids}`,
  ];
}

/** The plan as lines of text (what `nibble quantize --dry-run` prints). */
export function describePlan(plan: QuantizePlan): string[] {
  const c = plan.calibration;
  return [
    ...(plan.recipe ? [`recipe: ${plan.recipe}`] : []),
    ...describeTarget(plan.target),
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
 * directory (and, as checkOutputPath says, not an input nor, when refused,
 * an existing file). Checked before any work, so a long run never fails at the end.
 */
export function checkQuantizedOutput(path: string, check: Omit<OutputCheck, 'extension'> = {}, target?: string): void {
  const t = getTarget(target);
  checkOutputPath(path, { ...check, extension: { ext: t.extension, what: t.name === 'sim' ? 'a quantized model' : `a quantized model for target ${t.name}` } });
}
