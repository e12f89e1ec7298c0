import { readFileSync } from 'node:fs';
import { NibbleError, type Model } from '@nibble/ir';
import { decodeEntropyContainer, encodeEntropyContainer } from './entropy-container';
import { readOnnx, type ReadOnnxOptions } from './read';
import { writeFileAtomic } from './write';

/*
 * Files of the entropy-coded container (entropy-container.ts): Node's side,
 * kept apart so the coding itself stays free of Node modules.
 */

/** Read a .nbz container: restore its ONNX bytes, then read them as any ONNX file. */
export function readEntropyContainerFile(path: string, opts: Omit<ReadOnnxOptions, 'file'> = {}): Model {
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(path);
  } catch (e) {
    const missing = (e as NodeJS.ErrnoException).code === 'ENOENT';
    throw new NibbleError(missing ? 'E_FILE_NOT_FOUND' : 'E_FILE_FORMAT', `${path}: cannot read the file (${(e as Error).message})`, { file: path, cause: e, hint: 'check the path and that you may read it' });
  }
  return readOnnx(decodeEntropyContainer(bytes, { file: path }), { ...opts, file: path });
}

/** Write ONNX bytes as a container, atomically (temp file, then rename). */
export function writeEntropyContainerFile(path: string, onnx: Uint8Array): void {
  const model = readOnnx(onnx, { file: path, checkOps: false });
  writeFileAtomic(path, encodeEntropyContainer(onnx, model));
}
