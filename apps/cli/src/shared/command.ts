import type { ParseArgsConfig } from 'node:util';

export type OptionSpec = NonNullable<ParseArgsConfig['options']>[string] & { description: string; valueName?: string };

export interface CommandIO {
  out: (text: string) => void;
  err: (text: string) => void;
  /** True when stderr is a terminal: progress bars then, a line every few seconds otherwise. */
  interactive: boolean;
  /** Milliseconds now (tests give a fake clock; default Date.now). */
  clock?: () => number;
}

export interface ParsedArgs {
  positionals: string[];
  values: Record<string, string | boolean | string[] | undefined>;
}

/** One CLI command: declared data (for help and parsing) plus a run function. */
export interface Command {
  name: string;
  summary: string;
  /** e.g. '<model> [--json]' */
  usage: string;
  options: Record<string, OptionSpec>;
  /** Number of positional arguments: [min, max]. */
  positionals: [number, number];
  run(args: ParsedArgs, io: CommandIO): Promise<number>;
}

/** Argument fragments shared by commands (nuxt/cli style). */
export const jsonOption: Record<string, OptionSpec> = {
  json: { type: 'boolean', description: 'print machine-readable JSON on stdout (errors too, on stderr)' },
  quiet: { type: 'boolean', description: 'no progress on stderr (warnings and errors still print)' },
};

/** For commands that write files. */
export const forceOption: Record<string, OptionSpec> = {
  force: { type: 'boolean', description: 'replace an output file that exists (never an input)' },
};

/** For commands whose size options can need much memory. */
export const memoryOption: Record<string, OptionSpec> = {
  'memory-limit': { type: 'string', valueName: 'GiB', description: 'refuse work estimated above this much memory (default 4)' },
};
