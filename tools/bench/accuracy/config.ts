/*
 * What the accuracy benchmark measures: the zoo models, the rows of the
 * paper's results table (METHOD.md, "The published results") as our recipe
 * names, and the comparisons that make up the paper's claims.
 */

export interface ZooModel {
  /** Name on the command line (--models). */
  name: string;
  /** Path relative to the workspace root. */
  file: string;
  label: string;
}

export const ZOO: readonly ZooModel[] = [
  { name: 'resnet20', file: 'models/fmnist-resnet20.onnx', label: 'ResNet-20' },
  { name: 'vgg', file: 'models/fmnist-vgg.onnx', label: 'VGG' },
  { name: 'mobilenetv2', file: 'models/fmnist-mobilenetv2.onnx', label: 'MobileNetV2' },
];

export interface TableRow {
  recipe: string;
  /** The row's name in the table, as the paper words it. */
  label: string;
  setting: 'W8A4' | 'W4A8' | 'W4A4' | 'W3A3';
}

/** The paper's rows in its order, then the peers' clipping at W4A4 and the W3A3 pair. */
export const TABLE_ROWS: readonly TableRow[] = [
  { recipe: 'w8a4-baseline', label: 'W8A4 baseline', setting: 'W8A4' },
  { recipe: 'w8a4-aciq', label: 'W8A4 ACIQ', setting: 'W8A4' },
  { recipe: 'w8a4-alloc', label: 'W8A4 bit allocation', setting: 'W8A4' },
  { recipe: 'w8a4-aciq-alloc', label: 'W8A4 ACIQ + bit allocation', setting: 'W8A4' },
  { recipe: 'w4a8-baseline', label: 'W4A8 baseline', setting: 'W4A8' },
  { recipe: 'w4a8-biascorr', label: 'W4A8 bias correction', setting: 'W4A8' },
  { recipe: 'w4a8-alloc', label: 'W4A8 bit allocation', setting: 'W4A8' },
  { recipe: 'w4a8-biascorr-alloc', label: 'W4A8 bias corr. + bit allocation', setting: 'W4A8' },
  { recipe: 'w4a4-baseline', label: 'W4A4 baseline', setting: 'W4A4' },
  { recipe: 'w4a4-all', label: 'W4A4 all methods', setting: 'W4A4' },
  { recipe: 'w4a4-percentile', label: 'W4A4 all, percentile clipping', setting: 'W4A4' },
  { recipe: 'w4a4-kl', label: 'W4A4 all, KL clipping', setting: 'W4A4' },
  { recipe: 'w4a4-mse', label: 'W4A4 all, MSE clipping', setting: 'W4A4' },
  { recipe: 'w3a3-baseline', label: 'W3A3 baseline', setting: 'W3A3' },
  { recipe: 'w3a3-all', label: 'W3A3 all methods', setting: 'W3A3' },
];

export const FLOAT_LABEL = 'FP32';

/** One comparison of the paper's claims: `better` should beat `worse`. */
export interface Claim {
  kind: 'method-vs-baseline' | 'combination-vs-single' | 'peer-vs-aciq' | 'variant-vs-recipe';
  better: string;
  worse: string;
}

export const CLAIMS: readonly Claim[] = [
  { kind: 'method-vs-baseline', better: 'w8a4-aciq', worse: 'w8a4-baseline' },
  { kind: 'method-vs-baseline', better: 'w8a4-alloc', worse: 'w8a4-baseline' },
  { kind: 'combination-vs-single', better: 'w8a4-aciq-alloc', worse: 'w8a4-aciq' },
  { kind: 'combination-vs-single', better: 'w8a4-aciq-alloc', worse: 'w8a4-alloc' },
  { kind: 'method-vs-baseline', better: 'w4a8-biascorr', worse: 'w4a8-baseline' },
  { kind: 'method-vs-baseline', better: 'w4a8-alloc', worse: 'w4a8-baseline' },
  { kind: 'combination-vs-single', better: 'w4a8-biascorr-alloc', worse: 'w4a8-biascorr' },
  { kind: 'combination-vs-single', better: 'w4a8-biascorr-alloc', worse: 'w4a8-alloc' },
  { kind: 'method-vs-baseline', better: 'w4a4-all', worse: 'w4a4-baseline' },
  { kind: 'method-vs-baseline', better: 'w3a3-all', worse: 'w3a3-baseline' },
  // Not a claim of the paper: how the peers' clipping does in ACIQ's place.
  { kind: 'peer-vs-aciq', better: 'w4a4-percentile', worse: 'w4a4-all' },
  { kind: 'peer-vs-aciq', better: 'w4a4-kl', worse: 'w4a4-all' },
  { kind: 'peer-vs-aciq', better: 'w4a4-mse', worse: 'w4a4-all' },
];

/** "All methods recovers most of the gap to float32": these pairs, all methods against baseline. */
export const GAP_CLAIMS: readonly { all: string; baseline: string }[] = [
  { all: 'w4a4-all', baseline: 'w4a4-baseline' },
  { all: 'w3a3-all', baseline: 'w3a3-baseline' },
  { all: 'nibble-w4a4', baseline: 'w4a4-baseline' },
  { all: 'nibble-w3a3', baseline: 'w3a3-baseline' },
];

export const CALIBRATION_DATA = 'fashion-mnist:calib';
export const TEST_DATA = 'fashion-mnist:test';

