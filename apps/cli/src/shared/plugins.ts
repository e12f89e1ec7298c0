import { loadPlugins } from 'nibble';
import type { OptionSpec } from './command';

/** `--plugin <module>`, repeatable: modules whose passes join the registry before the pipeline is read. */
export const pluginOption: Record<string, OptionSpec> = {
  plugin: {
    type: 'string', multiple: true, valueName: 'module',
    description: 'load passes from a module (a package name or a file; repeatable); they are used by name in --pipeline',
  },
};

/** Load the --plugin modules, resolved from the working directory as the user's own imports are. */
export async function loadPluginFlags(value: unknown): Promise<void> {
  const plugins = (value as string[] | undefined) ?? [];
  if (plugins.length) await loadPlugins(plugins, { from: process.cwd() });
}
