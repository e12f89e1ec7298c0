import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { isAbsolute, join, resolve } from 'node:path';
import { type AnyPass, getPass, hasPass, listPasses, registerPass } from '@nibble/core';
import { isNibbleError, NibbleError } from '@nibble/ir';
import { ensurePassesRegistered } from './recipes';

/**
 * Passes from outside: a plugin is a module (a package name or a file) that
 * exports passes made with `definePass`, as `passes` (an array), or as its
 * default export (a pass, an array, or `{ passes }`). Loading registers them
 * under their pipeline names, so `--pipeline` text and `nibble passes` see
 * them like the built-in ones. A module may also call `registerPass` itself
 * when it is imported; the passes it added count as its own.
 */

export type PluginFailure = 'not-found' | 'load-failed' | 'duplicate-pass' | 'no-passes';

/** A plugin that could not be used; `plugin` is the module as the user named it. */
export class PluginError extends NibbleError {
  readonly plugin: string;
  readonly reason: PluginFailure;

  constructor(plugin: string, reason: PluginFailure, message: string, hint: string, cause?: unknown, pass?: string) {
    super(PLUGIN_ERROR_CODES[reason], `plugin '${plugin}': ${message}`, { option: 'plugin', hint, cause, ...(pass ? { pass } : {}) });
    this.plugin = plugin;
    this.reason = reason;
  }
}

const PLUGIN_ERROR_CODES: Record<PluginFailure, NibbleError['code']> = {
  'not-found': 'E_FILE_NOT_FOUND',
  // The plugin's own code failed: the user's side of the line (exit 2), like a pass that throws.
  'load-failed': 'E_PASS_FAILED',
  'duplicate-pass': 'E_BAD_OPTION',
  'no-passes': 'E_BAD_OPTION',
};

export interface LoadedPlugin {
  /** The module as named. */
  plugin: string;
  /** Pipeline names of the passes it registered, sorted. */
  passes: string[];
}

function isPass(x: unknown): x is AnyPass {
  return typeof x === 'object' && x !== null && typeof (x as AnyPass).name === 'string' && typeof (x as AnyPass).run === 'function';
}

/** The passes a plugin module exports, in the accepted shapes. */
function exportedPasses(mod: Record<string, unknown>): AnyPass[] {
  const candidates: unknown[] = [];
  const add = (v: unknown) => {
    if (Array.isArray(v)) candidates.push(...v);
    else if (isPass(v)) candidates.push(v);
    else if (v && typeof v === 'object' && Array.isArray((v as { passes?: unknown }).passes)) candidates.push(...(v as { passes: unknown[] }).passes);
  };
  add(mod.passes);
  add(mod.default);
  // A CommonJS plugin imported as a module arrives as { default: module.exports }.
  if (mod.default && typeof mod.default === 'object' && !Array.isArray(mod.default)) add((mod.default as Record<string, unknown>).default);
  return [...new Set(candidates.filter(isPass))];
}

/**
 * Register the passes of an already imported plugin module (the way a
 * browser, or a bundler, hands over a module). Idempotent: the same pass
 * objects register once; another pass under a taken name is a PluginError.
 */
export function registerPlugin(plugin: string, mod: Record<string, unknown>, selfRegistered: string[] = []): LoadedPlugin {
  ensurePassesRegistered();
  const passes = exportedPasses(mod);
  for (const pass of passes) {
    if (hasPass(pass.name) && getPass(pass.name) !== pass) {
      throw new PluginError(plugin, 'duplicate-pass', `its pass '${pass.name}' has the name of a pass that is already registered`,
        `pipeline names are global: rename the plugin's pass (registered now: ${listPasses().map((p) => p.name).join(', ')})`, undefined, pass.name);
    }
  }
  passes.forEach((p) => registerPass(p));
  const names = [...new Set([...passes.map((p) => p.name), ...selfRegistered])].sort();
  if (names.length === 0) {
    throw new PluginError(plugin, 'no-passes', 'the module registers no pass',
      "export the passes made with definePass as `export const passes = [...]` (or as the default export)");
  }
  return { plugin, passes: names };
}

/** The file a specifier names: a path (relative to `from`) or a package resolved from `from`, as the user's own code would. */
function resolvePlugin(plugin: string, from: string): string {
  if (plugin.startsWith('.') || isAbsolute(plugin)) {
    const file = resolve(from, plugin);
    if (!existsSync(file)) {
      throw new PluginError(plugin, 'not-found', `no such file (${file})`, 'give the path of the plugin module, relative to the working directory');
    }
    return file;
  }
  try {
    return createRequire(join(from, 'package.json')).resolve(plugin);
  } catch (e) {
    throw new PluginError(plugin, 'not-found', `cannot find the module from ${from}`, `install it (npm install ${plugin}) or give the path of its file`, e);
  }
}

/**
 * Import a plugin module and register its passes. `from` is where a
 * package name is looked up (default: the working directory, like the
 * user's own imports). Errors are PluginErrors naming the plugin: not found,
 * failed while loading, a pass name that is taken, or no pass at all.
 */
export async function loadPlugin(plugin: string, options: { from?: string } = {}): Promise<LoadedPlugin> {
  ensurePassesRegistered();
  const file = resolvePlugin(plugin, options.from ?? process.cwd());
  // A module is imported once; loading it again (a second --plugin, a second API call) answers what it registered.
  const known = loaded.get(file);
  if (known) return { plugin, passes: known };
  const before = new Set(listPasses().map((p) => p.name));
  let mod: Record<string, unknown>;
  try {
    mod = (await import(file)) as Record<string, unknown>;
  } catch (e) {
    const taken = isNibbleError(e) ? e.place.pass : undefined;
    if (taken && before.has(taken)) {
      throw new PluginError(plugin, 'duplicate-pass', `it registers a pass '${taken}', a name that is already registered`, 'pipeline names are global: rename the plugin\'s pass', e, taken);
    }
    throw new PluginError(plugin, 'load-failed', `loading it failed: ${(e as Error)?.message ?? String(e)}`, 'fix the plugin module; its error is attached as the cause', e);
  }
  const added = listPasses().map((p) => p.name).filter((n) => !before.has(n));
  const result = registerPlugin(plugin, mod, added);
  loaded.set(file, result.passes);
  return result;
}

/** Resolved plugin file -> the pass names it registered. */
const loaded = new Map<string, string[]>();

/** Load several plugins in order (the CLI's repeated --plugin). */
export async function loadPlugins(plugins: readonly string[], options: { from?: string } = {}): Promise<LoadedPlugin[]> {
  const out: LoadedPlugin[] = [];
  for (const p of plugins) out.push(await loadPlugin(p, options));
  return out;
}
