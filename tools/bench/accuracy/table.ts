/*
 * The markdown of docs/accuracy.md's zoo section: the paper's table layout
 * (rows: setting / method; columns: model x calibration size), a detailed
 * table per model and size, and the paper's claims read off the numbers.
 */
import type { ClaimResult, GapResult, ModelSummary, Plan, RowSummary } from './aggregate';
import { FLOAT_LABEL, labelOf } from './config';
import type { MeanStd } from './metrics';

export interface TableContext {
  plan: Plan;
  /** The command that regenerates the section. */
  command: string;
  testSize: number;
}

function num(v: number, digits: number, signed = false): string {
  if (v === Infinity) return '∞';
  if (v === -Infinity) return '-∞';
  if (Number.isNaN(v)) return 'n/a';
  const s = v.toFixed(digits);
  // -0.00 reads as a loss; a difference that rounds to zero is zero.
  const z = Number(s) === 0 ? (0).toFixed(digits) : s;
  return signed && Number(z) > 0 ? `+${z}` : z;
}

/** mean ± std scaled (e.g. 100 for percent); the spread is left out when unknown. */
export function pm(s: MeanStd | null, scale: number, digits: number, signed = false): string {
  if (!s) return 'n/a';
  const mean = num(s.mean * scale, digits, signed);
  return s.std === null ? mean : `${mean} ± ${num(s.std * scale, digits)}`;
}

function bits(s: MeanStd | null): string {
  if (!s) return 'n/a';
  // Allocation can vary with the calibration images; a spread of zero is not worth printing.
  return s.std ? pm(s, 1, 2) : num(s.mean, 2);
}

function seedsText(plan: Plan): string {
  const [first, last] = [plan.seeds[0], plan.seeds[plan.seeds.length - 1]];
  return plan.seeds.length === 1 ? `seed ${first}` : `${plan.seeds.length} seeds (${first}-${last})`;
}

function row(models: ModelSummary[], recipe: string, samples: number): RowSummary[] {
  return models.map((m) => m.rows.find((r) => r.recipe === recipe && r.samples === samples)!);
}

function overviewTable(models: ModelSummary[], ctx: TableContext): string[] {
  const cols = models.flatMap((m) => ctx.plan.samples.map((s) => `${m.label}, ${s} img`));
  const lines = [`| Setting / method | ${cols.join(' | ')} |`, `|---|${cols.map(() => '---:').join('|')}|`];
  for (const recipe of ctx.plan.recipes) {
    const cells = models.flatMap((m) => ctx.plan.samples.map((s) => pm(row([m], recipe, s)[0].top1, 100, 2)));
    lines.push(`| ${labelOf(recipe)} | ${cells.join(' | ')} |`);
  }
  lines.push(`| ${FLOAT_LABEL} | ${models.flatMap((m) => ctx.plan.samples.map(() => num(m.float.top1 * 100, 2))).join(' | ')} |`);
  return lines;
}

function modelTable(m: ModelSummary, samples: number, ctx: TableContext): string[] {
  const lines = [
    '| Setting / method | top-1 % | agreement with FP32 % | logit SQNR dB | mean bits w | mean bits a | entropy w | entropy a |',
    '|---|---:|---:|---:|---:|---:|---:|---:|',
  ];
  for (const recipe of ctx.plan.recipes) {
    const r = row([m], recipe, samples)[0];
    lines.push(`| ${r.label} | ${pm(r.top1, 100, 2)} | ${pm(r.agreement, 100, 2)} | ${pm(r.sqnrDb, 1, 1)} | ${bits(r.bitsWeights)} | ${bits(r.bitsActivations)} | ${bits(r.entropyWeights)} | ${bits(r.entropyActivations)} |`);
  }
  lines.push(`| ${FLOAT_LABEL} | ${num(m.float.top1 * 100, 2)} | 100 | ∞ | 32 | 32 | | |`);
  return lines;
}

function claimText(c: ClaimResult): string {
  const sqnr = c.sqnrDb ? `, SQNR ${pm(c.sqnrDb, 1, 1, true)} dB` : '';
  return `${labelOf(c.better)} vs ${labelOf(c.worse)}: top-1 ${pm(c.top1, 100, 2, true)} pp${sqnr}: **${c.verdict}**`;
}

function gapText(g: GapResult): string {
  if (g.recovered === null) return `${labelOf(g.all)}: the baseline loses nothing against FP32 (gap ${num(g.gap * 100, 2)} pp): **${g.verdict}**`;
  const perSeed = g.recoveredPerSeed.std === null ? '' : ` (per seed ${pm(g.recoveredPerSeed, 100, 0)} %)`;
  return `${labelOf(g.all)} wins back ${num(g.recovered * 100, 0)} %${perSeed} of the baseline's ${num(g.gap * 100, 2)} pp gap to FP32: **${g.verdict}**`;
}

