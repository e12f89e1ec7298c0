import { DTYPES } from '@nibble/ir';
import { readTfjsModel } from '@nibble/tfjs';
import { fitModel, type FitReport } from 'nibble';
import { nsfwjsSource } from './testing/nsfwjs';

/*
 * `nibble fit`'s question on a real network: nsfwjs MobileNetV2 (224x224,
 * TF.js layers model) against the three device profiles. The weight bytes
 * are checked against a count made here from the constants; the verdicts
 * follow from the budgets.
 */

let reports: Record<string, FitReport>;
let floatBytes: number;

beforeAll(async () => {
  const model = await readTfjsModel(nsfwjsSource('mobilenet_v2'));
  floatBytes = model.graph.initializers.reduce((s, v) => s + (v.const!.size * DTYPES[v.const!.dtype].bits) / 8, 0);
  reports = {};
  for (const device of ['cortex-m7', 'esp32-s3', 'phone-browser']) reports[device] = await fitModel(model, device);
}, 300_000);

it('counts every constant of the float model at its stored width', () => {
  for (const r of Object.values(reports)) {
    expect(r.weights.bytes).toBe(floatBytes);
    expect(r.footprint.layers.reduce((s, l) => s + l.bytes, 0)).toBe(floatBytes);
  }
});

it('answers per profile, and a recommended recipe fits its budgets', () => {
  // At 4-bit codes the arena is 1.2 MB: beyond the MCU's 512 KiB of SRAM, within the ESP32-S3's PSRAM and a page's memory.
  expect(reports['cortex-m7'].recommended).toBeNull();
  expect(reports['esp32-s3'].recommended).not.toBeNull();
  expect(reports['phone-browser'].recommended).not.toBeNull();
  for (const r of Object.values(reports)) {
    expect(r.fits).toBe(false); // float, and none of the profiles has float kernels
    for (const x of r.recipes!) {
      expect(x.fits).toBe(x.missingKernels.length === 0 && x.weightBytes <= r.device.weightBudgetBytes && x.arenaPeakBytes <= r.device.arenaBudgetBytes);
    }
    if (r.recommended) expect(r.recipes!.find((x) => x.recipe === r.recommended)!.fits).toBe(true);
    else expect(r.recipes!.every((x) => !x.fits)).toBe(true);
  }
});
