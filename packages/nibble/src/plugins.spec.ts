import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { getPass, hasPass, listPasses, planQuantization } from './index';
import { loadPlugin, loadPlugins, PluginError, registerPlugin } from './plugins';

/*
 * Plugins as files: each fixture is a small CommonJS module that imports
 * nibble's public API and exports (or registers) passes.
 */

let dir: string;

const pass = (name: string) => `definePass({ name: '${name}', summary: 'a test pass', options: { k: { type: 'number', default: 1, description: 'k' } }, preserves: 'all', run: (graph) => ({ graph, modified: false }) })`;

function fixture(name: string, body: string): string {
  const file = join(dir, name);
  writeFileSync(file, `const { definePass, registerPass } = require('nibble');\n${body}\n`);
  return file;
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'nibble-plugins-'));
  fixture('exports-passes.js', `exports.passes = [${pass('plugin-a')}, ${pass('plugin-b')}];`);
  fixture('default-export.js', `module.exports = { default: ${pass('plugin-default')} };`);
  fixture('self-registers.js', `registerPass(${pass('plugin-self')});`);
  fixture('throws.js', "throw new Error('broken plugin');");
  fixture('duplicate.js', `exports.passes = [${pass('fold-bn')}];`);
  fixture('self-duplicate.js', `registerPass(${pass('quantize')});`);
  fixture('empty.js', 'exports.nothing = 1;');
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function failure(plugin: string): Promise<PluginError> {
  try {
    await loadPlugin(plugin, { from: dir });
  } catch (e) {
    expect(e).toBeInstanceOf(PluginError);
    return e as PluginError;
  }
  throw new Error(`${plugin} loaded`);
}

it('registers the exported passes; the pipeline text then names them', async () => {
  expect(hasPass('plugin-a')).toBe(false);
  const loaded = await loadPlugins(['./exports-passes.js', './default-export.js'], { from: dir });
  expect(loaded).toEqual([
    { plugin: './exports-passes.js', passes: ['plugin-a', 'plugin-b'] },
    { plugin: './default-export.js', passes: ['plugin-default'] },
  ]);
  expect(listPasses().map((p) => p.name)).toEqual(expect.arrayContaining(['plugin-a', 'plugin-b', 'plugin-default', 'fold-bn']));
  const plan = planQuantization({ pipeline: 'fold-bn,plugin-a{k=3},quant-policy,clip-minmax,quantize' });
  expect(plan.invocations.map((i) => i.pass.name)).toContain('plugin-a');
  // Loading again is a no-op that answers the same passes.
  expect(await loadPlugin(join(dir, 'exports-passes.js'))).toEqual({ plugin: join(dir, 'exports-passes.js'), passes: ['plugin-a', 'plugin-b'] });
});

it('counts passes a module registers itself when imported', async () => {
  expect(await loadPlugin('./self-registers.js', { from: dir })).toEqual({ plugin: './self-registers.js', passes: ['plugin-self'] });
  expect(getPass('plugin-self').summary).toBe('a test pass');
});

it('a module that cannot be found is a PluginError naming it (file and package)', async () => {
  const file = await failure('./no-such-plugin.js');
  expect(file).toMatchObject({ reason: 'not-found', code: 'E_FILE_NOT_FOUND', plugin: './no-such-plugin.js' });
  expect(file.place.option).toBe('plugin');
  const pkg = await failure('nibble-plugin-that-is-not-installed');
  expect(pkg).toMatchObject({ reason: 'not-found', plugin: 'nibble-plugin-that-is-not-installed' });
  expect(pkg.hint).toContain('npm install nibble-plugin-that-is-not-installed');
});

it('a module that throws while loading is a PluginError with the cause', async () => {
  const e = await failure('./throws.js');
  expect(e).toMatchObject({ reason: 'load-failed', code: 'E_PASS_FAILED', plugin: './throws.js' });
  expect(e.message).toContain('broken plugin');
  expect((e.cause as Error).message).toBe('broken plugin');
});

it('a pass under a name that is taken is a PluginError naming plugin and pass; the built-in stays', async () => {
  const foldBn = getPass('fold-bn');
  const exported = await failure('./duplicate.js');
  expect(exported).toMatchObject({ reason: 'duplicate-pass', code: 'E_BAD_OPTION', plugin: './duplicate.js' });
  expect(exported.place.pass).toBe('fold-bn');
  expect(getPass('fold-bn')).toBe(foldBn);
  const self = await failure('./self-duplicate.js');
  expect(self).toMatchObject({ reason: 'duplicate-pass', plugin: './self-duplicate.js' });
  expect(self.place.pass).toBe('quantize');
});

it('a module without passes is a PluginError', async () => {
  expect(await failure('./empty.js')).toMatchObject({ reason: 'no-passes', code: 'E_BAD_OPTION', plugin: './empty.js' });
  expect(() => registerPlugin('inline', {})).toThrow(PluginError);
});
