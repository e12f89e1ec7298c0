import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { extname, join, normalize } from 'node:path';
import { argmax, createOrtExecutor, datasetFromArrays, evaluate, type Model, MODEL_PREPROCESS_KEY, quantize } from 'nibble';
import { readOnnxFile } from '@nibble/onnx';
import { workspaceRoot } from '@nibble/testing';

/*
 * apps/edge-demo end to end: the app built with Vite into a temp folder,
 * served from localhost by a static server started here (WebGPU and the
 * page's fetches need http, not file://), opened in Debian's Chromium. The
 * page quantizes ResNet-20 with a 4-bit recipe on its bundled calibration
 * images (for the `wasm` target, the integer form both int4 backends run)
 * and classifies ten test images with float32 (onnxruntime-web) and int4 on
 * nibble's WASM and WebGPU backends (SwiftShader's adapter here). Both int4
 * columns must equal nibble's simulation of the same quantization made here
 * in Node: same recipe and target, same calibration bytes (the build's copy
 * of the page's images, fashion-mnist-slice.json), same seed, calibration on
 * onnxruntime-web as in the page, then onnxruntime's exact QDQ simulation.
 * No console error, no request outside localhost. NIBBLE_WRITE_SCREENSHOT=1
 * refreshes docs/edge-demo.png, which the README shows.
 */

const CHROMIUM = '/usr/bin/chromium';
const FLAGS = ['--headless', '--no-sandbox', '--enable-unsafe-webgpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'];
const RECIPE = 'w4a4-baseline';
const IMAGES = 10;
/** Photos the page classifies with nsfwjs MobileNetV2 (its first two; seconds each on SwiftShader's WebGPU). */
const PHOTOS = 2;
const TYPES: Record<string, string> = { '.html': 'text/html', '.js': 'text/javascript', '.mjs': 'text/javascript', '.css': 'text/css', '.wasm': 'application/wasm', '.onnx': 'application/octet-stream' };

const describeIfChromium = existsSync(CHROMIUM) ? describe : describe.skip;
if (!existsSync(CHROMIUM)) {
  console.warn(`edge-demo.spec: skipped, ${CHROMIUM} is absent (apt-get install chromium; it is in tools/scripts/apt-packages.txt)`);
}

