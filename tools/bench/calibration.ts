/*
 * Calibration against a plain forward pass (docs/benchmarks.md).
 *
 *   npx tsx tools/bench/calibration.ts [--model M.onnx] [--samples 32,512] [--batch 32] [--rounds 3] [--breakdown] [--recipe]
 *
 * For each N, child processes (so that no two measurements share a heap
 * high-water mark) time (a) onnxruntime running the model over N images of
 * fashion-mnist:calib and (b) nibble's full calibration over the same N
 * images, and report peak RSS. --breakdown splits one calibration's time
 * into the forward pass, fetching the observed activations, and each
 * collector. --recipe times (c) calibration as the paper's W4A4 recipe
 * makes it: the recipe's canonical passes and quant-policy first (through
 * the pass manager), then the analysis, which then observes only what the
 * quantization passes read; --breakdown then splits that one. Ratios are
 * taken within each round (its children run back to back), then the median
 * over rounds: the machine's load moves more between rounds than within one.
 * --mad-tolerance T sets the analysis's madTolerance (Infinity: one pass);
 * --js makes it fetch the activations (the path before statistics moved
 * into the engine).
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { createPassContext, EXECUTOR_FACTORY, getRecipe, printPipeline, runPipeline, SOURCE_MODEL } from '@nibble/core';
import { createOrtExecutor } from '@nibble/runtime';
import {
  type ActivationCandidate, activationCandidates, CALIBRATION_DATA, CALIBRATION_OPTIONS, CALIBRATION_STATS, DEFAULT_RUN_BYTES,
  ValueCollector, weightStatistics,
} from '@nibble/stats';
import { calibrate, datasetCalibrationData, ensurePassesRegistered, loadModel, workspaceRoot } from 'nibble';
import { openDataset } from '@nibble/data';
import { cloneModel, type Model } from '@nibble/ir';
import { randomResnet20 } from './resnet';

const DATA = 'fashion-mnist:calib';

const { values: args } = parseArgs({
  options: {
    model: { type: 'string' },
    samples: { type: 'string', default: '32,512' },
    batch: { type: 'string', default: '32' },
    rounds: { type: 'string', default: '3' },
    histogram: { type: 'string' },
    mad: { type: 'string' },
    'run-bytes': { type: 'string' },
    threads: { type: 'string' },
    breakdown: { type: 'boolean', default: false },
    'only-conv': { type: 'boolean', default: false },
    recipe: { type: 'boolean', default: false },
    variant: { type: 'string' },
    child: { type: 'string' },
    // The analysis's options (recipe children): a one-pass deviation tolerance, or the JS path (activations fetched).
    'mad-tolerance': { type: 'string' },
    js: { type: 'boolean', default: false },
  },
});

const batchSize = Number(args.batch);

async function model(): Promise<{ model: Model; name: string }> {
  const trained = join(workspaceRoot(), 'models', 'fmnist-resnet20.onnx');
  const path = args.model ?? (existsSync(trained) ? trained : undefined);
  if (path) return { model: await loadModel(path), name: path };
  return { model: randomResnet20(), name: 'ResNet-20 (random weights, built by tools/bench/resnet.ts)' };
}

/** What the paper quantizes: conv (and Gemm) outputs, before their ReLU. */
function isConvOutput(m: Model, name: string): boolean {
  const op = m.graph.value(name)?.producer?.opType;
  return op === 'Conv' || op === 'Gemm';
}

/** The recipe whose calibration --recipe measures. */
const RECIPE = 'paper-w4a4';

/** The recipe's passes up to quant-policy: the canonical passes and the marks (what runs before calibration). */
function markingPrefix(): string {
  ensurePassesRegistered();
  const passes = getRecipe(RECIPE).spec.passes;
  return printPipeline({ passes: passes.slice(0, passes.findIndex((p) => p.name === 'quant-policy') + 1) });
}

const threads = () => (args.threads ? Number(args.threads) : Math.max(1, availableParallelism() - 1));

/** The model after the recipe's canonical passes and quant-policy, and what calibration then fetches. */
async function markedModel(m: Model, layerInputs: boolean): Promise<{ model: Model; candidates: ActivationCandidate[]; names: string[] }> {
  const model = cloneModel(m);
  const { graph } = await runPipeline(model.graph, markingPrefix());
  const input = graph.inputs[0].name;
  const candidates = activationCandidates(graph, undefined, { layerInputs });
  return { model: { ...model, graph }, candidates, names: candidates.map((c) => c.name).filter((n) => n !== input) };
}

/**
 * The recipe's calibration as quantize() makes it now ('with-inputs': the
 * marked activations and the inputs of marked layers), or as it could for a
 * pipeline that folds no bias ('marked-only': calibration option layerInputs=false).
 */
