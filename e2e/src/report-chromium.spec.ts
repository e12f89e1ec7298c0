import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadModel, quantize, writeQuantizeReport } from 'nibble';
import { workspaceRoot } from '@nibble/testing';

/*
 * The quantize report opened in Debian's Chromium (playwright-core): it
 * renders its sections, logs no console error and asks the network for
 * nothing. NIBBLE_WRITE_SCREENSHOT=1 also refreshes docs/report.png, the
 * picture the README shows.
 */

const CHROMIUM = '/usr/bin/chromium';
const FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'];

const describeIfChromium = existsSync(CHROMIUM) ? describe : describe.skip;
if (!existsSync(CHROMIUM)) {
  console.warn(`report-chromium.spec: skipped, ${CHROMIUM} is absent (apt-get install chromium; it is in tools/scripts/apt-packages.txt)`);
}

describeIfChromium('the HTML report in Chromium', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'nibble-report-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('renders the pipeline, the layer table, histograms with clip lines and bit strips; no console error, no request', async () => {
    const modelPath = join(workspaceRoot(), 'models', 'fmnist-resnet20.onnx');
    const result = await quantize(await loadModel(modelPath), { recipe: 'w4a4-percentile', data: 'fashion-mnist:calib', samples: 16 });
    const html = join(dir, 'report.html');
    writeQuantizeReport(result, html, { model: 'models/fmnist-resnet20.onnx', out: 'out/fmnist-resnet20.w4a4-percentile.onnx' });

    const { chromium } = await import('playwright-core');
    const profile = mkdtempSync(join(tmpdir(), 'nibble-chromium-profile-'));
    const context = await chromium.launchPersistentContext(profile, { executablePath: CHROMIUM, args: FLAGS, headless: true, viewport: { width: 1280, height: 900 } });
    try {
      const page = context.pages()[0] ?? (await context.newPage());
      const consoleErrors: string[] = [];
      const requests: string[] = [];
      page.on('console', (m) => { if (m.type() === 'error') consoleErrors.push(m.text()); });
      page.on('pageerror', (e) => consoleErrors.push(String(e)));
      context.on('request', (r) => { if (!r.url().startsWith('file:')) requests.push(r.url()); });
      await page.goto(`file://${html}`);
      expect(await page.textContent('#pipeline')).toBe(result.report.pipeline);
      expect(await page.locator('#layers tbody tr').count()).toBe(result.report.perTensor.length);
      // One histogram card per observed activation, each with its two red clip lines.
      const histograms = page.locator('svg[aria-label="activation histogram with clip lines"]');
      expect(await histograms.count()).toBeGreaterThan(0);
      expect(await histograms.first().locator('line[stroke="#c0392b"]').count()).toBe(2);
      expect(await page.locator('svg[aria-label="bits per channel"]').count()).toBeGreaterThan(0);
      const box = await page.locator('#layers').boundingBox();
      expect(box && box.width > 400 && box.height > 100).toBe(true);
      const shot = await page.screenshot({ fullPage: false });
      expect(shot.length).toBeGreaterThan(10_000);
      if (process.env.NIBBLE_WRITE_SCREENSHOT === '1') writeFileSync(join(workspaceRoot(), 'docs', 'report.png'), shot);
      expect(consoleErrors).toEqual([]);
      expect(requests).toEqual([]);
    } finally {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    }
  }, 180_000);
});
