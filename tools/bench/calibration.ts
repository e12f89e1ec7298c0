/*
 * Calibration against a plain forward pass (docs/benchmarks.md).
 *
 *   npx tsx tools/bench/calibration.ts [--model M.onnx] [--samples 32,512] [--batch 32] [--rounds 3] [--breakdown]
 *
 * For each N, child processes (so that no two measurements share a heap
 * high-water mark) time (a) onnxruntime running the model over N images of
 * fashion-mnist:calib and (b) nibble's full calibration over the same N
 * images, and report peak RSS. --breakdown splits one calibration's time
 * into the forward pass, fetching every activation, and each collector.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { createOrtExecutor } from '@nibble/runtime';
import { activationCandidates, DEFAULT_RUN_BYTES, ValueCollector } from '@nibble/stats';
import { calibrate, datasetCalibrationData, loadModel, workspaceRoot } from 'nibble';
import { openDataset } from '@nibble/data';
import type { Model } from '@nibble/ir';
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
    child: { type: 'string' },
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
  } else if (kind === 'breakdown') {
    extra = await breakdown(m, dataset, input, samples);
  }
  const ms = performance.now() - t0;
  process.stdout.write(`${JSON.stringify({ kind, samples, ms, rssMB: peakRssMB(), rssBeforeMB: rssBefore, ...extra })}\n`);
}

/**
 * Where one calibration's time goes: each stage of the analysis timed on its
 * own over the same runs (the analysis's run size: 16 MiB of activations).
 */
async function breakdown(m: Model, dataset: Awaited<ReturnType<typeof openDataset>>, input: string, samples: number): Promise<Record<string, unknown>> {
  const names = activationCandidates(m.graph).map((c) => c.name).filter((n) => n !== input);
  const plain = await createOrtExecutor(m);
  const fetching = await createOrtExecutor(m, { extraOutputs: names });
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
  const ms: Record<string, number> = { 'data (decode, preprocess)': 0, 'forward (plain session)': 0, 'forward + fetch every activation': 0 };
  for (const k of Object.keys(variants)) ms[k] = 0;
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
    ms['forward + fetch every activation'] += performance.now() - t;
    for (const n of names) values += acts[n].size;
    for (const [k, list] of Object.entries(collectors)) {
      t = performance.now();
      names.forEach((n, i) => list[i].update(acts[n]));
      ms[k] += performance.now() - t;
    }
    // The second pass is timed on the same activations (its forward costs what the first did).
    const first = collectors['statistics, pass 1 (moments per channel)'];
    first.forEach((c) => c.needsSecondPass);
    t = performance.now();
    names.forEach((n, i) => first[i].updateSecondPass(acts[n]));
    ms['statistics, pass 2 (deviations)'] += performance.now() - t;
    t = performance.now();
  }
  await plain.dispose();
  await fetching.dispose();
  return { activations: names.length, valuesPerSample: values / samples, perRun, stageMs: ms };
}

function runChild(kind: string, samples: number): Record<string, number> {
  const r = spawnSync(process.execPath, [...process.execArgv, __filename, ...process.argv.slice(2), '--child', kind, '--samples', String(samples)], {
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
  console.log(`model: ${name}; data: ${DATA}; batch ${batchSize}; ${rounds} rounds (median), each in a fresh process`);
  const rows: string[] = [];
  const rss: Record<number, { plain: number; calibrate: number }> = {};
  for (const n of sizes) {
    const plain: Record<string, number>[] = [];
    const fetch: Record<string, number>[] = [];
    const cal: Record<string, number>[] = [];
    for (let r = 0; r < rounds; r++) {
      plain.push(runChild('plain', n));
      fetch.push(runChild('fetch', n));
      cal.push(runChild('calibrate', n));
    }
    const a = median(plain.map((p) => p.ms));
    const f = median(fetch.map((p) => p.ms));
    const b = median(cal.map((p) => p.ms));
    rss[n] = { plain: median(plain.map((p) => p.rssMB)), calibrate: median(cal.map((p) => p.rssMB)) };
    console.log(`${n} images, every round: forward ${plain.map((p) => p.ms.toFixed(0)).join(' ')} ms; calibration ${cal.map((p) => p.ms.toFixed(0)).join(' ')} ms, peak RSS ${cal.map((p) => p.rssMB.toFixed(0)).join(' ')} MB`);
    rows.push(`| ${n} | ${a.toFixed(0)} | ${f.toFixed(0)} (${(f / a).toFixed(1)}x) | ${b.toFixed(0)} | **${(b / a).toFixed(1)}x** | ${cal[0].passes} | ${rss[n].plain.toFixed(0)} | ${rss[n].calibrate.toFixed(0)} |`);
  }
  console.log('| images | (a) forward ms | forward + fetch all, no statistics, ms | (b) calibration ms | (b)/(a) | passes | peak RSS (a) MB | peak RSS (b) MB |');
  console.log('|---|---|---|---|---|---|---|---|');
  rows.forEach((r) => console.log(r));
  if (sizes.length > 1) {
    const lo = rss[sizes[0]].calibrate;
    const hi = rss[sizes[sizes.length - 1]].calibrate;
    console.log(`calibration peak RSS, ${sizes[sizes.length - 1]} vs ${sizes[0]} images: ${(hi - lo).toFixed(1)} MB more`);
  }
  if (args.breakdown) {
    const n = sizes[sizes.length - 1];
    const b = runChild('breakdown', n) as unknown as { activations: number; valuesPerSample: number; perRun: number; stageMs: Record<string, number> };
    console.log(`\nbreakdown over ${n} images: ${b.activations} activations, ${Math.round(b.valuesPerSample)} values per image, ${b.perRun} images per run`);
    console.log('| stage | ms | ms / image | ns / value |');
    console.log('|---|---|---|---|');
    for (const [k, v] of Object.entries(b.stageMs)) {
      console.log(`| ${k} | ${v.toFixed(0)} | ${(v / n).toFixed(2)} | ${((v * 1e6) / (n * b.valuesPerSample)).toFixed(2)} |`);
    }
  }
}

(args.child ? child(args.child, Number(args.samples)) : parent()).catch((e) => {
  console.error(e);
  process.exit(1);
});
