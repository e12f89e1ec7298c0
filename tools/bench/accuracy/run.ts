/*
 * Accuracy benchmark of the zoo models in the layout of the paper's table
 * (docs/accuracy.md, section zoo-fashion-mnist; every number in
 * docs/accuracy-zoo.json).
 *
 *   npx tsx tools/bench/accuracy/run.ts [--models resnet20,vgg,mobilenetv2] [--seeds 5] [--samples 32,512]
 *       [--limit N] [--recipes r1,r2] [--jobs J] [--estimate] [--fill-entropy] [--doc F] [--json F] [--cache-dir D]
 *
 * The defaults are the full configuration. Every finished cell (model,
 * recipe, calibration size, seed, test size) goes into the committed cache
 * at once, so a killed run resumes where it stopped and a finished one
 * regenerates the table without measuring anything. --models also takes
 * name=path for a model outside the zoo. --jobs runs cells in that many
 * single-threaded worker processes. --estimate prints the plan and its
 * estimated duration (from the timings of cached cells) and stops.
 * --fill-entropy gives cached cells measured before the entropy columns
 * their entropy (quantize only, no evaluation).
 */
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { isAbsolute, join, relative, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { parsePipeline, printPipeline } from '@nibble/core';
import { openDataset } from '@nibble/data';
import { loadModel, resolvePipelineChoice, workspaceRoot } from 'nibble';
import { writeDocSection } from '../shared/doc-section';
import { type ModelSummary, type Plan, summariseModel } from './aggregate';
import {
  cellKey, type CellResult, freshCell, writeJsonAtomic, logitsPath, type ModelCache, readLogits, readModelCache, sha256OfFile, writeLogits, writeModelCache,
} from './cache';
import { measureEntropy, measureFloat, quantizeCell } from './cell';
import { DEFAULTS, labelOf, pipelineChoiceOf, ROW_NAMES, TEST_DATA, ZOO } from './config';
import { runPool } from './pool';
import { renderSection } from './table';
import type { WorkerTask } from './worker';

const ROOT = workspaceRoot();
const SECTION = 'zoo-fashion-mnist';

interface ModelEntry {
  name: string;
  label: string;
  /** As given or as the zoo lists it (relative to the workspace root when inside it). */
  file: string;
  path: string;
}

function usage(message: string): never {
  console.error(`${message}\nusage: npx tsx tools/bench/accuracy/run.ts [--models resnet20,vgg,mobilenetv2|name=path] [--seeds 5] ` +
    '[--samples 32,512] [--limit N] [--recipes r1,r2] [--jobs J] [--estimate] [--fill-entropy] [--doc F] [--json F] [--cache-dir D]');
  process.exit(2);
}

function positiveInts(text: string, option: string): number[] {
  const v = text.split(',').map((s) => Number(s.trim()));
  if (v.length === 0 || v.some((x) => !Number.isSafeInteger(x) || x <= 0)) usage(`--${option} takes positive integers, got '${text}'`);
  return v;
}

function resolveModels(text: string): ModelEntry[] {
  return text.split(',').map((item) => {
    const eq = item.indexOf('=');
    if (eq > 0) {
      const name = item.slice(0, eq);
      const path = resolve(item.slice(eq + 1));
      const rel = relative(ROOT, path);
      return { name, label: name, file: rel.startsWith('..') || isAbsolute(rel) ? path : rel, path };
    }
    const z = ZOO.find((m) => m.name === item);
    if (!z) usage(`unknown model '${item}': zoo models are ${ZOO.map((m) => m.name).join(', ')} (or give name=path)`);
    return { name: z.name, label: z.label, file: z.file, path: join(ROOT, z.file) };
  });
}

/** The command line that regenerates this configuration, in a canonical form (defaults left out). */
function canonicalCommand(models: ModelEntry[], plan: Plan, testSize: number, recipesGiven: boolean): string {
  const parts = ['npx tsx tools/bench/accuracy/run.ts'];
  const zooDefault = models.length === ZOO.length && models.every((m, i) => m.name === ZOO[i].name && m.file === ZOO[i].file);
  if (!zooDefault) parts.push(`--models ${models.map((m) => (ZOO.some((z) => z.name === m.name && z.file === m.file) ? m.name : `${m.name}=${m.file}`)).join(',')}`);
  if (plan.seeds.length !== DEFAULTS.seeds) parts.push(`--seeds ${plan.seeds.length}`);
  if (plan.samples.join(',') !== DEFAULTS.samples.join(',')) parts.push(`--samples ${plan.samples.join(',')}`);
  if (plan.n !== testSize) parts.push(`--limit ${plan.n}`);
  if (recipesGiven) parts.push(`--recipes ${plan.recipes.join(',')}`);
  return parts.join(' ');
}

/**
 * One run at a time per cache: two would measure the same cells twice and
 * overwrite each other's files. A lock whose process is gone is taken over.
 */
function lockCache(cacheDir: string): void {
  mkdirSync(cacheDir, { recursive: true });
  const lock = join(cacheDir, '.lock');
  for (;;) {
    try {
      writeFileSync(lock, String(process.pid), { flag: 'wx' });
      break;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      const pid = Number(readFileSync(lock, 'utf8'));
      let alive = false;
      try {
        alive = Number.isSafeInteger(pid) && pid > 0 && process.kill(pid, 0);
      } catch {
        alive = false;
      }
      if (alive) usage(`another benchmark run (pid ${pid}) is using ${cacheDir}; wait for it or stop it (${lock})`);
      rmSync(lock, { force: true });
    }
  }
  process.on('exit', () => {
    if (existsSync(lock) && readFileSync(lock, 'utf8') === String(process.pid)) rmSync(lock, { force: true });
  });
}

function duration(ms: number): string {
  const s = Math.round(ms / 1000);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  return h > 0 ? `${h} h ${String(m).padStart(2, '0')} min` : m > 0 ? `${m} min ${String(s % 60).padStart(2, '0')} s` : `${s} s`;
}

/** Expected wall time of a cell: the mean of cached cells of the same recipe and size, scaled to n test images. */
function estimator(caches: ModelCache[]): (recipe: string, samples: number, n: number) => number | undefined {
  const all = caches.flatMap((c) => Object.values(c.cells));
  const evalPerImage = all.length ? all.reduce((a, c) => a + c.ms.evaluate / c.n, 0) / all.length : undefined;
  return (recipe, samples, n) => {
    const same = all.filter((c) => c.recipe === recipe && c.samples === samples);
    if (same.length === 0 || evalPerImage === undefined) return undefined;
    return same.reduce((a, c) => a + c.ms.quantize, 0) / same.length + evalPerImage * n;
  };
}

/**
 * Cells measured before the entropy columns (issue 19) get them without
 * being evaluated again: the recipe quantizes on the same seeded images,
 * which gives the same model, and only the entropy is measured.
 */
async function fillEntropy(models: ModelEntry[], caches: Map<string, ModelCache>, plan: Plan, pipelines: Map<string, string>, cacheDir: string): Promise<void> {
  for (const seed of plan.seeds) {
    for (const m of models) {
      const cache = caches.get(m.name)!;
      for (const samples of plan.samples) {
        for (const recipe of plan.recipes) {
          const cell = freshCell(cache, cellKey(recipe, samples, seed, plan.n), pipelines.get(recipe)!);
          if (!cell || cell.entropyWeights !== undefined) continue;
          const { model: q } = await quantizeCell(await loadModel(m.path), { recipe, samples, seed });
          const e = await measureEntropy(q, { samples, seed });
          cell.entropyWeights = e.weights;
          cell.entropyActivations = e.activations;
          writeModelCache(cacheDir, cache);
          console.log(`${m.name} ${recipe} samples=${samples} seed=${seed}: entropy ${e.weights?.toFixed(2)}/${e.activations?.toFixed(2)} bits per value (filled in)`);
        }
      }
    }
  }
}

async function main(): Promise<void> {
  const { values: args } = parseArgs({
    options: {
      models: { type: 'string', default: ZOO.map((m) => m.name).join(',') },
      seeds: { type: 'string', default: String(DEFAULTS.seeds) },
      samples: { type: 'string', default: DEFAULTS.samples.join(',') },
      limit: { type: 'string' },
      recipes: { type: 'string' },
      jobs: { type: 'string', default: '1' },
      estimate: { type: 'boolean', default: false },
      'fill-entropy': { type: 'boolean', default: false },
      doc: { type: 'string', default: join(ROOT, 'docs', 'accuracy.md') },
      json: { type: 'string', default: join(ROOT, 'docs', 'accuracy-zoo.json') },
      'cache-dir': { type: 'string', default: join(__dirname, 'cache') },
    },
  });
  const models = resolveModels(args.models!);
  const missing = models.filter((m) => !existsSync(m.path));
  if (missing.length > 0) {
    usage(`missing model files: ${missing.map((m) => m.file).join(', ')} (train and export them with tools/zoo, or choose others with --models)`);
  }
  const order = ROW_NAMES;
  const given = args.recipes ? [...new Set(args.recipes.split(','))] : order;
  for (const r of given) if (!order.includes(r)) usage(`unknown recipe '${r}': the table's rows are ${order.join(', ')}`);
  // Rows always in the table's order, whatever order --recipes lists them in.
  const recipes = order.filter((r) => given.includes(r));
  const expand = (recipe: string) => resolvePipelineChoice({ recipe }).text;
  const pipelines = new Map(recipes.map((r) => [r, printPipeline(parsePipeline(resolvePipelineChoice(pipelineChoiceOf(r, expand)).text))]));
  const testSize = (await openDataset(TEST_DATA)).length;
  const n = args.limit ? Math.min(positiveInts(args.limit, 'limit')[0], testSize) : testSize;
  const seedCount = positiveInts(args.seeds!, 'seeds')[0];
  const plan: Plan = { recipes, samples: positiveInts(args.samples!, 'samples'), seeds: Array.from({ length: seedCount }, (_, i) => i), n };
  const jobs = positiveInts(args.jobs!, 'jobs')[0];
  const cacheDir = args['cache-dir']!;

  const caches = new Map<string, ModelCache>();
  for (const m of models) caches.set(m.name, readModelCache(cacheDir, m.name, m.file, sha256OfFile(m.path)));

  // Seeds outermost: a run stopped early leaves whole seeds of every recipe, which already make a table.
  const pending: { model: ModelEntry; spec: WorkerTask['spec'] }[] = [];
  for (const seed of plan.seeds) {
    for (const m of models) {
      const cache = caches.get(m.name)!;
      for (const samples of plan.samples) {
        for (const recipe of recipes) {
          if (!freshCell(cache, cellKey(recipe, samples, seed, n), pipelines.get(recipe)!)) pending.push({ model: m, spec: { recipe, samples, seed, n } });
        }
      }
    }
  }
  const total = models.length * recipes.length * plan.samples.length * plan.seeds.length;
  const estimate = estimator([...caches.values()]);
  const known = pending.map((p) => estimate(p.spec.recipe, p.spec.samples, n));
  const knownMs = known.reduce<number>((a, v) => a + (v ?? 0), 0);
  const unknown = known.filter((v) => v === undefined).length;
  const cost = unknown === pending.length
    ? ': no cell of these kinds timed yet, so no estimate (see tools/bench/accuracy/README.md for measured costs)'
    : `: about ${duration(knownMs / jobs)}${unknown ? ` plus ${unknown} cells of kinds not timed yet` : ''}`;
  console.log(`${total} cells, ${total - pending.length} cached, ${pending.length} to measure on ${jobs} worker(s)${pending.length ? cost : ''}`);
  if (args.estimate) return;
  lockCache(cacheDir);

  for (const m of models) {
    const cache = caches.get(m.name)!;
    const lp = logitsPath(cacheDir, m.name, cache.sha256, n);
    const needsLogits = pending.some((p) => p.model === m) && !readLogits(lp);
    if (!cache.float[String(n)] || needsLogits) {
      const ref = await measureFloat(await loadModel(m.path), n);
      const before = cache.float[String(n)];
      if (before && before.correct !== ref.correct) console.warn(`${m.name}: float32 top-1 changed from the cached ${before.top1} to ${ref.top1}`);
      writeLogits(lp, ref.logits);
      cache.float[String(n)] = { n: ref.n, correct: ref.correct, top1: ref.top1, classes: ref.classes, ms: Math.round(ref.ms) };
      writeModelCache(cacheDir, cache);
      console.log(`${m.name}: float32 top-1 ${(ref.top1 * 100).toFixed(2)} % on ${n} test images (${duration(ref.ms)})`);
    }
  }

  if (args['fill-entropy']) await fillEntropy(models, caches, plan, pipelines, cacheDir);

  let done = 0;
  let remainingMs = knownMs;
  const t0 = performance.now();
  const tasks = pending.map((p) => {
    const cache = caches.get(p.model.name)!;
    return { modelPath: p.model.path, logitsPath: logitsPath(cacheDir, p.model.name, cache.sha256, n), float: cache.float[String(n)], spec: p.spec };
  });
  await runPool(tasks, jobs, (task, result: CellResult) => {
    const entry = models.find((m) => m.path === task.modelPath)!;
    const cache = caches.get(entry.name)!;
    cache.cells[cellKey(result.recipe, result.samples, result.seed, result.n)] = result;
    writeModelCache(cacheDir, cache);
    done++;
    remainingMs -= estimate(result.recipe, result.samples, n) ?? 0;
    const elapsed = performance.now() - t0;
    // Until every kind of cell has a timing, extrapolate from the cells done so far.
    const eta = unknown > 0 ? (elapsed / done) * (pending.length - done) : Math.max(0, remainingMs / jobs);
    console.log(`[${done}/${pending.length}] ${entry.name} ${result.recipe} samples=${result.samples} seed=${result.seed}: ` +
      `top-1 ${(result.top1 * 100).toFixed(2)} %, agreement ${(result.agreement * 100).toFixed(2)} %, ` +
      `SQNR ${result.sqnrDb === null ? '∞' : result.sqnrDb.toFixed(1)} dB, bits ${result.bitsWeights?.toFixed(2)}/${result.bitsActivations?.toFixed(2)} ` +
      `(quantize ${duration(result.ms.quantize)}, evaluate ${duration(result.ms.evaluate)}); about ${duration(eta)} left`);
  });

  const summaries: ModelSummary[] = models.map((m) => summariseModel(caches.get(m.name)!, plan, { label: m.label }));
  const command = canonicalCommand(models, plan, testSize, args.recipes !== undefined);
  writeDocSection(args.doc!, SECTION, renderSection(summaries, { plan, command, testSize }), '# Accuracy');
  writeJsonAtomic(args.json!, {
    benchmark: SECTION,
    command,
    protocol: {
      test: TEST_DATA, n, testSize, calibration: 'fashion-mnist:calib', samples: plan.samples, seeds: plan.seeds,
      statistics: 'mean and sample standard deviation over seeds; differences paired by seed',
      runtime: 'onnxruntime-node, one thread',
    },
    recipes: recipes.map((r) => ({ name: r, label: labelOf(r), pipeline: pipelines.get(r) })),
    models: summaries,
  });
  console.log(`wrote ${relative(process.cwd(), args.doc!)} (section ${SECTION}) and ${relative(process.cwd(), args.json!)}`);
}

main().catch((e) => {
  console.error(e instanceof Error ? (e.stack ?? e.message) : e);
  process.exit(1);
});
