import { type FitReport, fitModel, listDevices, loadModel, NibbleError } from 'nibble';
import { jsonOption, type Command } from '../shared/command';
import { stringFlag } from '../shared/flags';
import { table } from '../shared/format';

const KiB = 1024;

/** Bytes for people: B under 1 KiB, then KiB and MiB. */
export function bytesText(n: number): string {
  if (n < KiB) return `${n} B`;
  if (n < KiB * KiB) return `${(n / KiB).toFixed(1)} KiB`;
  return `${(n / (KiB * KiB)).toFixed(2)} MiB`;
}

const verdict = (fits: boolean): string => (fits ? 'fits' : 'does NOT fit');

function reportLines(model: string, r: FitReport): string[] {
  const f = r.footprint;
  const lines = [
    `model: ${model} (${f.quantized ? 'quantized' : 'float'})`,
    `device: ${r.device.name}: ${r.device.summary}`,
    '',
    table(['layer', 'op', 'bits', 'bytes'], f.layers.map((l) => [l.node, l.op, l.bits, l.bytes])),
    '',
    `weights: ${bytesText(r.weights.bytes)} of ${bytesText(r.weights.budget)}: ${verdict(r.weights.fits)}`,
    `arena:   ${bytesText(r.arena.peakBytes)} peak${r.arena.at ? ` (at ${r.arena.at})` : ''} of ${bytesText(r.arena.budget)}: ${verdict(r.arena.fits)} (from value lifetimes, batch 1)`,
    `kernels: ${r.missingKernels.length ? `missing ${r.missingKernels.join(', ')}` : 'all present'}`,
  ];
  if (r.needsQuantization) lines.push(`${r.device.name} has no float kernels: the model must be quantized`);
  lines.push(`verdict: ${verdict(r.fits)}`);
  if (r.recipes) {
    lines.push('', 'recipes (estimated from each recipe\'s quantization policy, before calibration):');
    lines.push(table(['recipe', 'weights', 'arena', 'fits'], r.recipes.map((x) => [x.recipe, bytesText(x.weightBytes), bytesText(x.arenaPeakBytes), x.fits ? 'yes' : 'no'])));
    lines.push(r.recommended
      ? `recommended: ${r.recommended} (the fitting recipe that keeps the most bits): nibble quantize ${model} --recipe ${r.recommended} ...`
      : 'no recipe makes it fit: a smaller model, or a device with more memory');
  }
  return lines;
}

export const fitCommand: Command = {
  name: 'fit',
  summary: 'does a model fit a device? weight bytes per layer, the activation arena\'s peak, kernels; for a float model, which recipe fits',
  usage: '<model> --device <profile> [--json]',
  positionals: [1, 1],
  options: {
    device: { type: 'string', valueName: 'profile', description: `the device profile: ${listDevices().map((d) => d.name).join(', ')}` },
    ...jsonOption,
  },
  async run(args, io) {
    const device = stringFlag(args.values.device);
    if (!device) {
      throw new NibbleError('E_BAD_OPTION', 'nibble fit needs --device', {
        option: 'device', hint: `profiles: ${listDevices().map((d) => `${d.name} (${d.summary})`).join('; ')}`,
      });
    }
    const [modelPath] = args.positionals;
    const report = await fitModel(await loadModel(modelPath), device);
    io.out(args.values.json ? JSON.stringify({ model: modelPath, ...report }, null, 2) : reportLines(modelPath, report).join('\n'));
    // Exit 0 either way: "does not fit" is an answer, not an error.
    return 0;
  },
};
