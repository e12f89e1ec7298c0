import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/*
 * The packages as a user gets them: built (tools/scripts/build-packages.mjs),
 * packed with `npm pack`, installed offline from the tarballs into a project
 * outside the workspace (tools/scripts/pack-scratch.mjs), with the example
 * plugin beside them. There, in plain Node (no tsx, no tsconfig paths), the
 * README's API example runs on the bundled ResNet-20, the CLI runs from its
 * tarball, and the plugin's pass runs by name in a pipeline.
 */

const ROOT = join(__dirname, '..', '..');
const MODEL = join(ROOT, 'models', 'fmnist-resnet20.onnx');
const CALIB = `idx:${join(ROOT, 'data', 'fashion-mnist', 'calib-images-idx3-ubyte.gz')}`;
const PIPELINE = 'fold-bn,fold-constants,eliminate-dead-code,mark-fused-relu,clamp-weights{sigma=3},quant-policy{w-bits=4,a-bits=4},clip-minmax,quantize';

let scratch: string;

function run(cmd: string, args: string[], cwd = scratch): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(cmd, args, { cwd, encoding: 'utf8', env: { ...process.env, NODE_OPTIONS: '', npm_config_update_notifier: 'false' } });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

function ok(cmd: string, args: string[], cwd = scratch): string {
  const r = run(cmd, args, cwd);
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} exited ${r.status}\n${r.stdout}\n${r.stderr}`);
  return r.stdout;
}

/** The README's API example, as written there. */
function readmeApiExample(): string {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  const m = /### Install as packages[\s\S]*?```js\n([\s\S]*?)```/.exec(readme);
  if (!m) throw new Error('README.md: no ```js example under "### Install as packages"');
  return m[1];
}

beforeAll(() => {
  scratch = mkdtempSync(join(tmpdir(), 'nibble-pack-'));
  ok(process.execPath, [join(ROOT, 'tools', 'scripts', 'pack-scratch.mjs'), scratch, 'examples/nibble-plugin-example'], ROOT);
  // The example reads the checkout's models/ and data/ from the working directory, as the README says.
  symlinkSync(join(ROOT, 'models'), join(scratch, 'models'));
  symlinkSync(join(ROOT, 'data'), join(scratch, 'data'));
}, 600_000);

afterAll(() => {
  if (scratch) rmSync(scratch, { recursive: true, force: true });
});

it('installs the built packages, with declarations, and no workspace source', () => {
  const nibble = JSON.parse(readFileSync(join(scratch, 'node_modules', 'nibble', 'package.json'), 'utf8'));
  expect(nibble.private).toBeUndefined();
  expect(existsSync(join(scratch, 'node_modules', 'nibble', nibble.types))).toBe(true);
  expect(existsSync(join(scratch, 'node_modules', 'nibble', 'src'))).toBe(false);
  expect(existsSync(join(scratch, 'node_modules', '@nibble', 'core', 'dist', 'types', 'index.d.ts'))).toBe(true);
});

