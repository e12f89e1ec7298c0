import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { extname, join } from 'node:path';
import * as esbuild from 'esbuild';
import { createWasmExecutor } from '@nibble/backend-wasm';
import { openDataset } from '@nibble/data';
import { readOnnx } from '@nibble/onnx';
import { loadModel, quantize } from 'nibble';
import { workspaceRoot } from '@nibble/testing';

/*
 * @nibble/backend-webgpu in Debian's Chromium (headless, SwiftShader's
 * WebGPU adapter): a page bundled from the built packages (as a web
 * developer's esbuild would, through their browser entries) fetches the zoo
 * ResNet-20 quantized w4a4 and a Fashion-MNIST test image from a localhost
 * server (WebGPU needs a secure context: not file:, not about:blank), and
 * classifies the image on the GPU. Its logits must be the WebAssembly
 * backend's, bit for bit, computed here in Node.
 */

const ROOT = workspaceRoot();
const CHROMIUM = '/usr/bin/chromium';
const FLAGS = ['--headless', '--no-sandbox', '--enable-unsafe-webgpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'];
const ENTRY = `
import { readOnnx } from '@nibble/onnx';
import { Tensor } from '@nibble/ir';
import { createWebGpuExecutor, requestWebGpu, webGpuUnavailableReason } from '@nibble/backend-webgpu';
window.classify = async () => {
  const gpu = await requestWebGpu();
  if (!gpu) return { error: webGpuUnavailableReason };
  const model = readOnnx(new Uint8Array(await (await fetch('/model.onnx')).arrayBuffer()));
  const input = await (await fetch('/input.json')).json();
  const executor = await createWebGpuExecutor(model);
  const out = await executor.run({ [executor.inputNames[0]]: new Tensor('float32', input.shape, Float32Array.from(input.data)) });
  const y = out[executor.outputNames[0]];
  return { adapter: gpu.adapterName, software: gpu.software, dot4: gpu.dot4, logits: Array.from(y.data) };
};
`;

const describeIfChromium = existsSync(CHROMIUM) ? describe : describe.skip;
if (!existsSync(CHROMIUM)) console.warn(`webgpu-chromium.spec: skipped, ${CHROMIUM} is absent (apt-get install chromium; it is in tools/scripts/apt-packages.txt)`);

describeIfChromium('the webgpu backend in Chromium', () => {
  let dir: string;
  let server: Server;
  beforeAll(() => {
    const r = spawnSync(process.execPath, [join(ROOT, 'tools', 'scripts', 'build-packages.mjs'), '--if-stale'], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`build-packages failed:\n${r.stdout}\n${r.stderr}`);
    dir = mkdtempSync(join(tmpdir(), 'nibble-webgpu-'));
  }, 300_000);
  afterAll(() => {
    server?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('a bundled page classifies a test image with the wasm backend\'s logits', async () => {
    const float = await loadModel(join(ROOT, 'models', 'fmnist-resnet20.onnx'));
    const { onnx } = await quantize(float, { recipe: 'w4a4-all', target: 'wasm', data: 'fashion-mnist:calib', samples: 16 });
    writeFileSync(join(dir, 'model.onnx'), onnx);
    const ds = await openDataset('fashion-mnist:test');
    let x;
    for await (const b of ds.batches({ batchSize: 1, limit: 1 })) x = b.inputs;
    writeFileSync(join(dir, 'input.json'), JSON.stringify({ shape: x!.shape, data: Array.from(x!.toFloat64()) }));
    const wasm = await createWasmExecutor(readOnnx(onnx));
    const expected = Array.from((await wasm.run({ [wasm.inputNames[0]]: x! }))[wasm.outputNames[0]].data as Float32Array);
    await wasm.dispose();

    const bundle = await esbuild.build({
      stdin: { contents: ENTRY, resolveDir: dir, sourcefile: 'page.js', loader: 'js' },
      bundle: true, platform: 'browser', format: 'esm', nodePaths: [join(ROOT, 'node_modules')], tsconfigRaw: {}, write: false, logLevel: 'silent',
    });
    writeFileSync(join(dir, 'page.js'), bundle.outputFiles[0].text);
    writeFileSync(join(dir, 'index.html'), '<!doctype html><meta charset="utf-8"><title>nibble webgpu</title><script type="module" src="/page.js"></script>');
    const types: Record<string, string> = { '.html': 'text/html', '.js': 'text/javascript', '.json': 'application/json', '.onnx': 'application/octet-stream' };
    server = createServer((req, res) => {
      const file = join(dir, (req.url ?? '/') === '/' ? 'index.html' : (req.url ?? '').slice(1));
      if (!file.startsWith(dir) || !existsSync(file)) return void res.writeHead(404).end();
      res.writeHead(200, { 'content-type': types[extname(file)] ?? 'application/octet-stream' }).end(readFileSync(file));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as AddressInfo).port;

    const { chromium } = await import('playwright-core');
    const profile = mkdtempSync(join(tmpdir(), 'nibble-chromium-profile-'));
    const context = await chromium.launchPersistentContext(profile, { executablePath: CHROMIUM, args: FLAGS, headless: true });
    try {
      const page = context.pages()[0] ?? (await context.newPage());
      const errors: string[] = [];
      page.on('pageerror', (e) => errors.push(String(e)));
      await page.goto(`http://localhost:${port}/`);
      await page.waitForFunction(() => typeof (window as unknown as { classify?: unknown }).classify === 'function');
      const r = await page.evaluate(() => (window as unknown as { classify(): Promise<{ error?: string; adapter: string; software: boolean; logits: number[] }> }).classify());
      expect(r.error).toBeUndefined();
      console.log(`webgpu in Chromium: adapter ${r.adapter}${r.software ? ' (software)' : ''}`);
      expect(r.logits).toEqual(expected);
      const argmax = (v: number[]) => v.indexOf(Math.max(...v));
      expect(argmax(r.logits)).toBe(argmax(expected));
      expect(errors).toEqual([]);
    } finally {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    }
  }, 240_000);
});
