import { readFileSync } from 'node:fs';
import { checkSupportedOps, Graph, isNibbleError, Model, NibbleError, errorInFile } from '@nibble/ir';
import { modelFromMsg } from './onnx-import';
import { decodeModel } from './proto-decode';
import { ProtoReader } from './wire';

export interface ReadOnnxOptions {
  /** Named in every error, so the user knows which file is at fault. */
  file?: string;
  /**
   * Check every operator against nibble's op registry (default true). Off
   * only for tools that look at a model without transforming it.
   */
  checkOps?: boolean;
}

/** Re-throw `e` as a NibbleError that names the file. */
export function withFile(e: unknown, file: string | undefined): NibbleError {
  if (isNibbleError(e)) return errorInFile(e, file) as NibbleError;
  if (e instanceof RangeError && /call stack/i.test(e.message)) {
    return new NibbleError('E_FILE_FORMAT', `${file ? `${file}: ` : ''}the model nests subgraphs too deeply to read`, {
      file,
      hint: 'the file is corrupt or was written by a faulty exporter',
      cause: e,
    });
  }
  return new NibbleError('E_INTERNAL', `${file ? `${file}: ` : ''}reading the ONNX model failed: ${(e as Error)?.message ?? String(e)}`, {
    file,
    hint: 'this is a bug in nibble; please report it with the model file',
    cause: e,
  });
}

function forEachSubgraph(g: Graph, visit: (sub: Graph) => void): void {
  for (const n of g.nodes) {
    for (const a of n.attributes.values()) {
      if (a.type === 'graph') visit(a.value);
      else if (a.type === 'graphs') a.value.forEach(visit);
    }
  }
}

function checkOpsDeep(g: Graph, file: string | undefined): void {
  checkSupportedOps(g, file);
  forEachSubgraph(g, (sub) => checkOpsDeep(sub, file));
}

/**
 * Parse an ONNX model (IR 3 to 10, opsets 7 to 21) into nibble's IR, then
 * check it: graph.verify() and every operator against the op registry.
 * Malformed bytes give typed errors (E_TRUNCATED, E_FILE_FORMAT,
 * E_TOO_LARGE, E_CYCLE, E_UNDEFINED_VALUE, E_UNSUPPORTED_OP, ...), never a crash.
 */
export function readOnnx(bytes: Uint8Array, opts: ReadOnnxOptions = {}): Model {
  const { file } = opts;
  try {
    if (bytes.length === 0) {
      throw new NibbleError('E_TRUNCATED', 'the ONNX model is empty (0 bytes)', {
        hint: 'the file was cut short or never written; export it again',
      });
    }
    const r = new ProtoReader(bytes);
    const model = modelFromMsg(r, decodeModel(r));
    model.graph.verify();
    if (opts.checkOps !== false) checkOpsDeep(model.graph, file);
    return model;
  } catch (e) {
    throw withFile(e, file);
  }
}

export function readOnnxFile(path: string, opts: Omit<ReadOnnxOptions, 'file'> = {}): Model {
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(path);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') {
      throw new NibbleError('E_FILE_NOT_FOUND', `${path}: no such file`, { file: path, hint: 'check the path' });
    }
    if (code === 'ERR_FS_FILE_TOO_LARGE') {
      throw new NibbleError('E_TOO_LARGE', `${path}: the file is too large to read`, { file: path, hint: 'ONNX models are limited to 2 GB without external data' });
    }
    throw new NibbleError('E_FILE_FORMAT', `${path}: cannot read the file (${(e as Error).message})`, { file: path, cause: e });
  }
  return readOnnx(bytes, { ...opts, file: path });
}
