import { readFile, stat } from 'node:fs/promises';
import { dirname, join, normalize, isAbsolute } from 'node:path';
import { NibbleError } from '@nibble/ir';
import type { ShardLoader } from './weights';

/** Shard contents: bytes, or base64 text (as packages that bundle models in JS modules ship them). */
export type ShardData = Uint8Array | ArrayBuffer | string;

/**
 * A TF.js model held in memory: the model.json (parsed or as text) and its
 * weight shards. `weights` maps each manifest path to its shard; a single
 * buffer stands for all shards concatenated in manifest order (TF.js's
 * ModelArtifacts.weightData). A value wrapped as an ES module namespace
 * ({ default: ... }) is unwrapped.
 */
export interface TfjsMemorySource {
  modelJson: unknown;
  weights?: Record<string, ShardData | { default: ShardData }> | ShardData;
  /** Name used in error messages. */
  file?: string;
}

export type TfjsSource = string | TfjsMemorySource;

export interface ResolvedSource {
  json: Record<string, unknown>;
  /** Shard loader, or one buffer holding every shard of every group back to back. */
  weights: ShardLoader | Uint8Array | null;
  file?: string;
}

function unwrap<T>(v: T | { default: T }): T {
  return v !== null && typeof v === 'object' && 'default' in (v as object) && !(v instanceof Uint8Array) && !(v instanceof ArrayBuffer)
    ? (v as { default: T }).default
    : (v as T);
}

function toBytes(d: ShardData): Uint8Array {
  if (typeof d === 'string') {
    const b = Buffer.from(d, 'base64');
    return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
  }
  return d instanceof Uint8Array ? d : new Uint8Array(d);
}

function parseJson(text: string, file?: string): Record<string, unknown> {
  try {
    const v = JSON.parse(text) as unknown;
    if (v && typeof v === 'object' && !Array.isArray(v)) return v as Record<string, unknown>;
  } catch (e) {
    throw new NibbleError('E_FILE_FORMAT', `${file ?? 'model.json'}: not valid JSON (${(e as Error).message})`, {
      file,
      hint: 'give the model.json written by the TensorFlow.js converter',
      cause: e,
    });
  }
  throw new NibbleError('E_FILE_FORMAT', `${file ?? 'model.json'}: not a JSON object`, { file, hint: 'give the model.json written by the TensorFlow.js converter' });
}

async function readOrThrow(path: string, what: string, hint: string): Promise<Uint8Array> {
  try {
    const b = await readFile(path);
    return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new NibbleError(code === 'ENOENT' ? 'E_FILE_NOT_FOUND' : 'E_FILE_FORMAT', `${path}: ${what} ${code === 'ENOENT' ? 'does not exist' : 'cannot be read'}`, {
      file: path,
      hint,
      cause: e,
    });
  }
}

/** Turn a path (model.json or its directory) or an in-memory source into JSON plus a shard loader. */
export async function resolveSource(source: TfjsSource): Promise<ResolvedSource> {
  if (typeof source === 'string') {
    let path = source;
    const st = await stat(path).catch(() => null);
    if (!st) throw new NibbleError('E_FILE_NOT_FOUND', `${path}: no such file or directory`, { file: path, hint: 'give the path of a TF.js model.json or of its directory' });
    if (st.isDirectory()) path = join(path, 'model.json');
    const text = new TextDecoder().decode(await readOrThrow(path, 'model file', 'a TF.js model directory holds model.json and its .bin shards'));
    const dir = dirname(path);
    return {
      json: parseJson(text, path),
      file: path,
      weights: (p) => {
        // Shard paths are relative to model.json; refuse paths that climb out of its directory.
        const rel = normalize(p);
        if (isAbsolute(rel) || rel.startsWith('..')) {
          throw new NibbleError('E_FILE_FORMAT', `${path}: weights manifest names shard '${p}' outside the model's directory`, { file: path, hint: 'the model.json is corrupt' });
        }
        return readOrThrow(join(dir, rel), `weights shard '${p}' named by the manifest`, 'copy every .bin shard listed in model.json next to it');
      },
    };
  }
  const file = source.file;
  const rawJson = unwrap(source.modelJson as object);
  const json = typeof rawJson === 'string' ? parseJson(rawJson, file) : (rawJson as Record<string, unknown>);
  if (!json || typeof json !== 'object') throw new NibbleError('E_FILE_FORMAT', `${file ?? 'model'}: modelJson is not an object`, { file, hint: 'pass the parsed model.json' });
  const weights = source.weights === undefined ? undefined : unwrap(source.weights);
  if (weights === undefined || typeof weights === 'string' || weights instanceof Uint8Array || weights instanceof ArrayBuffer) {
    return { json, file, weights: weights === undefined ? null : toBytes(weights) };
  }
  const table = weights as Record<string, ShardData | { default: ShardData }>;
  return {
    json,
    file,
    weights: async (p) => {
      const d = table[p] ?? table[p.replace(/^\.\//, '')];
      if (d === undefined) {
        throw new NibbleError('E_FILE_NOT_FOUND', `${file ?? 'model'}: weights shard '${p}' named by the manifest is not among the ${Object.keys(table).length} shards given`, {
          file,
          hint: `pass every shard of the manifest (given: ${Object.keys(table).join(', ') || 'none'})`,
        });
      }
      return toBytes(unwrap(d));
    },
  };
}
