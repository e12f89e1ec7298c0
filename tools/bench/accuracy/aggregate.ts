/*
 * From cached cells to the benchmark's summary: mean and spread over seeds
 * of every (recipe, calibration size), and the paper's claims checked on
 * the numbers, each difference paired by seed (the same seed draws the same
 * calibration images for every recipe) with its seed-to-seed spread.
 */
import { cellKey, cellSqnr, type CellResult, type FloatResult, type ModelCache } from './cache';
import { type Claim, CLAIMS, GAP_CLAIMS, labelOf, NIBBLE_CLAIMS, VARIANT_CLAIMS } from './config';
import { gapRecovered, meanStd, type MeanStd, pairedDifference } from './metrics';

export interface SeedFigures {
  seed: number;
  top1: number;
  agreement: number;
  /** null: logits identical to float32's (infinite SQNR). */
  sqnrDb: number | null;
  bitsWeights: number | null;
  bitsActivations: number | null;
  entropyWeights: number | null;
  entropyActivations: number | null;
}

export interface RowSummary {
  recipe: string;
  label: string;
  samples: number;
  top1: MeanStd;
  agreement: MeanStd;
  sqnrDb: MeanStd;
  bitsWeights: MeanStd | null;
  bitsActivations: MeanStd | null;
  /** Entropy of the codes, bits per value; null when a seed's cell predates it. */
  entropyWeights: MeanStd | null;
  entropyActivations: MeanStd | null;
  perSeed: SeedFigures[];
}

export type Verdict = 'holds' | 'reversed' | 'within spread' | 'higher, spread unknown' | 'lower, spread unknown' | 'equal';

export interface ClaimResult extends Claim {
  samples: number;
  /** better - worse, top-1 as a fraction, paired by seed. */
  top1: MeanStd;
  /** better - worse, logit SQNR in dB, paired by seed (null when a side is infinite). */
  sqnrDb: MeanStd | null;
  verdict: Verdict;
}

export interface GapResult {
  all: string;
  baseline: string;
  samples: number;
  /** float32 top-1 minus the baseline's mean top-1 (fraction). */
  gap: number;
  /** Fraction of the gap that all methods win back, from the means; null without a gap. */
  recovered: number | null;
  /** The same per seed (seeds whose baseline loses nothing left out). */
  recoveredPerSeed: MeanStd;
  verdict: 'most recovered' | 'less than half recovered' | 'no gap to recover';
}

export interface ModelSummary {
  name: string;
  label: string;
  file: string;
  sha256: string;
  float: { n: number; top1: number; correct: number };
  rows: RowSummary[];
  claims: ClaimResult[];
  gaps: GapResult[];
}

export interface Plan {
  recipes: readonly string[];
  samples: readonly number[];
  seeds: readonly number[];
  n: number;
}

function stat(values: (number | null)[]): MeanStd | null {
  return values.some((v) => v === null) ? null : meanStd(values as number[]);
}

export function summariseRow(recipe: string, samples: number, cells: readonly CellResult[]): RowSummary {
  const perSeed: SeedFigures[] = cells.map((c) => {
    const s = cellSqnr(c);
    return {
      seed: c.seed, top1: c.top1, agreement: c.agreement, sqnrDb: Number.isFinite(s) ? s : null,
      bitsWeights: c.bitsWeights, bitsActivations: c.bitsActivations,
      entropyWeights: c.entropyWeights ?? null, entropyActivations: c.entropyActivations ?? null,
    };
  });
  return {
    recipe, label: labelOf(recipe), samples,
    top1: meanStd(cells.map((c) => c.top1)),
    agreement: meanStd(cells.map((c) => c.agreement)),
    sqnrDb: meanStd(cells.map(cellSqnr)),
    bitsWeights: stat(cells.map((c) => c.bitsWeights)),
    bitsActivations: stat(cells.map((c) => c.bitsActivations)),
    entropyWeights: stat(cells.map((c) => c.entropyWeights ?? null)),
    entropyActivations: stat(cells.map((c) => c.entropyActivations ?? null)),
    perSeed,
  };
}