function patternSection(m: ModelSummary, samples: number): string[] {
  const claims = m.claims.filter((c) => c.samples === samples);
  const gaps = m.gaps.filter((g) => g.samples === samples);
  const paper = claims.filter((c) => c.kind !== 'peer-vs-aciq');
  const count = (v: string) => paper.filter((c) => c.verdict === v).length;
  const lines = [
    `**${m.label}, ${samples} calibration images.** Of ${paper.length} paper comparisons, ${count('holds')} hold beyond the spread, ` +
      `${count('reversed')} are reversed beyond it, ${count('within spread')} are within it` +
      `${paper.length - count('holds') - count('reversed') - count('within spread') ? ` and ${paper.length - count('holds') - count('reversed') - count('within spread')} have no spread (one seed) or no difference` : ''}.`,
    '',
  ];
  const group = (title: string, items: string[]) => {
    if (items.length === 0) return;
    lines.push(`- ${title}`);
    for (const t of items) lines.push(`  - ${t}`);
  };
  group('Each method beats its baseline:', claims.filter((c) => c.kind === 'method-vs-baseline').map(claimText));
  group('The combination beats each method alone:', claims.filter((c) => c.kind === 'combination-vs-single').map(claimText));
  group('All methods recovers most of the gap to FP32:', gaps.map(gapText));
  group("The peers' clipping in place of ACIQ (not a claim of the paper):", claims.filter((c) => c.kind === 'peer-vs-aciq').map(claimText));
  group('Variants of a recipe, to find out why a method misses (not in the paper):', claims.filter((c) => c.kind === 'variant-vs-recipe').map(claimText));
  lines.push('');
  return lines;
}

export function renderSection(models: ModelSummary[], ctx: TableContext): string {
  const { plan } = ctx;
  const out: string[] = [
    '## Zoo models on Fashion-MNIST, in the layout of the paper\'s table',
    '',
    `Generated by \`${ctx.command}\` from the results cache \`tools/bench/accuracy/cache/\` ` +
      '(cells already measured are not run again); every number, per seed, is in `docs/accuracy-zoo.json`.',
    '',
    `Protocol: each model in float32 and quantized with each recipe (\`nibble recipes\`), evaluated on ` +
      `${plan.n === ctx.testSize ? `the full Fashion-MNIST test split (${plan.n} images)` : `the first ${plan.n} of the ${ctx.testSize} test images`}. ` +
      `Calibration images are drawn from \`fashion-mnist:calib\`, the bundled 2,000-image subset of the training split (never the test split), ` +
      `${plan.samples.join(' or ')} images chosen by the \`seed\` of \`quantize\`, ${seedsText(plan)}; ` +
      'figures are the mean ± sample standard deviation over the seeds. onnxruntime-node runs on one thread, so a rerun gives the same numbers. ' +
      'Agreement: test images whose top-1 class equals float32\'s. Logit SQNR: 10 log10(Σ|y|² / Σ|y − y_q|²) over the logits of all test images. ' +
      'Mean bits: achieved bits per weight parameter and per activation channel, the 8-bit first conv, last fully connected layer and logits included. ' +
      'The W4A4 percentile, KL and MSE rows are "all methods" with the peers\' clipping of activations in place of ACIQ. ' +
      'The rows after W3A3 are not the paper\'s: each is a recipe with one option of `clip-aciq` changed (`cap-observed`: the range never exceeds the observed one; ' +
      '`fc-minmax`: per-tensor fully connected outputs, here the logits, keep min/max; `dist=auto`: per channel, the least measured MSE among Laplace, Gauss and min/max), ' +
      'to find out why ACIQ misses the paper\'s pattern where it does (`tools/bench/accuracy/config.ts`, VARIANT_ROWS).',
    '',
    '| model | file | sha256 (first 12) | FP32 top-1 % |',
    '|---|---|---|---:|',
    ...models.map((m) => `| ${m.label} | \`${m.file}\` | \`${m.sha256.slice(0, 12)}\` | ${num(m.float.top1 * 100, 2)} |`),
    '',
    '### Top-1 (%)',
    '',
    ...overviewTable(models, ctx),
    '',
  ];
  for (const m of models) {
    for (const samples of plan.samples) {
      out.push(`### ${m.label}, ${samples} calibration images`, '', ...modelTable(m, samples, ctx), '');
    }
  }
  out.push(
    '### Does the paper\'s pattern hold?',
    '',
    'Differences are the quantized recipe minus the one it should beat, paired by seed (the same seed calibrates both on the same images), ' +
      'as mean ± standard deviation of the per-seed differences. "holds": the mean exceeds one such standard deviation; ' +
      '"reversed": it is below minus one; "within spread": neither. Gap recovered: (all − baseline) / (FP32 − baseline) of the mean top-1; ' +
      '"most" means at least half.',
    '',
  );
  for (const m of models) for (const samples of plan.samples) out.push(...patternSection(m, samples));
  return out.join('\n');
}
