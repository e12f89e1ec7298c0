import { defineRecipe, listRecipes, type Recipe } from '@nibble/core';
import '@nibble/pass-allocation';
import '@nibble/pass-bias-correction';
import '@nibble/pass-clipping';
import '@nibble/pass-graph';
import '@nibble/pass-quantize';

/*
 * The named recipes of the paper's experiments (METHOD.md), as pipeline text
 * of the registered passes. Every recipe starts with the canonical passes
 * (BN folded first, as the method requires; fused ReLUs marked so one-sided
 * tensors get unsigned ranges) and quant-policy's paper defaults: conv
 * outputs per channel, FC outputs per tensor, logits and MaxPool outputs
 * 8-bit per tensor, first conv and last FC weights 8-bit, weights per output
 * channel.
 */

const CANONICAL = 'fold-bn,fold-constants,eliminate-dead-code,mark-fused-relu';

/** The quantization part of a recipe, by method. */
interface Methods {
  w: number;
  a: number;
  /** Activation clipping pass invocation (default: min/max, for weights and activations alike). */
  clipActivations?: string;
  allocWeights?: boolean;
  allocActivations?: boolean;
  biasCorrection?: boolean;
  /** Allocate bins that need not be powers of two (alloc-bins, the paper's variable-length variant) in place of bits. */
  bins?: boolean;
}

const ACIQ = 'clip-aciq{dist=laplace}';

function expand(m: Methods): string {
  const parts = [CANONICAL, `quant-policy{w-bits=${m.w},a-bits=${m.a}}`];
  // Weights: min/max per output channel in every recipe (the paper's choice).
  if (m.clipActivations) parts.push('clip-minmax{target=weights}', m.clipActivations);
  else parts.push('clip-minmax');
  // Allocation comes after clipping: it re-runs the clipping pass at each channel's allocated width.
  const alloc = m.bins ? 'alloc-bins' : 'alloc-bits';
  if (m.allocWeights) parts.push(`${alloc}{target=weights,budget=${m.w}}`);
  if (m.allocActivations) parts.push(`${alloc}{target=activations,budget=${m.a}}`);
  parts.push('quantize');
  if (m.biasCorrection) parts.push('bias-correct{mode=mean}');
  return parts.join(',');
}

interface RecipeEntry {
  name: string;
  summary: string;
  methods: Methods;
  aliases?: string[];
}

const ALL_W4A4: Methods = { w: 4, a: 4, clipActivations: ACIQ, allocWeights: true, allocActivations: true, biasCorrection: true };

const ENTRIES: RecipeEntry[] = [
  { name: 'w8a4-baseline', summary: 'W8A4, per-channel min/max (naive baseline)', methods: { w: 8, a: 4 } },
  { name: 'w8a4-aciq', summary: 'W8A4, ACIQ (Laplace) clipping of activations', methods: { w: 8, a: 4, clipActivations: ACIQ } },
  { name: 'w8a4-alloc', summary: 'W8A4, per-channel bit allocation of activations', methods: { w: 8, a: 4, allocActivations: true } },
  { name: 'w8a4-aciq-alloc', summary: 'W8A4, ACIQ clipping and bit allocation of activations', methods: { w: 8, a: 4, clipActivations: ACIQ, allocActivations: true } },
  { name: 'w4a8-baseline', summary: 'W4A8, per-channel min/max (naive baseline)', methods: { w: 4, a: 8 } },
  { name: 'w4a8-biascorr', summary: 'W4A8, bias correction of weights', methods: { w: 4, a: 8, biasCorrection: true } },
  { name: 'w4a8-alloc', summary: 'W4A8, per-channel bit allocation of weights', methods: { w: 4, a: 8, allocWeights: true } },
  { name: 'w4a8-biascorr-alloc', summary: 'W4A8, bias correction and bit allocation of weights', methods: { w: 4, a: 8, allocWeights: true, biasCorrection: true } },
  { name: 'w4a4-baseline', summary: 'W4A4, per-channel min/max (naive baseline)', methods: { w: 4, a: 4 } },
  {
    name: 'w4a4-all', aliases: ['paper-w4a4'], methods: ALL_W4A4,
    summary: 'W4A4, all methods: weights min/max + bit allocation + bias correction, activations ACIQ + bit allocation',
  },
  { name: 'w4a4-percentile', summary: 'W4A4 all methods with percentile clipping of activations in place of ACIQ', methods: { ...ALL_W4A4, clipActivations: 'clip-percentile' } },
  { name: 'w4a4-kl', summary: 'W4A4 all methods with KL (entropy) clipping of activations in place of ACIQ', methods: { ...ALL_W4A4, clipActivations: 'clip-kl' } },
  { name: 'w4a4-mse', summary: 'W4A4 all methods with MSE-search clipping of activations in place of ACIQ', methods: { ...ALL_W4A4, clipActivations: 'clip-mse' } },
  { name: 'w3a3-baseline', summary: 'W3A3, per-channel min/max (naive baseline)', methods: { w: 3, a: 3 } },
  { name: 'w3a3-all', summary: 'W3A3, all methods (as w4a4-all at 3 bits)', methods: { ...ALL_W4A4, w: 3, a: 3 } },
];