const VARIANTS = { 'with-inputs': true, 'marked-only': false } as const;
type Variant = keyof typeof VARIANTS;
const layerInputs = () => VARIANTS[(args.variant ?? 'with-inputs') as Variant];

function peakRssMB(): number {
  return process.resourceUsage().maxRSS / 1024;
}

/** One measurement in this process; prints one JSON line. */
async function child(kind: string, samples: number): Promise<void> {
  const { model: m } = await model();
  const dataset = await openDataset(DATA, { preprocess: 'fashion-mnist' });
  const input = m.graph.inputs[0].name;
  const rssBefore = peakRssMB();
  const t0 = performance.now();
  let extra: Record<string, unknown> = {};
  if (kind === 'plain') {
    const executor = await createOrtExecutor(m);
    for await (const feeds of datasetCalibrationData(dataset, input, { samples, batchSize }).batches()) await executor.run(feeds);
    await executor.dispose();
  } else if (kind === 'fetch') {
    const names = activationCandidates(m.graph).map((c) => c.name).filter((n) => n !== input && (!args['only-conv'] || isConvOutput(m, n)));
    const executor = await createOrtExecutor(m, { extraOutputs: names });
    for await (const feeds of datasetCalibrationData(dataset, input, { samples, batchSize }).batches()) await executor.run(feeds, names);
    await executor.dispose();
  } else if (kind === 'calibrate') {
    const stats = await calibrate(m, {
      data: dataset, samples, batchSize,
      histogram: args.histogram ? { bins: Number(args.histogram) } : false,
      ...(args.mad ? { mad: args.mad as 'auto' | 'one-pass' | 'two-pass' } : {}),
      ...(args['run-bytes'] ? { runBytes: Number(args['run-bytes']) } : {}),
      ...(args.threads ? { threads: Number(args.threads) } : {}),
      ...(args['only-conv'] ? { values: activationCandidates(m.graph).map((c) => c.name).filter((n) => isConvOutput(m, n)) } : {}),
    });
    extra = { passes: stats.passes, activations: stats.activationNames().length, weights: stats.weightNames().length };
  } else if (kind === 'recipe') {
    // As quantize() does: the model's passes run first, the analysis comes when a pass asks for it.
    const work = cloneModel(m);
    const ctx = createPassContext();
    ctx.services
      .set(EXECUTOR_FACTORY, (mm, o) => createOrtExecutor(mm, { ...o, threads: threads() }))
      .set(SOURCE_MODEL, work)
      .set(CALIBRATION_DATA, datasetCalibrationData(dataset, input, { samples, batchSize }))
      .set(CALIBRATION_OPTIONS, {
        histogram: false, layerInputs: layerInputs(), ...(args.mad ? { mad: args.mad as 'auto' | 'one-pass' | 'two-pass' } : {}),
        ...(args['mad-tolerance'] ? { madTolerance: Number(args['mad-tolerance']) } : {}), ...(args.js ? { engine: false } : {}),
      });
    const { graph } = await runPipeline(work.graph, markingPrefix(), ctx);
    const stats = await ctx.getAnalysis(CALIBRATION_STATS, graph);
    extra = { passes: stats.passes, activations: stats.activationNames().length, weights: stats.weightNames().length };
  } else if (kind === 'recipe-fetch') {
    const { model: marked, names } = await markedModel(m, layerInputs());
    const executor = await createOrtExecutor(marked, { extraOutputs: names });
    for await (const feeds of datasetCalibrationData(dataset, input, { samples, batchSize }).batches()) await executor.run(feeds, names);
    await executor.dispose();
  } else if (kind === 'breakdown') {
    if (args.recipe) {
      const { model: marked, candidates } = await markedModel(m, layerInputs());
      extra = await breakdown(marked, dataset, input, samples, candidates);
    } else {
      extra = await breakdown(m, dataset, input, samples, activationCandidates(m.graph));
    }
  }
  const ms = performance.now() - t0;
  process.stdout.write(`${JSON.stringify({ kind, samples, ms, rssMB: peakRssMB(), rssBeforeMB: rssBefore, ...extra })}\n`);
}

/**
 * Where one calibration's time goes: each stage of the analysis timed on its
 * own over the same runs (the analysis's run size: 16 MiB of activations).
 */
