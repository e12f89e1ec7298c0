/*
 * What a recipe costs against the min/max recipe on the same model and
 * images: wall time and peak resident memory of one `nibble quantize` CLI
 * process each (docs/benchmarks.md, "Histogram recipes against min/max").
 *
 *   npx tsx tools/bench/recipe-cost.ts [--recipes w4a4-baseline,w4a4-percentile,w4a4-kl,w4a4-mse,nibble-w4a4] [--rounds 3]
 *       [--model out/nsfwjs-mobilenetv2/model.json] [--data images:data/photos/calib] [--preprocess rgb,resize=224x224,unit] [--batch 8]
 *
 * The first recipe is the baseline every ratio is taken against. Rounds run
 * the recipes round-robin (one process of each in turn), so load on the
 * machine falls on all of them alike; the table shows the median over
 * rounds of each figure and of each per-round ratio. Peak memory is the
 * child's maximum resident set size as GNU time reports it (/usr/bin/time
 * -f); the default model is nsfwjs's MobileNetV2 as
 * tools/bench/pretrained/export-nsfwjs.ts writes it.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { workspaceRoot } from 'nibble';

const ROOT = workspaceRoot();
const TIME = '/usr/bin/time';

function usage(message: string): never {
  console.error(`${message}\nusage: npx tsx tools/bench/recipe-cost.ts [--recipes a,b,...] [--rounds N] [--model F] [--data D] [--preprocess P] [--batch B]`);
  process.exit(2);
}

interface Run { wallS: number; peakMb: number }

function runOnce(recipe: string, args: Record<string, string>, out: string): Run {
  const cli = [join(ROOT, 'node_modules', '.bin', 'tsx'), join(ROOT, 'apps', 'cli', 'src', 'main.ts'), 'quantize', args.model, '--recipe', recipe,
    '--data', args.data, '--preprocess', args.preprocess, '--batch', args.batch, '--force', '--out', out];
  const r = spawnSync(TIME, ['-f', 'nibble-cost %e %M', ...cli], { cwd: ROOT, encoding: 'utf8', maxBuffer: 64 << 20 });
  const line = r.stderr.split('\n').find((l) => l.startsWith('nibble-cost '));
  if (r.status !== 0 || !line) usage(`quantize with ${recipe} failed (exit ${r.status}):\n${r.stderr.slice(-2000)}`);
  const [, wall, kb] = line.split(' ');
  return { wallS: Number(wall), peakMb: Number(kb) / 1024 };
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

function main(): void {
  const { values } = parseArgs({
    options: {
      recipes: { type: 'string', default: 'w4a4-baseline,w4a4-percentile,w4a4-kl,w4a4-mse,nibble-w4a4' },
      rounds: { type: 'string', default: '3' },
      model: { type: 'string', default: join('out', 'nsfwjs-mobilenetv2', 'model.json') },
      data: { type: 'string', default: 'images:data/photos/calib' },
      preprocess: { type: 'string', default: 'rgb,resize=224x224,unit' },
      batch: { type: 'string', default: '8' },
    },
  });
  const recipes = values.recipes!.split(',').filter(Boolean);
  const rounds = Number(values.rounds);
  if (recipes.length < 2) usage('--recipes needs the baseline and at least one more');
  if (!Number.isInteger(rounds) || rounds < 1) usage(`--rounds takes a positive integer, got '${values.rounds}'`);
  if (!existsSync(TIME)) usage(`${TIME} (GNU time) is missing: it reports the peak memory (apt package 'time')`);
  if (!existsSync(join(ROOT, values.model!))) {
    usage(`${values.model} does not exist${values.model!.includes('nsfwjs') ? ' (npx tsx tools/bench/pretrained/export-nsfwjs.ts writes it)' : ''}`);
  }
  const dir = mkdtempSync(join(tmpdir(), 'nibble-cost-'));
  const runs = new Map<string, Run[]>(recipes.map((r) => [r, []]));
  try {
    for (let round = 0; round < rounds; round++) {
      for (const recipe of recipes) {
        const run = runOnce(recipe, values as Record<string, string>, join(dir, `${recipe}.onnx`));
        runs.get(recipe)!.push(run);
        console.error(`round ${round + 1}/${rounds} ${recipe}: ${run.wallS.toFixed(2)} s, ${run.peakMb.toFixed(0)} MB`);
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const base = runs.get(recipes[0])!;
  console.log(`model ${values.model}, data ${values.data}, batch ${values.batch}, ${rounds} round(s); ratios against ${recipes[0]}, median of per-round ratios\n`);
  console.log('| recipe | wall s | wall / baseline | peak RSS MB | peak / baseline |');
  console.log('|---|---:|---:|---:|---:|');
  for (const recipe of recipes) {
    const r = runs.get(recipe)!;
    const wallRatio = median(r.map((x, i) => x.wallS / base[i].wallS));
    const memRatio = median(r.map((x, i) => x.peakMb / base[i].peakMb));
    console.log(`| ${recipe} | ${median(r.map((x) => x.wallS)).toFixed(1)} | ${wallRatio.toFixed(2)}x | ${median(r.map((x) => x.peakMb)).toFixed(0)} | ${memRatio.toFixed(2)}x |`);
  }
}

main();