/*
 * nibble's own recipes (issue 14), beside the paper's and not instead of
 * them. What changes, on the evidence of docs/accuracy.md ("nibble's
 * recipe") and of tools/bench/accuracy/probe.ts runs:
 * - activations clipped by clip-least-error: per channel the least
 *   measured error among min/max, ACIQ Laplace/Gauss, an error search and
 *   percentiles, capped at the observed range (ACIQ beyond the observed
 *   range was the paper recipe's loss on MobileNetV2), clipping error
 *   counted 4 times (plain MSE cost 2 dB of logit SQNR against min/max);
 * - activation bits allocated per channel on those measured error curves
 *   at exactly the budget (alloc-bits{by=error}) instead of the sigma^(2/3)
 *   rule, which rounds to the budget on every channel of these models;
 * - weights stay at min/max: least-error clipping of weights lowered the
 *   logit SQNR at 4 and at 3 bits (ResNet-20: 17.4 against 20.0 dB);
 * - bias correction of weights kept (the one paper method that held on
 *   every model);
 * - below 8-bit activations, bits traded between activations at the same
 *   mean per element (mixed-precision{target=activations,low-bits=a-1}):
 *   each activation's effect on the output measured alone at a and at a-1
 *   bits, the most harmful raised to 8 bits where lowering the least
 *   harmful pays for it with less noise than the raise removes. On the zoo
 *   MobileNetV2 (2,000 test images) 90.55 -> 91.90 % at 512 calibration
 *   images (float32 92.10): its linear-bottleneck outputs take the bits of
 *   wide ReLU6 tensors; VGG unchanged (no trade pays), ResNet-20 +0.1 pp;
 * - at 3-bit and at 4-bit weights with 8-bit activations, weight codes
 *   chosen by gptq (the grids stay min/max): nsfwjs W4A8 mean KL 0.21 ->
 *   0.01, the PP-OCRv4 recogniser at W4A8 0/4 -> 4/4 crops; ResNet-20 W3A3
 *   (32 images, 5 seeds) 62 -> 72 % of the baseline's gap with the traded
 *   activation widths raised to 4 bits instead of 8 (more raises at the
 *   same mean). At W4A4 it moved no top-1 (ResNet-20 92.25 % either way,
 *   +0.8 dB logit SQNR) and costs a quantize 13-76 s, so nibble-w4a4
 *   leaves it out (docs/accuracy.md, "GPTQ").
 */
function expandNibble(w: number, a: number, opts: { gptq?: boolean; tradeTo?: number } = {}): string {
  const trade = a < 8 && a > 1 ? [`mixed-precision{target=activations,low-bits=${a - 1}${opts.tradeTo ? `,high-bits=${opts.tradeTo}` : ''}}`] : [];
  return [
    CANONICAL, `quant-policy{w-bits=${w},a-bits=${a}}`, 'clip-minmax{target=weights}', 'clip-least-error{clip-weight=4,curves=true}',
    `alloc-bits{target=activations,by=error,budget=${a}}`, ...trade, 'quantize', ...(opts.gptq ? ['gptq'] : []), 'bias-correct{mode=mean}',
  ].join(',');
}

