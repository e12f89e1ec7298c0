import { type AnyPass, describePass, ensurePassesRegistered, getPass, listPasses, type OptionDecl, optionTextName } from 'nibble';
import { jsonOption, type Command } from '../shared/command';
import { loadPluginFlags, pluginOption } from '../shared/plugins';

/** One option as `--json` prints it: the declaration, keyed by the name written in pipelines. */
export interface OptionInfo {
  name: string;
  type: OptionDecl['type'];
  /** null when the option has no default. */
  default: unknown;
  description: string;
  choices?: readonly string[];
  min?: number;
  max?: number;
  minLength?: number;
  maxLength?: number;
}

export interface PassInfo {
  name: string;
  summary: string;
  /** null when the pass has no description beyond its summary. */
  description: string | null;
  options: OptionInfo[];
}

function optionInfo(key: string, decl: OptionDecl): OptionInfo {
  const info: OptionInfo = { name: optionTextName(key), type: decl.type, default: decl.default ?? null, description: decl.description };
  if (decl.type === 'enum') info.choices = [...decl.values];
  if ('min' in decl && decl.min !== undefined) info.min = decl.min;
  if ('max' in decl && decl.max !== undefined) info.max = decl.max;
  if ('minLength' in decl && decl.minLength !== undefined) info.minLength = decl.minLength;
  if ('maxLength' in decl && decl.maxLength !== undefined) info.maxLength = decl.maxLength;
  return info;
}

/** A pass's declared data, for machines. */
export function passInfo(pass: AnyPass): PassInfo {
  return {
    name: pass.name,
    summary: pass.summary,
    description: pass.description?.trim() || null,
    options: Object.entries(pass.options as Record<string, OptionDecl>).map(([key, decl]) => optionInfo(key, decl)),
  };
}

export const passesCommand: Command = {
  name: 'passes',
  summary: 'list the registered passes, or show one pass with its options',
  usage: '[<pass>] [--plugin <module>]... [--json]',
  positionals: [0, 1],
  options: { ...pluginOption, ...jsonOption },
  async run(args, io) {
    ensurePassesRegistered();
    await loadPluginFlags(args.values.plugin);
    const [name] = args.positionals;
    if (name !== undefined) {
      // An unknown name throws E_UNKNOWN_PASS (exit 2) naming the nearest registered pass.
      const pass = getPass(name);
      io.out(args.values.json ? JSON.stringify(passInfo(pass), null, 2) : describePass(pass));
      return 0;
    }
    const passes = listPasses();
    if (args.values.json) {
      io.out(JSON.stringify(passes.map(passInfo), null, 2));
      return 0;
    }
    const width = Math.max(0, ...passes.map((p) => p.name.length));
    io.out([...passes.map((p) => `${p.name.padEnd(width)}  ${p.summary}`), '', "run 'nibble passes <pass>' for a pass's description and options"].join('\n'));
    return 0;
  },
};
