import type { Model } from '@nibble/ir';
import { join } from 'node:path';
import {
  type DatasetSpec, idxPairIn, parseDatasetSpec, PREPROCESS_PRESETS, registerDatasetRoot, registerDefaultRoots,
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
 * The preprocessing a named dataset's samples need by default (its preset,
 * e.g. 'fashion-mnist': gray, scaled to [0, 1]); undefined for files, whose
 * model-specific preprocessing the caller must give.
 */
/**
 * Metadata key under which a model states the preprocessing its input
 * expects (preprocessing text of @nibble/data, e.g.
 * `gray,scale=1/255,normalize=0.286041/0.353024`). The zoo models carry it, so
 * quantize, calibrate and eval feed them correctly without a --preprocess flag.
 */
export const MODEL_PREPROCESS_KEY = 'nibble.preprocess';

/** Preprocessing for feeding `model` from `spec`: explicit, else the model's own, else the dataset's preset. */
export function preprocessFor(spec: string | DatasetSpec, model?: Model, explicit?: string): string | undefined {
  return explicit ?? model?.metadata.get(MODEL_PREPROCESS_KEY) ?? defaultPreprocess(spec);
}

export function defaultPreprocess(spec: string | DatasetSpec): string | undefined {
  const parsed = typeof spec === 'string' ? parseDatasetSpec(spec) : spec;
  if (parsed.kind !== 'named') return undefined;
  return parsed.name in PREPROCESS_PRESETS ? parsed.name : undefined;
}