async function breakdown(m: Model, dataset: Awaited<ReturnType<typeof openDataset>>, input: string, samples: number, candidates: readonly ActivationCandidate[]): Promise<Record<string, unknown>> {
  const names = candidates.filter((c) => c.name !== input).map((c) => c.name);
  // The second pass fetches and sweeps only the values whose deviations are wanted.
  const again = candidates.filter((c) => c.deviation && c.name !== input).map((c) => c.name);
  const plain = await createOrtExecutor(m, { threads: threads() });
  const fetching = await createOrtExecutor(m, { extraOutputs: names, threads: threads() });
  const probe = await fetching.run({ [input]: (await dataset.batch([0])).inputs }, names);
  const bytesPerSample = names.reduce((s, n) => s + probe[n].byteLength, 0);
  const perRun = Math.max(1, Math.floor(DEFAULT_RUN_BYTES / bytesPerSample));
  const data = datasetCalibrationData(dataset, input, { samples, batchSize: perRun });
  const variants: Record<string, (name: string) => ValueCollector> = {
    'statistics, pass 1 (moments per channel)': (name) => new ValueCollector({ name, perChannel: true, mad: 'two-pass', histogram: false }),
    'histograms 2048 bins (optional)': (name) => new ValueCollector({ name, perChannel: true, mad: false, histogram: { bins: 2048 } }),
    "banded one-pass deviation ('auto', optional)": (name) => new ValueCollector({ name, perChannel: true, mad: 'auto', histogram: false }),
  };
  const collectors = Object.fromEntries(Object.entries(variants).map(([k, make]) => [k, names.map(make)]));
  const fetchStage = `forward + fetch ${args.recipe ? 'the activations the recipe reads' : 'every activation'}`;
  const ms: Record<string, number> = { 'data (decode, preprocess)': 0, 'forward (plain session)': 0, [fetchStage]: 0 };
  for (const k of Object.keys(variants)) ms[k] = 0;
  const fetchAgain = `forward + fetch again, pass 2 (${again.length} values with deviations)`;
  ms[fetchAgain] = 0;
  ms['statistics, pass 2 (deviations)'] = 0;
  let values = 0;
  let t = performance.now();
  for await (const feeds of data.batches()) {
    ms['data (decode, preprocess)'] += performance.now() - t;
    t = performance.now();
    await plain.run(feeds);
    ms['forward (plain session)'] += performance.now() - t;
    t = performance.now();
    const acts = await fetching.run(feeds, names);
    ms[fetchStage] += performance.now() - t;
    for (const n of names) values += acts[n].size;
    for (const [k, list] of Object.entries(collectors)) {
      t = performance.now();
      names.forEach((n, i) => list[i].update(acts[n]));
      ms[k] += performance.now() - t;
    }
    // The second pass's statistics are timed on the same activations (about partial means: the work is the same).
    t = performance.now();
    await fetching.run(feeds, again);
    ms[fetchAgain] += performance.now() - t;
    const first = collectors['statistics, pass 1 (moments per channel)'];
    t = performance.now();
    names.forEach((n, i) => {
      if (again.includes(n)) first[i].updateSecondPass(acts[n]);
    });
    ms['statistics, pass 2 (deviations)'] += performance.now() - t;
    t = performance.now();
  }
  await plain.dispose();
  await fetching.dispose();
  return { activations: names.length, valuesPerSample: values / samples, perRun, stageMs: ms, weightStatisticsMs: weightMs(m) };
}

/** The weight statistics the analysis computes from the constants (once per calibration). */
function weightMs(m: Model): number {
  const t = performance.now();
  weightStatistics(m.graph);
  return performance.now() - t;
}

