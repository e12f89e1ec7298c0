import { accessSync, constants, existsSync, realpathSync, statSync } from 'node:fs';
import { dirname, extname, resolve } from 'node:path';
import { parseDatasetSpec, specFiles } from '@nibble/data';
import { NibbleError } from '@nibble/ir';

/*
 * Outputs never destroy inputs: every command checks where it will write
 * before any work (a long run never fails at the end, and never replaces
 * the model or the data it read).
 */

export interface OutputCheck {
  /** Files the command reads (model, data files): the output may not be one of them. */
  inputs?: readonly string[];
  /** Refuse to replace an existing file (the CLI sets this unless --force). */
  refuseExisting?: boolean;
  /** Required extension, e.g. '.onnx' or '.html', with what the file is for the message. */
  extension?: { ext: string; what: string };
  /** The option that named the path, for the error (default 'out'). */
  option?: string;
}

/** The real path of a file that may not exist yet (its directory resolved), so links and ./ spellings compare equal. */
function canonical(path: string): string {
  const abs = resolve(path);
  try {
    return realpathSync(abs);
  } catch {
    try {
      return resolve(realpathSync(dirname(abs)), abs.slice(dirname(abs).length + 1));
    } catch {
      return abs;
    }
  }
}

/** The files a dataset spec names (none for a named dataset), for the output-is-an-input check. */
export function dataFiles(spec: string | undefined): string[] {
  if (spec === undefined) return [];
  try {
    const parsed = parseDatasetSpec(spec);
    return parsed.kind === 'named' ? [] : specFiles(parsed);
  } catch {
    return []; // a bad spec is reported when the data is opened
  }
}

/**
 * Where an output may be written: not one of the inputs, in an existing
 * writable directory, not a directory itself, and (when asked) not an
 * existing file. Errors are E_BAD_OPTION (exit 2) naming the path and option.
 */
export function checkOutputPath(path: string, check: OutputCheck = {}): void {
  const option = check.option ?? 'out';
  if (path.trim() === '') throw new NibbleError('E_BAD_OPTION', `--${option} is empty`, { option, hint: `give a file path to --${option}` });
  const target = canonical(path);
  for (const input of check.inputs ?? []) {
    if (canonical(input) === target) {
      throw new NibbleError('E_BAD_OPTION', `${path}: --${option} is the input ${input}; writing it would destroy the input`, {
        file: path, option, hint: `write to another file, e.g. ${path.replace(/(\.[^./]*)?$/, `.out${check.extension?.ext ?? '$1'}`)}`,
      });
    }
  }
  if (check.extension && extname(path).toLowerCase() !== check.extension.ext) {
    throw new NibbleError('E_BAD_OPTION', `${path}: ${check.extension.what} is written as ${check.extension.ext}; give a path ending in ${check.extension.ext}`, { file: path, option });
  }
  const dir = dirname(resolve(path));
  if (!existsSync(dir) || !statSync(dir).isDirectory()) {
    throw new NibbleError('E_BAD_OPTION', `${path}: the directory ${dir} does not exist`, { file: path, option, hint: 'create the directory first, or write somewhere that exists' });
  }
  try {
    accessSync(dir, constants.W_OK);
  } catch {
    throw new NibbleError('E_BAD_OPTION', `${path}: the directory ${dir} is not writable`, { file: path, option, hint: 'write somewhere you may write, or change the directory\'s permissions' });
  }
  if (existsSync(path)) {
    if (statSync(path).isDirectory()) {
      throw new NibbleError('E_BAD_OPTION', `${path}: is a directory; --${option} takes a file path`, { file: path, option, hint: `name a file inside it, e.g. ${path.replace(/\/*$/, '')}/out${check.extension?.ext ?? ''}` });
    }
    if (check.refuseExisting) {
      throw new NibbleError('E_BAD_OPTION', `${path}: the file exists; nibble does not replace files unless asked`, { file: path, option, hint: 'pass --force to replace it, or write to another path' });
    }
  }
}