function serve(dir: string): Promise<Server> {
  const server = createServer((req, res) => {
    const path = normalize(join(dir, decodeURIComponent(new URL(req.url ?? '/', 'http://localhost').pathname)));
    const file = path.startsWith(dir) && existsSync(path) && statSync(path).isDirectory() ? join(path, 'index.html') : path;
    if (!file.startsWith(dir) || !existsSync(file)) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'content-type': TYPES[extname(file)] ?? 'application/octet-stream' }).end(readFileSync(file));
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

interface EncodedSlice { count: number; height: number; width: number; labels: number[]; pixels: string }

/** A slice of the build's data file as a Dataset with the model's own preprocessing, as the page opens it. */
function sliceDataset(s: EncodedSlice, model: Model, description: string) {
  const pixels = new Uint8Array(Buffer.from(s.pixels, 'base64'));
  expect(pixels.length).toBe(s.count * s.height * s.width);
  return datasetFromArrays({ data: pixels, shape: [s.count, s.height, s.width], labels: Int32Array.from(s.labels), file: description }, { preprocess: model.metadata.get(MODEL_PREPROCESS_KEY) }, description);
}

/** nibble's simulation in Node of what the page does: predicted classes of the first IMAGES test images. */
async function nodeReference(root: string, buildDir: string): Promise<number[]> {
  const model = readOnnxFile(join(root, 'models', 'fmnist-resnet20.onnx'));
  const { calib, test } = JSON.parse(readFileSync(join(buildDir, 'fashion-mnist-slice.json'), 'utf8')) as { calib: EncodedSlice; test: EncodedSlice };
  expect(calib.count).toBe(64);
  const result = await quantize(model, {
    recipe: RECIPE, target: 'wasm', data: sliceDataset(calib, model, 'calib'), samples: calib.count,
    executorFactory: (m, o) => createOrtExecutor(m, { ...o, backend: 'web' }),
  });
  return simulatedClasses(result.model, sliceDataset(test, model, 'test'), IMAGES);
}

/** Predicted classes of the first `limit` images, from onnxruntime's exact QDQ simulation of a quantized model. */
async function simulatedClasses(model: Model, data: ReturnType<typeof datasetFromArrays>, limit: number): Promise<number[]> {
  const r = await evaluate(model, { data, limit, keepLogits: true });
  const k = r.classes!;
  return Array.from({ length: r.n }, (_, i) => argmax(r.logits!.subarray(i * k, (i + 1) * k)));
}

/**
 * The same for nsfwjs MobileNetV2 on the photos: the model and the photo bytes the build copied into the page
 * (apps/edge-demo/src/build/photo-assets.ts wrote them under out/edge-demo), every calibration photo, the first
 * PHOTOS held-out ones. The photos have no labels: zeros stand in, as only the logits are read.
 */
async function photoReference(root: string): Promise<number[]> {
  const assets = join(root, 'out', 'edge-demo');
  const model = readOnnxFile(join(assets, 'nsfwjs-mobilenetv2.onnx'));
  const index = JSON.parse(readFileSync(join(assets, 'photos.json'), 'utf8')) as { height: number; width: number; calib: string[]; test: string[] };
  const bytes = new Uint8Array(readFileSync(join(assets, 'photos.bin')));
  const per = index.height * index.width * 3;
  const slice = (from: number, count: number, description: string) => datasetFromArrays(
    { data: bytes.subarray(from * per, (from + count) * per), shape: [count, index.height, index.width, 3], layout: 'nhwc', labels: new Int32Array(count), file: description },
    { preprocess: model.metadata.get(MODEL_PREPROCESS_KEY) }, description,
  );
  const result = await quantize(model, {
    recipe: RECIPE, target: 'wasm', data: slice(0, index.calib.length, 'photos calib'), samples: index.calib.length,
    executorFactory: (m, o) => createOrtExecutor(m, { ...o, backend: 'web' }),
  });
  return simulatedClasses(result.model, slice(index.calib.length, PHOTOS, 'photos test'), PHOTOS);
}

describeIfChromium('apps/edge-demo in Chromium', () => {
  const root = workspaceRoot();
  let dir: string;
  let server: Server | undefined;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'nibble-edge-demo-'));
    const build = spawnSync(process.execPath, [join(root, 'node_modules', 'vite', 'bin', 'vite.js'), 'build', '--config', join(root, 'apps', 'edge-demo', 'vite.config.ts'), '--outDir', dir, '--logLevel', 'error'], {
      cwd: root, encoding: 'utf8', env: { ...process.env, VITE_CONFIG_NATIVE_IGNORE_WARNING: 'true' },
    });
    if (build.status !== 0) throw new Error(`vite build failed:\n${build.stdout}\n${build.stderr}`);
  }, 300_000);
  afterAll(async () => {
    await new Promise((resolve) => (server ? server.close(resolve) : resolve(undefined)));
    rmSync(dir, { recursive: true, force: true });
  });

  it(`quantizes ResNet-20 in the page (${RECIPE}); its int4 WASM and WebGPU predictions on ${IMAGES} test images equal the Node simulation's`, async () => {
    const reference = nodeReference(root, dir);
    reference.catch(() => undefined); // awaited below; this only keeps an early failure from being reported as unhandled
    server = await serve(dir);
    const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const { chromium } = await import('playwright-core');
    const profile = mkdtempSync(join(tmpdir(), 'nibble-chromium-profile-'));
    const context = await chromium.launchPersistentContext(profile, { executablePath: CHROMIUM, args: FLAGS, headless: true, viewport: { width: 1100, height: 1000 } });
    try {
      const page = context.pages()[0] ?? (await context.newPage());
      const consoleErrors: string[] = [];
      const outside: string[] = [];
      page.on('console', (m) => { if (m.type() === 'error') consoleErrors.push(m.text()); });
      page.on('pageerror', (e) => consoleErrors.push(String(e)));
      context.on('request', (r) => { if (!r.url().startsWith(origin) && !r.url().startsWith('data:') && !r.url().startsWith('blob:')) outside.push(r.url()); });
      await page.goto(`${origin}/`);
      const status = page.locator('#status');
      await page.waitForSelector('#status[data-state="ready"], #status[data-state="error"]', { timeout: 60_000 });
      expect(await status.getAttribute('data-state')).toBe('ready');
      // The recipe list comes from the API.
      expect(await page.locator('#recipe option').allTextContents()).toEqual(expect.arrayContaining(['w4a4-baseline', 'nibble-w4a4', 'w4a4-all']));
      await page.selectOption('#recipe', RECIPE);
      await page.click('#quantize');
      await page.waitForSelector('#status[data-state="quantized"], #status[data-state="error"]', { timeout: 120_000 });
      expect(await status.textContent()).toContain(`quantized with ${RECIPE} for target wasm`);
      // Chromium's WebGPU here is SwiftShader: the column names the adapter and marks it as software.
      expect(await page.textContent('#webgpu-adapter')).toMatch(/nibble WebGPU backend on .+ \(software\)/);
      expect(await page.locator('#progress').evaluate((p) => (p as HTMLProgressElement).value)).toBe(1);
      await page.click('#classify');
      // Float32, WASM and WebGPU on SwiftShader (a CPU emulation: about 0.7 s a run, two runs an image) on a loaded 2-core machine.
      await page.waitForSelector('#status[data-state="classified"], #status[data-state="error"]', { timeout: 240_000 });
      expect(await status.textContent()).toBe(`classified ${IMAGES} images`);
      const rows = await page.locator('#predictions tbody tr').evaluateAll((trs) => trs.map((tr) => ({ ...(tr as HTMLElement).dataset })));
      expect(rows.map((r) => Number(r.index))).toEqual(Array.from({ length: IMAGES }, (_, i) => i));
      const int4 = rows.map((r) => Number(r.int4));
      const webgpu = rows.map((r) => (r.webgpu === '' ? NaN : Number(r.webgpu)));
      const float = rows.map((r) => Number(r.float));
      const expected = await reference;
      expect(int4).toEqual(expected);
      expect(webgpu).toEqual(expected);
      // Both engines answered with classes, and the float model gets most of these right (it scores ~92% on the split).
      const labels = rows.map((r) => Number(r.label));
      expect(float.filter((c, i) => c === labels[i]).length).toBeGreaterThanOrEqual(IMAGES - 3);
      const summary = await page.textContent('#summary');
      expect(summary).toMatch(/wasm memory/);
      expect(summary).toMatch(/of GPU buffers/);
      expect(summary).toMatch(/software adapter is a CPU emulation/);
      expect(summary).toMatch(/\(QDQ\)/);
      // A sketch drawn on the 28x28 canvas (two legs: a pair of trousers) is classified by both engines.
      // Mouse coordinates are the viewport's: bring the canvas into it first.
      await page.locator('#sketch').scrollIntoViewIfNeeded();
      const box = (await page.locator('#sketch').boundingBox())!;
      for (const x of [0.36, 0.42, 0.58, 0.64]) {
        await page.mouse.move(box.x + box.width * x, box.y + box.height * 0.15);
        await page.mouse.down();
        await page.mouse.move(box.x + box.width * x, box.y + box.height * 0.9, { steps: 12 });
        await page.mouse.up();
      }
      await page.mouse.move(box.x + box.width * 0.36, box.y + box.height * 0.15);
      await page.mouse.down();
      await page.mouse.move(box.x + box.width * 0.64, box.y + box.height * 0.15, { steps: 8 });
      await page.mouse.up();
      await page.click('#classify-sketch');
      await page.waitForSelector('#sketch-result p:nth-child(3)', { timeout: 30_000 });
      expect(await page.textContent('#sketch-result')).toMatch(/float32: .+ ms.*int4 WASM: .+ ms.*int4 WebGPU: .+ ms/s);
      const shot = await page.screenshot({ fullPage: true });
      if (process.env.NIBBLE_WRITE_SCREENSHOT === '1') writeFileSync(join(root, 'docs', 'edge-demo.png'), shot);

      // nsfwjs MobileNetV2, a pretrained photo model nobody here trained: fetched with its photos, quantized in the page
      // on 24 photos, two held-out photos classified by the three engines; both int4 columns equal the Node simulation.
      const photoRef = photoReference(root);
      photoRef.catch(() => undefined);
      await page.selectOption('#model', 'nsfwjs');
      await page.waitForSelector('#status[data-state="ready"], #status[data-state="error"]', { timeout: 120_000 });
      expect(await status.textContent()).toContain('nsfwjs MobileNetV2');
      expect(await page.locator('#gallery canvas').count()).toBe(8);
      expect(await page.locator('#draw').isHidden()).toBe(true);
      await page.selectOption('#recipe', RECIPE);
      await page.click('#quantize');
      await page.waitForSelector('#status[data-state="quantized"], #status[data-state="error"]', { timeout: 300_000 });
      expect(await status.textContent()).toContain(`quantized with ${RECIPE} for target wasm`);
      await page.click('#classify');
      await page.waitForSelector('#status[data-state="classified"], #status[data-state="error"]', { timeout: 300_000 });
      expect(await status.textContent()).toBe(`classified ${PHOTOS} images`);
      const photoRows = await page.locator('#predictions tbody tr').evaluateAll((trs) => trs.map((tr) => ({ ...(tr as HTMLElement).dataset })));
      const expectedPhotos = await photoRef;
      expect(photoRows.map((r) => Number(r.int4))).toEqual(expectedPhotos);
      expect(photoRows.map((r) => Number(r.webgpu))).toEqual(expectedPhotos);
      expect(await page.textContent('#summary')).toMatch(/same class as float32 on the picked images/);
      const photoShot = await page.screenshot({ fullPage: true });
      if (process.env.NIBBLE_WRITE_SCREENSHOT === '1') writeFileSync(join(root, 'docs', 'edge-demo-photos.png'), photoShot);
      expect(consoleErrors).toEqual([]);
      expect(outside).toEqual([]);
    } finally {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    }
  }, 900_000);
});
