/*
 * The long fuzz run: `npx tsx tools/fuzz/run.ts [--runs 100000] [--seed 1] [--only onnx,tflite]`.
 * Prints one JSON line per target (inputs, accepted, rejected by code,
 * findings with their replayable index, slowest input) and exits 1 on any finding.
 */
import { parseArgs } from 'node:util';
import { fuzzTarget, targets } from './targets';

async function main(): Promise<number> {
  const { values } = parseArgs({ options: { runs: { type: 'string' }, seed: { type: 'string' }, only: { type: 'string' } } });
  const runs = Number(values.runs ?? 100000);
  const seed = Number(values.seed ?? 1);
  const only = values.only?.split(',');
  let findings = 0;
  const all = targets();
  for (const t of all) {
    if (only && !only.includes(t.name)) continue;
    const t0 = performance.now();
    const fig = await fuzzTarget(t, seed, runs);
    findings += fig.findings.length;
    process.stdout.write(`${JSON.stringify({ ...fig, findings: fig.findings.slice(0, 20), findingCount: fig.findings.length, seconds: Math.round((performance.now() - t0) / 100) / 10, peakRssMB: Math.round(process.memoryUsage().rss / 2 ** 20) })}\n`);
  }
  for (const t of all) t.dispose?.();
  return findings > 0 ? 1 : 0;
}

main().then((code) => { process.exitCode = code; });
