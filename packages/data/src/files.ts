import { existsSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'fs';
import { basename, dirname, join } from 'path';
import { gunzipSync } from 'zlib';
import { NibbleError } from '@nibble/ir';

/** Who provides a file that is missing, for the hint (e.g. "Debian package dataset-fashion-mnist"). */
export interface FileOrigin {
  provider?: string;
  /** What the file is, e.g. "Fashion-MNIST test images". */
  what?: string;
}

export function missingFile(path: string, origin: FileOrigin = {}): NibbleError {
  const what = origin.what ? `${origin.what}: ` : '';
  const hint = origin.provider
    ? `it is provided by ${origin.provider}; install it, or name another copy of the file`
    : 'check the path (relative paths start at the current directory)';
  return new NibbleError('E_FILE_NOT_FOUND', `${what}no such file: ${path}`, { file: path, hint });
}

/** Reads a whole file, with a typed error naming it when it is missing or unreadable. */
export function readFileChecked(path: string, origin: FileOrigin = {}): Uint8Array {
  if (!existsSync(path)) throw missingFile(path, origin);
  try {
    if (statSync(path).isDirectory()) {
      throw new NibbleError('E_FILE_FORMAT', `${path} is a directory, not a file`, { file: path });
    }
    return readFileSync(path);
  } catch (e) {
    if (e instanceof NibbleError) throw e;
    throw new NibbleError('E_FILE_FORMAT', `cannot read ${path}: ${(e as Error).message}`, { file: path, cause: e });
  }
}

/** Gzip members start with 1f 8b; anything else is returned as is. */
export function gunzipIfNeeded(bytes: Uint8Array, path: string): Uint8Array {
  if (bytes.length < 2 || bytes[0] !== 0x1f || bytes[1] !== 0x8b) return bytes;
  try {
    return gunzipSync(bytes);
  } catch (e) {
    throw new NibbleError('E_FILE_FORMAT', `${path}: corrupt gzip data (${(e as Error).message})`, {
      file: path, cause: e, hint: 'the download or copy is damaged; fetch the file again',
    });
  }
}

/** Writes a file atomically: a temporary file beside it, then a rename (a string is written as UTF-8). */
export function writeFileAtomic(path: string, bytes: Uint8Array | string): void {
  const tmp = join(dirname(path), `.${basename(path)}.${process.pid}.tmp`);
  try {
    writeFileSync(tmp, bytes);
    renameSync(tmp, path);
  } catch (e) {
    rmSync(tmp, { force: true });
    throw new NibbleError('E_FILE_NOT_FOUND', `${path}: cannot write the file (${(e as Error).message})`, {
      file: path, cause: e, hint: 'check that the directory exists and is writable',
    });
  }
}
