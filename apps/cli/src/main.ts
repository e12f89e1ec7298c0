import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { NibbleError } from 'nibble';
import { benchCommand } from './commands/bench';
import { calibrateCommand } from './commands/calibrate';
import { convertCommand } from './commands/convert';
import { evalCommand } from './commands/eval';
import { fitCommand } from './commands/fit';
import { inspectCommand } from './commands/inspect';
import { passesCommand } from './commands/passes';
import { quantizeCommand } from './commands/quantize';
import { recipesCommand } from './commands/recipes';
import { startCommand } from './commands/start';
import type { Command, CommandIO, ParsedArgs } from './shared/command';
import { reportError } from './shared/errors';

const COMMANDS: Command[] = [startCommand, inspectCommand, convertCommand, calibrateCommand, quantizeCommand, evalCommand, fitCommand, recipesCommand, passesCommand, benchCommand];

function help(): string {
  const width = Math.max(...COMMANDS.map((c) => c.name.length));
  return [
    'usage: nibble <command> [options]',
    '',
    'commands:',
    ...COMMANDS.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`),
    '',
    'nibble --version prints the version',
    '',
    "run 'nibble <command> --help' for a command's options",
  ].join('\n');
}

function commandHelp(c: Command): string {
  const opts = Object.entries(c.options).map(([name, o]) => `  --${name}${o.type === 'string' ? ` <${o.valueName ?? 'value'}>` : ''}  ${o.description}`);
  return [`usage: nibble ${c.name} ${c.usage}`, '', c.summary, ...(opts.length ? ['', 'options:', ...opts] : [])].join('\n');
}

/** The CLI package's version (apps/cli/package.json). */
export function version(): string {
  return (JSON.parse(readFileSync(join(__dirname, '..', 'package.json'), 'utf8')) as { version: string }).version;
}

export async function main(argv: string[], io: CommandIO): Promise<number> {
  const [name, ...rest] = argv;
  if (name === '--version' || name === '-V' || name === 'version') {
    io.out(argv.includes('--json') ? JSON.stringify({ nibble: version(), node: process.versions.node }) : `nibble ${version()}`);
    return 0;
  }
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    io.out(help());
    return name ? 0 : 2;
  }
  const command = COMMANDS.find((c) => c.name === name);
  const json = rest.includes('--json');
  try {
    if (!command) {
      throw new NibbleError('E_BAD_OPTION', `unknown command '${name}'`, { hint: `commands: ${COMMANDS.map((c) => c.name).join(', ')}` });
    }
    if (rest.includes('--help') || rest.includes('-h')) {
      io.out(commandHelp(command));
      return 0;
    }
    let parsed;
    try {
      parsed = parseArgs({ args: rest, options: command.options, allowPositionals: true, strict: true });
    } catch (e) {
      throw new NibbleError('E_BAD_OPTION', `nibble ${command.name}: ${(e as Error).message}`, { hint: `usage: nibble ${command.name} ${command.usage}` });
    }
    const [min, max] = command.positionals;
    if (parsed.positionals.length < min || parsed.positionals.length > max) {
      throw new NibbleError('E_BAD_OPTION', `nibble ${command.name}: expected ${min === max ? min : `${min} to ${max}`} argument(s), got ${parsed.positionals.length}`, {
        hint: `usage: nibble ${command.name} ${command.usage}`,
      });
    }
    return await command.run({ positionals: parsed.positionals, values: parsed.values as ParsedArgs['values'] }, io);
  } catch (e) {
    return reportError(e, io.err, json);
  }
}

/**
 * Ctrl-C and kill end the run at once with 130/143: the handler replaces
 * the default (die mid-write), and nibble writes files synchronously to a
 * temporary name, then renames, so nothing half-written is left behind.
 */
function exitOnSignals(err: (text: string) => void): void {
  for (const [signal, code] of [['SIGINT', 130], ['SIGTERM', 143]] as const) {
    process.once(signal, () => {
      err(`nibble: interrupted (${signal}); no output was written by the unfinished step`);
      process.exit(code);
    });
  }
}

/** Entry point of the `nibble` binary. */
export function runCli(): void {
  const io: CommandIO = {
    out: (t) => process.stdout.write(`${t}\n`),
    err: (t) => process.stderr.write(`${t}\n`),
    interactive: Boolean(process.stderr.isTTY),
  };
  exitOnSignals(io.err);
  main(process.argv.slice(2), io).then((code) => {
    process.exitCode = code;
  });
}

if (require.main === module) runCli();