function runChild(kind: string, samples: number, variant?: Variant): Record<string, number> {
  const more = variant ? ['--variant', variant] : [];
  const r = spawnSync(process.execPath, [...process.execArgv, __filename, ...process.argv.slice(2), '--child', kind, '--samples', String(samples), ...more], {
    encoding: 'utf8', maxBuffer: 1 << 24,
  });
  if (r.status !== 0) throw new Error(`child ${kind} ${samples} failed:\n${r.stderr}`);
  return JSON.parse(r.stdout.trim().split('\n').pop()!);
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

async function parent(): Promise<void> {
  const { name } = await model();
  const sizes = args.samples!.split(',').map(Number);
  const rounds = Number(args.rounds);
  const variants: Variant[] = args.recipe ? (args.variant ? [args.variant as Variant] : ['with-inputs', 'marked-only']) : [];
  console.log(`model: ${name}; data: ${DATA}; batch ${batchSize}; ${rounds} rounds (median), each in a fresh process`);
  const rows: string[] = [];
  const recipeRows: string[] = [];
  const rss: Record<number, Record<string, number>> = {};
  const ms = (xs: Record<string, number>[]) => median(xs.map((p) => p.ms));
  // The machine's load moves between rounds: a ratio is taken within each round (children run back to back), then the median.
  const ratio = (xs: Record<string, number>[], base: Record<string, number>[]) => median(xs.map((p, i) => p.ms / base[i].ms));
  const every = (xs: Record<string, number>[], k: 'ms' | 'rssMB') => xs.map((p) => p[k].toFixed(0)).join(' ');
  for (const n of sizes) {
    const runs: Record<string, Record<string, number>[]> = {};
    const take = (key: string, kind: string, variant?: Variant) => (runs[key] ??= []).push(runChild(kind, n, variant));
    for (let r = 0; r < rounds; r++) {
      take('plain', 'plain');
      take('fetch', 'fetch');
      take('calibrate', 'calibrate');
      for (const v of variants) {
        take(`fetch ${v}`, 'recipe-fetch', v);
        take(`recipe ${v}`, 'recipe', v);
      }
    }
    const a = ms(runs.plain);
    const f = ms(runs.fetch);
    const b = ms(runs.calibrate);
    rss[n] = { plain: median(runs.plain.map((p) => p.rssMB)), calibrate: median(runs.calibrate.map((p) => p.rssMB)) };
    const perRound = runs.calibrate.map((p, i) => `${(p.ms / runs.plain[i].ms).toFixed(1)}x`).join(' ');
    console.log(`${n} images, every round: forward ${every(runs.plain, 'ms')} ms; calibration ${every(runs.calibrate, 'ms')} ms (${perRound}), peak RSS ${every(runs.calibrate, 'rssMB')} MB`);
    rows.push(`| ${n} | ${a.toFixed(0)} | ${f.toFixed(0)} (${ratio(runs.fetch, runs.plain).toFixed(1)}x) | ${b.toFixed(0)} | **${ratio(runs.calibrate, runs.plain).toFixed(1)}x** | ${runs.calibrate[0].passes} | ${rss[n].plain.toFixed(0)} | ${rss[n].calibrate.toFixed(0)} |`);
    for (const v of variants) {
      const rec = runs[`recipe ${v}`];
      const rf = ms(runs[`fetch ${v}`]);
      const c = ms(rec);
      rss[n][v] = median(rec.map((p) => p.rssMB));
      const perRound = rec.map((p, i) => `${(p.ms / runs.plain[i].ms).toFixed(1)}x`).join(' ');
      console.log(`${n} images, every round: ${RECIPE} calibration (${v}) ${every(rec, 'ms')} ms (${perRound} the round's forward), peak RSS ${every(rec, 'rssMB')} MB`);
      recipeRows.push(`| ${v} | ${n} | ${a.toFixed(0)} | ${rf.toFixed(0)} (${ratio(runs[`fetch ${v}`], runs.plain).toFixed(1)}x) | ${c.toFixed(0)} | **${ratio(rec, runs.plain).toFixed(1)}x** | ${ratio(rec, runs.calibrate).toFixed(2)} | ${rec[0].activations} | ${rec[0].passes} | ${rss[n].plain.toFixed(0)} | ${rss[n][v].toFixed(0)} |`);
    }
  }
  console.log('| images | (a) forward ms | forward + fetch all, no statistics, ms | (b) calibration ms | (b)/(a) | passes | peak RSS (a) MB | peak RSS (b) MB |');
  console.log('|---|---|---|---|---|---|---|---|');
  rows.forEach((r) => console.log(r));
  if (variants.length) {
    console.log(`\n(c): ${markingPrefix()}, then the analysis`);
    console.log('| observed | images | (a) forward ms | forward + fetch what is observed, no statistics, ms | (c) recipe calibration ms | (c)/(a) | (c)/(b) | observed activations | passes | peak RSS (a) MB | peak RSS (c) MB |');
    console.log('|---|---|---|---|---|---|---|---|---|---|---|');
    recipeRows.forEach((r) => console.log(r));
  }
  if (sizes.length > 1) {
    const lo = rss[sizes[0]];
    const hi = rss[sizes[sizes.length - 1]];
    const growth = ['calibrate', ...variants].map((k) => `${k} ${(hi[k] - lo[k]).toFixed(1)} MB`).join(', ');
    console.log(`peak RSS, ${sizes[sizes.length - 1]} vs ${sizes[0]} images, more by: ${growth}`);
  }
  if (args.breakdown) {
    const n = sizes[sizes.length - 1];
    for (const v of variants.length ? variants : [undefined]) {
      const b = runChild('breakdown', n, v) as unknown as { activations: number; valuesPerSample: number; perRun: number; stageMs: Record<string, number>; weightStatisticsMs: number };
      console.log(`\nbreakdown${v ? ` of the ${RECIPE} calibration (${v})` : ''} over ${n} images: ${b.activations} activations, ${Math.round(b.valuesPerSample)} values per image, ${b.perRun} images per run; weight statistics ${b.weightStatisticsMs.toFixed(0)} ms once`);
      console.log('| stage | ms | ms / image | ns / value |');
      console.log('|---|---|---|---|');
      for (const [k, t] of Object.entries(b.stageMs)) {
        console.log(`| ${k} | ${t.toFixed(0)} | ${(t / n).toFixed(2)} | ${((t * 1e6) / (n * b.valuesPerSample)).toFixed(2)} |`);
      }
    }
  }
}

(args.child ? child(args.child, Number(args.samples)) : parent()).catch((e) => {
  console.error(e);
  process.exit(1);
});
