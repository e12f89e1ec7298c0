/*
 * Why ACIQ can lose to min/max: where its range ends beyond the largest
 * value the calibration data held, levels are spent on values that never
 * occur. This reads statistics written by `nibble calibrate` and, for the
 * activations whose names match --match (for the zoo models, the BN outputs:
 * after fold-bn they are the conv outputs quant-policy marks, with the ReLU
 * fused, hence one-sided), prints per bit-width how many channels get an
 * ACIQ Laplace range above the observed max, the quartiles of range / max,
 * and the quartiles of std / b (mean absolute deviation): sqrt(2) = 1.414
 * for a Laplace distribution, sqrt(pi/2) = 1.253 for a Gaussian.
 *
 *   npx tsx apps/cli/bin/nibble.js calibrate models/fmnist-resnet20.onnx --data fashion-mnist:calib --samples 512 --out /tmp/stats.json
 *   npx tsx tools/bench/accuracy/aciq-ranges.ts /tmp/stats.json [--match _bn$] [--bits 3,4] [--two-sided REGEX] [--cap 6]
 *
 * --two-sided names the matched values no ReLU follows (MobileNetV2's linear
 * bottlenecks, `_project_bn$`): their range is ACIQ's two-sided one,
 * lo = max(min, mean - a), hi = lo + 2a, compared with the observed max.
 * --cap is a ReLU6-style bound the one-sided values are capped at (ranges
 * and observed maxima both), as the clipping passes do.
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { aciqRange } from '@nibble/pass-clipping';

interface ChannelTable {
  channels: number;
  min: number[];
  max: number[];
  mean: number[];
  std: number[];
  mad: number[];
  count: number[];
}

function quartiles(v: number[]): string {
  const s = [...v].sort((a, b) => a - b);
  return [0.25, 0.5, 0.75].map((q) => s[Math.min(s.length - 1, Math.floor(q * s.length))].toFixed(2)).join(' / ');
}

function main(): void {
  const { values, positionals } = parseArgs({ allowPositionals: true, options: { match: { type: 'string', default: '_bn$' }, bits: { type: 'string', default: '3,4' }, 'two-sided': { type: 'string' }, cap: { type: 'string' } } });
  if (positionals.length !== 1) throw new Error('usage: npx tsx tools/bench/accuracy/aciq-ranges.ts <stats.json from nibble calibrate> [--match REGEX] [--bits 3,4]');
  const stats = JSON.parse(readFileSync(positionals[0], 'utf8')) as { samples: number; activations: { name: string; perChannel: ChannelTable }[] };
  const match = new RegExp(values.match!);
  const chosen = stats.activations.filter((a) => match.test(a.name));
  if (chosen.length === 0) throw new Error(`no activation name matches /${values.match}/`);
  const spread: number[] = [];
  for (const a of chosen) for (let c = 0; c < a.perChannel.channels; c++) if (a.perChannel.mad[c] > 0) spread.push(a.perChannel.std[c] / a.perChannel.mad[c]);
  console.log(`${chosen.length} activations, ${spread.length} channels, ${stats.samples} samples; std / b quartiles ${quartiles(spread)} (Laplace 1.414, Gauss 1.253)`);
  const twoSided = values['two-sided'] ? new RegExp(values['two-sided']) : undefined;
  const cap = values.cap === undefined ? Infinity : Number(values.cap);
  for (const sided of ['one-sided', 'two-sided'] as const) {
    const group = chosen.filter((a) => (twoSided?.test(a.name) ?? false) === (sided === 'two-sided'));
    if (group.length === 0) continue;
    for (const bits of values.bits!.split(',').map(Number)) {
      let beyond = 0;
      const ratio: number[] = [];
      for (const a of group) {
        const t = a.perChannel;
        for (let c = 0; c < t.channels; c++) {
          const oneSided = sided === 'one-sided';
          const max = oneSided ? Math.min(t.max[c], cap) : t.max[c];
          const width = oneSided ? max : t.max[c] - t.min[c];
          if (!(width > 0)) continue;
          const r = aciqRange({ min: t.min[c], max: t.max[c], mean: t.mean[c], meanAbsDev: t.mad[c], std: t.std[c] }, { prior: 'laplace', bits, oneSided });
          const hi = oneSided ? Math.min(r.hi, cap) : r.hi;
          if (hi > max) beyond++;
          ratio.push((hi - (oneSided ? 0 : r.lo)) / width);
        }
      }
      console.log(`${sided}, ${bits} bits${sided === 'one-sided' ? ` (alpha of ${bits + 1} bits)` : ''}: ${beyond} of ${ratio.length} channels end above the observed max; ` +
        `ACIQ range / observed range quartiles ${quartiles(ratio)}`);
    }
  }
}

main();
