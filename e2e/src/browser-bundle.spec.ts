import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as vm from 'node:vm';
import * as esbuild from 'esbuild';

/*
 * A web developer's bundler reads the packages' `browser` conditions. This
 * bundles a tiny browser entry (the public API and @nibble/backend-wasm)
 * from the built packages (tools/scripts/build-packages.mjs) the way esbuild
 * does for a web page: platform=browser, the packages resolved through their
 * exports maps, not the workspace's tsconfig paths. esbuild fails on any
 * Node built-in it cannot resolve for a browser; the metafile is scanned as
 * well. The bundle then runs in a bare V8 context (no process, no require,
 * no Node modules) and reads a model from bytes.
 */

const ROOT = join(__dirname, '..', '..');
const ENTRY = [
  "export { listPasses, loadModel, NibbleError, quantize, evaluate, definePass, registerPass } from 'nibble';",
  "export { readOnnx } from '@nibble/onnx';",
  "export { createWasmExecutor } from '@nibble/backend-wasm';",
].join('\n');

const NODE_BUILTINS = new Set(builtinModules);
const isNodeBuiltin = (p: string) => p.startsWith('node:') || NODE_BUILTINS.has(p) || NODE_BUILTINS.has(p.split('/')[0]);

let dir: string;

function bundleOptions(format: 'esm' | 'iife'): esbuild.BuildOptions & { metafile: true; write: false } {
  return {
    stdin: { contents: ENTRY, resolveDir: dir, sourcefile: 'entry.js', loader: 'js' },
    bundle: true,
    platform: 'browser',
    format,
    ...(format === 'iife' ? { globalName: 'nibbleBundle' } : {}),
    // The packages from node_modules (workspace links to packages/*, as installed ones would be), by their exports maps.
    nodePaths: [join(ROOT, 'node_modules')],
    tsconfigRaw: {},
    metafile: true,
    write: false,
    logLevel: 'silent',
  };
}

beforeAll(() => {
  const r = spawnSync(process.execPath, [join(ROOT, 'tools', 'scripts', 'build-packages.mjs'), '--if-stale'], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`build-packages failed:\n${r.stdout}\n${r.stderr}`);
  dir = mkdtempSync(join(tmpdir(), 'nibble-browser-'));
}, 300_000);

afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

it('bundles for the browser without any Node built-in, through the browser entries', async () => {
  const r = await esbuild.build(bundleOptions('esm'));
  const inputs = Object.entries(r.metafile.inputs);
  const nodeImports = inputs.flatMap(([file, input]) => input.imports.filter((i) => isNodeBuiltin(i.path)).map((i) => `${file} -> ${i.path}`));
  expect(nodeImports).toEqual([]);
  const output = Object.values(r.metafile.outputs)[0];
  expect(output.imports).toEqual([]);
  const files = inputs.map(([file]) => file);
  // The packages with Node-only parts came in through their browser entries, and no Node-only package was bundled.
  for (const pkg of ['packages/nibble', 'packages/data', 'packages/onnx', 'packages/runtime']) {
    expect(files).toContain(`${pkg}/dist/index.browser.js`);
  }
  expect(files.filter((f) => /node_modules\/(onnxruntime-node|pngjs)\//.test(f))).toEqual([]);
  expect(files.some((f) => f.includes('node_modules/onnxruntime-web/'))).toBe(true);
  expect(files).toContain('packages/backend-wasm/dist/index.js');
}, 120_000);

it('the Node entry would not bundle for a browser (the check above can fail)', async () => {
  writeFileSync(join(dir, 'node-entry.js'), `export * from ${JSON.stringify(join(ROOT, 'packages', 'nibble', 'dist', 'index.js'))};\n`);
  const build = esbuild.build({ ...bundleOptions('esm'), stdin: undefined, entryPoints: [join(dir, 'node-entry.js')] });
  await expect(build).rejects.toThrow(/node:fs|Could not resolve/);
}, 120_000);

it('runs in a bare JavaScript context: passes registered, a model read from bytes, file access a typed error', async () => {
  const r = await esbuild.build(bundleOptions('iife'));
  const context: Record<string, unknown> = { console, TextEncoder, TextDecoder, WebAssembly, atob, btoa, URL, setTimeout, clearTimeout, queueMicrotask };
  context.self = context;
  context.globalThis = context;
  vm.createContext(context);
  vm.runInContext(r.outputFiles[0].text, context);
  const api = context.nibbleBundle as {
    listPasses(): { name: string }[];
    readOnnx(bytes: Uint8Array): { graph: { nodes: unknown[]; inputs: { name: string }[] } };
    loadModel(path: string): Promise<unknown>;
  };
  const names = api.listPasses().map((p) => p.name);
  expect(names).toEqual(expect.arrayContaining(['fold-bn', 'clip-aciq', 'alloc-bits', 'quantize', 'bias-correct']));
  const model = api.readOnnx(new Uint8Array(readFileSync(join(ROOT, 'models', 'fmnist-resnet20.onnx'))));
  expect(model.graph.inputs.map((v) => v.name)).toEqual(['input']);
  expect(model.graph.nodes.length).toBeGreaterThan(20);
  await expect(api.loadModel('model.onnx')).rejects.toMatchObject({ name: 'NibbleError', code: 'E_UNSUPPORTED' });
}, 120_000);
