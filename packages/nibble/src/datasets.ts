import type { Model } from '@nibble/ir';
import { join } from 'node:path';
import {
  type DatasetSpec, idxPairIn, parseDatasetSpec, PREPROCESS_PRESETS, printPreprocess, registerDatasetRoot, registerDefaultRoots,
} from '@nibble/data';
import { workspaceRoot } from './defaults';

/** The checkout's bundled Fashion-MNIST files (data/fashion-mnist, see its README). */
export function bundledFashionMnistDir(): string {
  return join(workspaceRoot(), 'data', 'fashion-mnist');
}

/** Bundled split -> IDX file prefix: the full test split, and the fixed 2,000-image calibration subset of the training split. */
const BUNDLED_SPLITS: Readonly<Record<string, string>> = { test: 't10k', calib: 'calib' };

/** Above @nibble/data's default roots, so the checkout's copy wins over a system one. */
const BUNDLED_PRIORITY = 10;

let registered = false;

/**
 * Makes `fashion-mnist:test` and `fashion-mnist:calib` resolve to the files
 * bundled with the checkout. `fashion-mnist:train` (and `test` as a fallback)
 * stay with @nibble/data's default root, Debian's dataset-fashion-mnist
 * package, whose absence is reported with the package to install.
 * Idempotent; the public API calls it when it is imported.
 */
export function registerBundledDatasets(): void {
  if (registered) return;
  registered = true;
  registerDefaultRoots();
  registerDatasetRoot('fashion-mnist', (split) => {
    const prefix = BUNDLED_SPLITS[split];
    if (prefix === undefined) return undefined;
    return {
      spec: idxPairIn(bundledFashionMnistDir(), prefix, true),
      provider: 'the nibble checkout (data/fashion-mnist; restore it with git, or rebuild it with tools/scripts/make-fashion-mnist-bundle.ts)',
    };
  }, { priority: BUNDLED_PRIORITY, splits: Object.keys(BUNDLED_SPLITS) });
}

registerBundledDatasets();

/**
 * Metadata key under which a model states the preprocessing its input
 * expects (preprocessing text of @nibble/data, e.g.
 * `gray,scale=1/255,normalize=0.286041/0.353024`). The zoo models carry it,
 * and quantize writes the preprocessing it calibrated with into its output,
 * so calibrate, quantize and eval feed a model correctly without a flag.
 */
export const MODEL_PREPROCESS_KEY = 'nibble.preprocess';

/** Where the preprocessing in force came from. */
export type PreprocessSource = 'option' | 'model' | 'dataset-preset' | 'none';

export interface PreprocessChoice {
  /** Preprocessing text ('' for none). */
  text: string;
  source: PreprocessSource;
  /** Set when the choice is a guess the user should confirm (a dataset preset for a model that declares nothing). */
  warning?: string;
}

/**
 * Preprocessing for feeding `model` from `spec`: the explicit option, else
 * the model's own (metadata), else the named dataset's preset, which is a
 * guess: a model trained on other inputs scores wrongly without a word, so
 * that choice carries a warning saying what was applied and how to set it.
 */
export function choosePreprocess(spec: string | DatasetSpec, model?: Model, explicit?: string): PreprocessChoice {
  if (explicit !== undefined) return { text: explicit, source: 'option' };
  const declared = model?.metadata.get(MODEL_PREPROCESS_KEY);
  if (declared !== undefined) return { text: declared, source: 'model' };
  const preset = defaultPreprocess(spec);
  if (preset === undefined) return { text: '', source: 'none' };
  return {
    text: preset, source: 'dataset-preset',
    warning: `the model declares no preprocessing (no '${MODEL_PREPROCESS_KEY}' metadata); applied the dataset's preset '${preset}' ` +
      `(${printPreprocess(PREPROCESS_PRESETS[preset])}). If the model was trained on other inputs its numbers are wrong: give --preprocess ` +
      `(e.g. --preprocess ${preset},normalize=MEAN/STD); quantize writes it into its output`,
  };
}

/** Preprocessing for feeding `model` from `spec`: explicit, else the model's own, else the dataset's preset. */
export function preprocessFor(spec: string | DatasetSpec, model?: Model, explicit?: string): string | undefined {
  const c = choosePreprocess(spec, model, explicit);
  return c.source === 'none' ? undefined : c.text;
}

/** One line saying which preprocessing is in force and why (inspect, eval, quantize print it). */
export function describePreprocess(c: PreprocessChoice): string {
  const text = c.text === '' ? 'none' : c.text;
  switch (c.source) {
    case 'option': return `${text} (from --preprocess)`;
    case 'model': return `${text} (from the model's ${MODEL_PREPROCESS_KEY} metadata)`;
    case 'dataset-preset': return `${text} (the dataset's preset: the model declares none)`;
    case 'none': return 'none (the model declares none and the data has no preset)';
  }
}

/** The preset of a named dataset (e.g. 'fashion-mnist': gray, scaled to [0, 1]); undefined for files. */
export function defaultPreprocess(spec: string | DatasetSpec): string | undefined {
  const parsed = typeof spec === 'string' ? parseDatasetSpec(spec) : spec;
  if (parsed.kind !== 'named') return undefined;
  return parsed.name in PREPROCESS_PRESETS ? parsed.name : undefined;
}