const NIBBLE_ENTRIES: { name: string; summary: string; w: number; a: number; gptq?: boolean; tradeTo?: number }[] = [
  { name: 'nibble-w4a4', w: 4, a: 4, summary: 'nibble\'s W4A4: least-error clipping, error-driven bit allocation and sensitivity-traded widths of activations, min/max weights, bias correction' },
  {
    name: 'nibble-w3a3', w: 3, a: 3, gptq: true, tradeTo: 4,
    summary: 'nibble\'s W3A3: least-error clipping, error-driven bit allocation and sensitivity-traded widths (2 to 4 bits) of activations, min/max weight grids with GPTQ codes, bias correction',
  },
  { name: 'nibble-w4a8', w: 4, a: 8, gptq: true, summary: 'nibble\'s W4A8: least-error clipping and error-driven bit allocation of activations, min/max weight grids with GPTQ codes, bias correction' },
  { name: 'nibble-w8a4', w: 8, a: 4, summary: 'nibble\'s W8A4: least-error clipping, error-driven bit allocation and sensitivity-traded widths of activations, min/max weights, bias correction' },
];

/*
 * The paper's variable-length variant (issue 19): "all methods" with
 * alloc-bins in place of alloc-bits, so each channel gets omega bins that
 * need not be a power of two, the mean log2 omega at the budget, and ACIQ
 * clips for omega. Its codes are meant to be entropy-coded (--out .nbz);
 * the budget bounds their entropy, which the report measures.
 */
const VLC_ENTRIES: RecipeEntry[] = [
  { name: 'w4a4-vlc', summary: 'W4A4 all methods with variable-length bins (alloc-bins: omega ~ sigma^(2/3), mean log2 omega <= 4), for entropy coding', methods: { ...ALL_W4A4, bins: true } },
  { name: 'w3a3-vlc', summary: 'W3A3 all methods with variable-length bins (alloc-bins: omega ~ sigma^(2/3), mean log2 omega <= 3), for entropy coding', methods: { ...ALL_W4A4, w: 3, a: 3, bins: true } },
];

/** The recipes, defined once in the global recipe registry (defining the same recipe again is a no-op). */
export const RECIPES: readonly Recipe[] = [
  ...ENTRIES.map((e) => defineRecipe({ name: e.name, summary: e.summary, pipeline: expand(e.methods), aliases: e.aliases })),
  ...NIBBLE_ENTRIES.map((e) => defineRecipe({ name: e.name, summary: e.summary, pipeline: expandNibble(e.w, e.a, { gptq: e.gptq, tradeTo: e.tradeTo }) })),
  ...VLC_ENTRIES.map((e) => defineRecipe({ name: e.name, summary: e.summary, pipeline: expand(e.methods) })),
];

/** Names of the paper's recipes, in the order of its table. */
export const RECIPE_NAMES: readonly string[] = ENTRIES.map((e) => e.name);

/** Names of nibble's own recipes (after the paper's in listings). */
export const NIBBLE_RECIPE_NAMES: readonly string[] = NIBBLE_ENTRIES.map((e) => e.name);

/** Names of the variable-length recipes (after nibble's in listings). */
export const VLC_RECIPE_NAMES: readonly string[] = VLC_ENTRIES.map((e) => e.name);

/**
 * Importing this module registers the passes every recipe uses (their
 * packages register on import); calling this makes that dependency explicit
 * at the call site.
 */
export function ensurePassesRegistered(): void {
  void RECIPES;
}

/** Recipes in the paper's order, then nibble's own, then the variable-length ones (then any others defined elsewhere, by name). */
export function recipesInOrder(): Recipe[] {
  const all = listRecipes();
  const order = [...RECIPE_NAMES, ...NIBBLE_RECIPE_NAMES, ...VLC_RECIPE_NAMES];
  const rank = (r: Recipe) => {
    const i = order.indexOf(r.name);
    return i < 0 ? order.length : i;
  };
  return all.sort((a, b) => rank(a) - rank(b) || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}
