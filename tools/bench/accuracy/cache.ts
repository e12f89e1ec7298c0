/*
 * The results cache: one JSON file per model file content (cache/<name>-
 * <sha256 prefix>.json), holding every finished cell. A retrained model has
 * another hash, hence a fresh file; a cell whose recipe now expands to
 * another pipeline is stale and measured again. The parent process alone
 * writes it, atomically, after every cell, so a killed run loses at most
 * the cells in flight. Float32 logits (needed for agreement and SQNR, 400 kB
 * per model) live beside it in cache/logits/, which git ignores: they are
 * recomputed in seconds when missing.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { writeFileAtomic } from '@nibble/data';
import { sqnrDb } from './metrics';

export const CACHE_VERSION = 1;

/** One (model, recipe, calibration size, seed, test size) measurement. */
export interface CellResult {
  recipe: string;
  /** The recipe's pipeline when the cell ran; a different expansion today makes the cell stale. */
  pipeline: string;
  samples: number;
  seed: number;
  /** Test images evaluated (the first n of the test split). */
  n: number;
  correct: number;
  top1: number;
  /** Test images whose top-1 class equals float32's. */
  agree: number;
  agreement: number;
  /** sum |y|^2 and sum |y - y_q|^2 of the logits over the test images. */
  signal: number;
  noise: number;
  /** 10 log10(signal / noise); null when the logits equal float32's exactly. */
  sqnrDb: number | null;
  bitsWeights: number | null;
  bitsActivations: number | null;
  /**
   * Shannon entropy of the integer codes, bits per value (issue 19): weights exactly, activations on the
   * calibration images (the quantized model's, from their histograms). Absent in cells measured before.
   */
  entropyWeights?: number | null;
  entropyActivations?: number | null;
  /** Wall time, for cost estimates only (never in the published figures). */
  ms: { quantize: number; evaluate: number };
}

export interface FloatResult {
  n: number;
  correct: number;
  top1: number;
  classes: number;
  ms: number;
}

export interface ModelCache {
  version: number;
  model: string;
  file: string;
  sha256: string;
  /** Float32 results by test size n. */
  float: Record<string, FloatResult>;
  cells: Record<string, CellResult>;
}

export function cellKey(recipe: string, samples: number, seed: number, n: number): string {
  return `${recipe}|samples=${samples}|seed=${seed}|n=${n}`;
}

export function sha256OfFile(path: string): string {
  return createHash('sha256').update(readFileSync(path)).digest('hex');
}

export function cachePath(cacheDir: string, model: string, sha256: string): string {
  return join(cacheDir, `${model}-${sha256.slice(0, 12)}.json`);
}

export function logitsPath(cacheDir: string, model: string, sha256: string, n: number): string {
  return join(cacheDir, 'logits', `${model}-${sha256.slice(0, 12)}-n${n}.f32`);
}


/** JSON with two-space indents, atomically (an infinite number becomes null, as JSON has no Infinity). */
export function writeJsonAtomic(path: string, value: unknown): void {
  mkdirSync(dirname(path), { recursive: true });
  writeFileAtomic(path, `${JSON.stringify(value, null, 2)}\n`);
}

/** The cache of a model file, or an empty one; a file of another version or model is not reused. */
export function readModelCache(cacheDir: string, model: string, file: string, sha256: string): ModelCache {
  const path = cachePath(cacheDir, model, sha256);
  const empty: ModelCache = { version: CACHE_VERSION, model, file, sha256, float: {}, cells: {} };
  if (!existsSync(path)) return empty;
  let parsed: ModelCache;
  try {
    parsed = JSON.parse(readFileSync(path, 'utf8')) as ModelCache;
  } catch (e) {
    throw new Error(`${path}: unreadable results cache (${(e as Error).message}); delete it to measure its cells again`);
  }
  if (parsed.version !== CACHE_VERSION || parsed.sha256 !== sha256) return empty;
  return { ...empty, float: parsed.float ?? {}, cells: parsed.cells ?? {} };
}

/** Keys in sorted order, so the file's bytes depend on its content alone, not on the order cells finished in. */
function sorted<T>(record: Record<string, T>): Record<string, T> {
  return Object.fromEntries(Object.keys(record).sort().map((k) => [k, record[k]]));
}

export function writeModelCache(cacheDir: string, cache: ModelCache): void {
  const out: ModelCache = { ...cache, float: sorted(cache.float), cells: sorted(cache.cells) };
  mkdirSync(cacheDir, { recursive: true });
  writeFileAtomic(cachePath(cacheDir, cache.model, cache.sha256), `${JSON.stringify(out, null, 1)}\n`);
}

/** A usable cached cell: present and measured with the recipe's current pipeline. */
export function freshCell(cache: ModelCache, key: string, pipeline: string): CellResult | undefined {
  const c = cache.cells[key];
  return c && c.pipeline === pipeline ? c : undefined;
}

/** The SQNR of a cell from its sums (JSON cannot hold Infinity). */
export function cellSqnr(c: CellResult): number {
  return sqnrDb(c.signal, c.noise);
}

export function writeLogits(path: string, logits: Float32Array): void {
  mkdirSync(dirname(path), { recursive: true });
  writeFileAtomic(path, new Uint8Array(logits.buffer, logits.byteOffset, logits.byteLength));
}

export function readLogits(path: string): Float32Array | undefined {
  if (!existsSync(path)) return undefined;
  const b = readFileSync(path);
  if (b.byteLength % 4 !== 0) return undefined;
  // Copy into a fresh, aligned buffer: the file's bytes may sit at any offset of a pooled Buffer.
  const out = new Float32Array(b.byteLength / 4);
  new Uint8Array(out.buffer).set(b);
  return out;
}