export const DEFAULTS = { seeds: 5, samples: [32, 512] as number[] };

/**
 * Rows that are not the paper's: a recipe with one pass's options changed,
 * to find out why a method misses the paper's pattern (clip-aciq's options
 * `cap-observed` and `fc-minmax`, and its per-channel choice of prior).
 * Each is measured like a recipe and compared with the recipe it varies.
 */
export interface VariantRow {
  name: string;
  label: string;
  recipe: string;
  /** Exact text in the recipe's pipeline, and what replaces it. */
  replace: readonly [string, string];
}

export const VARIANT_ROWS: readonly VariantRow[] = [
  { name: 'w8a4-aciq-capped', label: 'W8A4 ACIQ, capped at the observed range', recipe: 'w8a4-aciq', replace: ['clip-aciq{dist=laplace}', 'clip-aciq{dist=laplace,cap-observed=true}'] },
  { name: 'w8a4-aciq-fc-minmax', label: 'W8A4 ACIQ, logits at min/max', recipe: 'w8a4-aciq', replace: ['clip-aciq{dist=laplace}', 'clip-aciq{dist=laplace,fc-minmax=true}'] },
  { name: 'w8a4-aciq-auto', label: 'W8A4 ACIQ, prior chosen per channel by measured MSE', recipe: 'w8a4-aciq', replace: ['clip-aciq{dist=laplace}', 'clip-aciq{dist=auto}'] },
  { name: 'w4a4-all-capped', label: 'W4A4 all, ACIQ capped at the observed range', recipe: 'w4a4-all', replace: ['clip-aciq{dist=laplace}', 'clip-aciq{dist=laplace,cap-observed=true}'] },
  // nibble's recipes without their error-driven allocation and traded widths: what the clipping alone gives.
  {
    name: 'nibble-w4a4-clip', label: 'nibble W4A4, clipping only (no error allocation, no traded widths)', recipe: 'nibble-w4a4',
    replace: ['clip-least-error{clip-weight=4,curves=true},alloc-bits{target=activations,by=error,budget=4},mixed-precision{target=activations,low-bits=3}', 'clip-least-error{clip-weight=4}'],
  },
  {
    name: 'nibble-w3a3-clip', label: 'nibble W3A3, clipping only (no error allocation, no traded widths, no GPTQ)', recipe: 'nibble-w3a3',
    replace: ['clip-least-error{clip-weight=4,curves=true},alloc-bits{target=activations,by=error,budget=3},mixed-precision{target=activations,low-bits=2,high-bits=4},quantize,gptq,', 'clip-least-error{clip-weight=4},quantize,'],
  },
];

export const VARIANT_CLAIMS: readonly Claim[] = VARIANT_ROWS.map((v) => ({ kind: 'variant-vs-recipe', better: v.name, worse: v.recipe }));

/** nibble's own recipes (issue 14): not the paper's, measured beside it. */
export const NIBBLE_ROWS: readonly TableRow[] = [
  { recipe: 'nibble-w4a4', label: 'nibble W4A4', setting: 'W4A4' },
  { recipe: 'nibble-w3a3', label: 'nibble W3A3', setting: 'W3A3' },
];

/** nibble's recipes against the naive baselines of their settings (issue 14's acceptance). */
export const NIBBLE_CLAIMS: readonly Claim[] = [
  { kind: 'method-vs-baseline', better: 'nibble-w4a4', worse: 'w4a4-baseline' },
  { kind: 'method-vs-baseline', better: 'nibble-w3a3', worse: 'w3a3-baseline' },
];

/**
 * The paper's variable-length variant (issue 19): all methods with bins that
 * need not be powers of two (alloc-bins), mean log2 of the bins at the budget;
 * read beside the entropy columns, which say what an entropy coder stores.
 */
export const VLC_ROWS: readonly TableRow[] = [
  { recipe: 'w4a4-vlc', label: 'W4A4 all, variable-length bins', setting: 'W4A4' },
  { recipe: 'w3a3-vlc', label: 'W3A3 all, variable-length bins', setting: 'W3A3' },
];

/** Every row the benchmark measures by default, in table order: the paper's rows, the variants, nibble's, then the variable-length ones. */
export const ROW_NAMES: readonly string[] = [
  ...TABLE_ROWS.map((r) => r.recipe), ...VARIANT_ROWS.map((v) => v.name), ...NIBBLE_ROWS.map((r) => r.recipe), ...VLC_ROWS.map((r) => r.recipe),
];

export function labelOf(recipe: string): string {
  return [...TABLE_ROWS, ...NIBBLE_ROWS, ...VLC_ROWS].find((r) => r.recipe === recipe)?.label ?? VARIANT_ROWS.find((v) => v.name === recipe)?.label ?? recipe;
}

/** What quantize() is given for a row: the recipe itself, or the recipe's pipeline with the variant's change. */
export function pipelineChoiceOf(row: string, expand: (recipe: string) => string): { recipe: string } | { pipeline: string } {
  const v = VARIANT_ROWS.find((x) => x.name === row);
  if (!v) return { recipe: row };
  const base = expand(v.recipe);
  if (!base.includes(v.replace[0])) throw new Error(`variant ${v.name}: '${v.replace[0]}' is not in ${v.recipe}'s pipeline ${base}`);
  return { pipeline: base.replace(v.replace[0], v.replace[1]) };
}