it('its declarations type-check a TypeScript user of the API and of definePass (node16 resolution, library files checked)', () => {
  writeFileSync(join(scratch, 'check.ts'), [
    "import { definePass, evaluate, fitModel, loadModel, loadPlugin, quantize, type Pass } from 'nibble';",
    "import { createWasmExecutor } from '@nibble/backend-wasm';",
    "const model = await loadModel('models/fmnist-resnet20.onnx');",
    "const result = await quantize(model, { recipe: 'paper-w4a4', data: 'fashion-mnist:calib', executorFactory: undefined });",
    "const top1: number = (await evaluate(result.model, { data: 'fashion-mnist:test' })).top1;",
    "const pass: Pass = definePass({ name: 'count-nodes', summary: 'counts', run: (graph) => ({ graph, modified: graph.nodes.length < 0 }) });",
    "const fit: boolean = (await fitModel(model, 'esp32-s3')).fits;",
    "const plugin: string[] = (await loadPlugin('nibble-plugin-example')).passes;",
    'console.log(top1, pass.name, fit, plugin, typeof createWasmExecutor);',
    '',
  ].join('\n'));
  // No @types/node: the declarations must not need them. skipLibCheck off, so every .d.ts of ours is checked.
  writeFileSync(join(scratch, 'tsconfig.json'), JSON.stringify({
    compilerOptions: { target: 'ES2022', lib: ['ES2022', 'DOM'], module: 'node16', moduleResolution: 'node16', strict: true, noEmit: true, skipLibCheck: false, types: [] },
    files: ['check.ts'],
  }));
  const r = run(process.execPath, [join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.json']);
  expect(r.stdout + r.stderr).toBe('');
  expect(r.status).toBe(0);
}, 120_000);

it("runs the README's API example in plain Node", () => {
  writeFileSync(join(scratch, 'example.mjs'), readmeApiExample());
  const out = JSON.parse(ok(process.execPath, ['example.mjs']).trim().split('\n').pop()!);
  expect(out.n).toBe(500);
  // fmnist-resnet20 at W4A4 (paper recipe, 64 calibration images): float32 is 0.93 on this split.
  expect(out.top1).toBeGreaterThan(0.85);
  expect(out.meanBits.weights).toBeLessThanOrEqual(4.05);
  expect(out.bytes.quantized).toBeLessThan(out.bytes.float / 4);
  expect(existsSync(join(scratch, 'fmnist-resnet20-w4a4.onnx'))).toBe(true);
}, 300_000);

it('runs the CLI from its tarball: npx nibble --version and inspect', () => {
  const version = JSON.parse(readFileSync(join(ROOT, 'apps', 'cli', 'package.json'), 'utf8')).version;
  expect(ok('npx', ['--no', '--', 'nibble', '--version']).trim()).toBe(`nibble ${version}`);
  const info = JSON.parse(ok('npx', ['--no', 'nibble', 'inspect', MODEL, '--json']));
  expect(JSON.stringify(info)).toContain('logits');
}, 120_000);

it("the example plugin's pass is listed and runs by name in a pipeline (CLI)", () => {
  const passes = JSON.parse(ok('npx', ['--no', 'nibble', 'passes', '--plugin', 'nibble-plugin-example', '--json'])) as { name: string }[];
  expect(passes.map((p) => p.name)).toEqual(expect.arrayContaining(['clamp-weights', 'fold-bn', 'clip-aciq']));
  const without = run('npx', ['--no', 'nibble', 'quantize', MODEL, '--data', CALIB, '--samples', '8', '--pipeline', PIPELINE, '--out', 'no.onnx']);
  expect(without.status).toBe(2);
  expect(without.stderr).toContain("unknown pass 'clamp-weights'");
  ok('npx', ['--no', 'nibble', 'quantize', MODEL, '--plugin', 'nibble-plugin-example', '--data', CALIB, '--samples', '8', '--pipeline', PIPELINE, '--out', 'clamped.onnx', '--quiet']);
  expect(readFileSync(join(scratch, 'clamped.onnx')).length).toBeGreaterThan(1000);
}, 300_000);

it("the example plugin's pass runs through the API and clamps the weights; plugin errors are typed", () => {
  writeFileSync(join(scratch, 'plugin-api.mjs'), `
import { loadModel, loadPlugin, quantize, PluginError } from 'nibble';
const loaded = await loadPlugin('nibble-plugin-example');
const model = await loadModel(${JSON.stringify(MODEL)});
const r = await quantize(model, { pipeline: ${JSON.stringify(PIPELINE)}, data: ${JSON.stringify(CALIB)}, samples: 8 });
const clamped = r.report.facts.filter((f) => f.pass === 'clamp-weights' && f.key === 'clamped');
const errors = {};
for (const name of ['nibble-no-such-plugin', './missing.js']) {
  try { await loadPlugin(name); } catch (e) { errors[name] = { isPluginError: e instanceof PluginError, reason: e.reason, code: e.code, plugin: e.plugin }; }
}
console.log(JSON.stringify({ loaded, pipeline: r.report.pipeline, clamped: clamped.map((f) => f.value) }));
console.log(JSON.stringify(errors));
`);
  const [first, second] = ok(process.execPath, ['plugin-api.mjs']).trim().split('\n').slice(-2).map((l) => JSON.parse(l));
  expect(first.loaded).toEqual({ plugin: 'nibble-plugin-example', passes: ['clamp-weights'] });
  expect(first.pipeline).toContain('clamp-weights{sigma=3}');
  // ResNet-20 has 21 Conv/Gemm weights; at 3 sigma some elements of every layer lie outside.
  expect(first.clamped.length).toBeGreaterThan(15);
  expect(first.clamped.some((c: { moved: number }) => c.moved > 0)).toBe(true);
  for (const c of first.clamped as { moved: number; elements: number }[]) expect(c.moved).toBeLessThan(c.elements / 10);
  expect(second['nibble-no-such-plugin']).toEqual({ isPluginError: true, reason: 'not-found', code: 'E_FILE_NOT_FOUND', plugin: 'nibble-no-such-plugin' });
  expect(second['./missing.js']).toMatchObject({ isPluginError: true, reason: 'not-found', plugin: './missing.js' });
}, 300_000);