/** A difference against its seed-to-seed spread: beyond one paired standard deviation either way, or within it. */
export function verdictOf(d: MeanStd): Verdict {
  if (d.std === null) return d.mean > 0 ? 'higher, spread unknown' : d.mean < 0 ? 'lower, spread unknown' : 'equal';
  if (d.mean === 0 && d.std === 0) return 'equal';
  if (d.mean > d.std) return 'holds';
  if (d.mean < -d.std) return 'reversed';
  return 'within spread';
}

export function checkClaim(claim: Claim, samples: number, better: RowSummary, worse: RowSummary): ClaimResult {
  const top1 = pairedDifference(better.perSeed.map((s) => s.top1), worse.perSeed.map((s) => s.top1));
  const sb = better.perSeed.map((s) => s.sqnrDb);
  const sw = worse.perSeed.map((s) => s.sqnrDb);
  const finite = [...sb, ...sw].every((v) => v !== null);
  return {
    ...claim, samples, top1,
    sqnrDb: finite ? pairedDifference(sb as number[], sw as number[]) : null,
    verdict: verdictOf(top1),
  };
}

export function checkGap(all: RowSummary, baseline: RowSummary, floatTop1: number): GapResult {
  const gap = floatTop1 - baseline.top1.mean;
  const recovered = gapRecovered(floatTop1, baseline.top1.mean, all.top1.mean);
  const perSeed = baseline.perSeed
    .map((b, i) => gapRecovered(floatTop1, b.top1, all.perSeed[i].top1))
    .filter((v): v is number => v !== null);
  return {
    all: all.recipe, baseline: baseline.recipe, samples: all.samples, gap, recovered,
    recoveredPerSeed: meanStd(perSeed),
    verdict: recovered === null ? 'no gap to recover' : recovered >= 0.5 ? 'most recovered' : 'less than half recovered',
  };
}

/** Every cell the plan needs, in seed order, or an error naming the first missing one. */
export function planCells(cache: ModelCache, plan: Plan, recipe: string, samples: number): CellResult[] {
  return plan.seeds.map((seed) => {
    const c = cache.cells[cellKey(recipe, samples, seed, plan.n)];
    if (!c) throw new Error(`${cache.model}: no result for ${cellKey(recipe, samples, seed, plan.n)}; run the benchmark to measure it`);
    return c;
  });
}

export function summariseModel(cache: ModelCache, plan: Plan, meta: { label: string }): ModelSummary {
  const float: FloatResult | undefined = cache.float[String(plan.n)];
  if (!float) throw new Error(`${cache.model}: no float32 result on ${plan.n} test images; run the benchmark to measure it`);
  const rows: RowSummary[] = [];
  for (const samples of plan.samples) {
    for (const recipe of plan.recipes) rows.push(summariseRow(recipe, samples, planCells(cache, plan, recipe, samples)));
  }
  const row = (recipe: string, samples: number) => rows.find((r) => r.recipe === recipe && r.samples === samples);
  const claims: ClaimResult[] = [];
  const gaps: GapResult[] = [];
  for (const samples of plan.samples) {
    for (const claim of [...CLAIMS, ...VARIANT_CLAIMS, ...NIBBLE_CLAIMS]) {
      const b = row(claim.better, samples);
      const w = row(claim.worse, samples);
      if (b && w) claims.push(checkClaim(claim, samples, b, w));
    }
    for (const g of GAP_CLAIMS) {
      const a = row(g.all, samples);
      const b = row(g.baseline, samples);
      if (a && b) gaps.push(checkGap(a, b, float.top1));
    }
  }
  return {
    name: cache.model, label: meta.label, file: cache.file, sha256: cache.sha256,
    float: { n: float.n, top1: float.top1, correct: float.correct },
    rows, claims, gaps,
  };
}
