import { cloneModel, inferShapes, type Model, NibbleError, type Tensor } from '@nibble/ir';

/*
 * Checks made before the float model runs, so that a user's mistake is a
 * clear error naming what to change rather than an engine failure or a
 * kernel's OOM kill: the batch a model accepts, the size options against a
 * memory limit, non-finite weights and samples.
 */

/** Default memory limit of up-front estimates (bytes): raise it with --memory-limit (GiB). */
export const DEFAULT_MEMORY_LIMIT = 4 * 1024 ** 3;

/** Largest histogram bin count accepted at all, whatever the memory limit. */
export const MAX_HISTOGRAM_BINS = 1 << 20;

/** The model's one data input (initializers listed as inputs are not data); undefined when it has several. */
function dataInputOf(model: Model): { name: string; shape?: readonly (number | string | null)[] } | undefined {
  const inputs = model.graph.inputs.filter((v) => !v.isInitializer);
  return inputs.length === 1 ? { name: inputs[0].name, shape: inputs[0].type?.shape as (number | string | null)[] | undefined } : undefined;
}

/** The batch a model's input is fixed to (its first dimension when that is a number), else undefined. */
export function fixedBatchOf(model: Model): number | undefined {
  const d = dataInputOf(model)?.shape?.[0];
  return typeof d === 'number' && d > 0 ? d : undefined;
}

/**
 * The batch to run `model` in: the requested one, else `fallback`; a model
 * whose input has a fixed batch runs in that batch (a requested other batch
 * is an error naming --batch, the input and what to give instead).
 */
export function batchForModel(model: Model, requested: number | undefined, fallback: number, where = 'the model'): number {
  const fixed = fixedBatchOf(model);
  if (fixed === undefined) return requested ?? fallback;
  if (requested !== undefined && requested !== fixed) {
    const input = dataInputOf(model)!;
    throw new NibbleError('E_BAD_OPTION', `--batch ${requested} cannot be honoured: ${where} takes exactly ${fixed} sample${fixed > 1 ? 's' : ''} per run (input '${input.name}' is [${input.shape!.map((d) => d ?? '?').join(',')}])`, {
      option: 'batch', value: input.name, hint: `leave --batch out (nibble then runs the model in batches of ${fixed}) or give --batch ${fixed}`,
    });
  }
  return fixed;
}

/** A weight holding NaN or an infinity is the model's fault, named here rather than blamed on a batch later. */
export function checkFiniteWeights(model: Model, file?: string): void {
  const g = model.graph;
  for (const v of g.initializers) {
    const t = v.const;
    if (!t || (t.dtype !== 'float32' && t.dtype !== 'float64' && t.dtype !== 'float16')) continue;
    const at = firstNonFinite(t);
    if (at < 0) continue;
    const users = v.uses.map((u) => u.node.name || u.node.opType);
    throw new NibbleError('E_NUMERIC', `${file ? `${file}: ` : ''}the weight '${v.name}' holds ${String(t.toFloat64()[at])} at element ${at}${users.length ? ` (used by ${users.slice(0, 3).join(', ')})` : ''}`, {
      ...(file ? { file } : {}), value: v.name, ...(users[0] ? { node: users[0] } : {}),
      hint: 'the model file is damaged or was exported from a diverged training run; re-export it from finite weights',
    });
  }
}

function firstNonFinite(t: Tensor): number {
  const d = t.dtype === 'float16' ? t.toFloat64() : (t.data as Float32Array | Float64Array);
  for (let i = 0; i < d.length; i++) if (d[i] - d[i] !== 0) return i;
  return -1;
}

/** A sample holding NaN or an infinity names itself (dataset and index), not the first layer it reaches. */
export function checkFiniteBatch(input: Tensor, indices: ArrayLike<number>, description: string): void {
  const d = input.data as Float32Array;
  const n = indices.length;
  if (n === 0) return;
  const per = d.length / n;
  for (let i = 0; i < d.length; i++) {
    if (d[i] - d[i] !== 0) {
      const k = Math.floor(i / per);
      throw new NibbleError('E_DATA', `${description}: sample ${indices[k]} holds ${String(d[i])} (element ${i - k * per} after preprocessing)`, {
        value: String(indices[k]), hint: 'remove or repair that sample (NaN or an infinity in the data), or check the preprocessing',
      });
    }
  }
}

const GIB = 1024 ** 3;
const gib = (bytes: number): string => `${(bytes / GIB).toFixed(bytes < GIB ? 3 : 1)} GiB`;

/** Memory limit from a --memory-limit value in GiB (a positive number). */
export function memoryLimitBytes(gibText: string | undefined): number {
  if (gibText === undefined) return DEFAULT_MEMORY_LIMIT;
  const v = Number(gibText);
  if (gibText.trim() === '' || !Number.isFinite(v) || v <= 0 || v > 1024) {
    throw new NibbleError('E_BAD_OPTION', `--memory-limit must be a number of GiB in (0, 1024], got '${gibText}'`, { option: 'memory-limit', hint: 'e.g. --memory-limit 16' });
  }
  return v * GIB;
}

/** Channels of every float activation of rank >= 2 (what calibration observes by default), from inferred shapes. */
function observedChannels(model: Model): { values: number; channels: number } {
  const m = cloneModel(model);
  try {
    inferShapes(m.graph, { opset: m.opsetImports.get('') ?? 21, overwrite: false });
  } catch {
    // shapes stay unknown: each such value counts one channel
  }
  let values = 0;
  let channels = 0;
  for (const n of m.graph.nodes) {
    for (const v of n.outputs) {
      const shape = v.type?.shape;
      if (!shape || shape.length < 2 || (v.type?.dtype && v.type.dtype !== 'float32')) continue;
      values++;
      channels += 1 + (typeof shape[1] === 'number' ? shape[1] : 1);
    }
  }
  return { values, channels };
}

/**
 * Histograms cost bins x (channels + 1) x 8 bytes per observed activation,
 * all held at once: estimated up front and refused above the limit, so
 * --histogram 100000000 is a clear error instead of a kernel's OOM kill.
 */
export function checkHistogramMemory(model: Model, bins: number, limitBytes = DEFAULT_MEMORY_LIMIT): number {
  if (!Number.isSafeInteger(bins) || bins < 8 || bins > MAX_HISTOGRAM_BINS) {
    throw new NibbleError('E_BAD_OPTION', `--histogram must be an integer in [8, ${MAX_HISTOGRAM_BINS}], got ${bins}`, { option: 'histogram', hint: 'e.g. --histogram 2048' });
  }
  const { values, channels } = observedChannels(model);
  const bytes = bins * channels * 8;
  if (bytes > limitBytes) {
    const fit = Math.max(8, Math.floor(limitBytes / Math.max(1, channels * 8)));
    throw new NibbleError('E_TOO_LARGE', `--histogram ${bins} needs about ${gib(bytes)} (${bins} bins x ${channels} channels of ${values} activations x 8 bytes), above the limit of ${gib(limitBytes)}`, {
      option: 'histogram', hint: `use at most ${Math.min(fit, MAX_HISTOGRAM_BINS)} bins, or raise the limit with --memory-limit <GiB>`,
    });
  }
  return bytes;
}

/** Elements of one sample of every float activation whose shape is static after the batch axis. */
function activationElementsPerSample(model: Model): number {
  const m = cloneModel(model);
  try {
    inferShapes(m.graph, { opset: m.opsetImports.get('') ?? 21, overwrite: false });
  } catch {
    return 0;
  }
  let total = 0;
  for (const n of m.graph.nodes) {
    for (const v of n.outputs) {
      const rest = v.type?.shape?.slice(1);
      if (rest && rest.every((d) => typeof d === 'number')) total += (rest as number[]).reduce((a, b) => a * b, 1);
    }
  }
  return total;
}

/**
 * Evaluation holds one batch's activations at a time (4 bytes each): a
 * batch whose estimate passes the limit is refused with the largest that fits.
 */
export function checkBatchMemory(model: Model, batch: number, limitBytes = DEFAULT_MEMORY_LIMIT): void {
  const per = activationElementsPerSample(model) * 4;
  checkBatchBytes(per, batch, limitBytes);
}

/**
 * The batch evaluation uses when the caller gave none: the default, or the
 * largest batch under the memory limit when the default would pass it (a
 * 224 x 224 MobileNetV2's QDQ graph holds ~0.16 GiB per sample), and the
 * usual refusal when not even one sample fits.
 */
export function defaultBatchWithin(model: Model, fallback: number, limitBytes = DEFAULT_MEMORY_LIMIT): number {
  const per = activationElementsPerSample(model) * 4;
  const batch = per > 0 ? Math.max(1, Math.min(fallback, Math.floor(limitBytes / per))) : fallback;
  checkBatchBytes(per, batch, limitBytes);
  return batch;
}

function checkBatchBytes(per: number, batch: number, limitBytes: number): void {
  if (per * batch > limitBytes) {
    throw new NibbleError('E_TOO_LARGE', `--batch ${batch} needs about ${gib(per * batch)} of activations (${gib(per)} per sample), above the limit of ${gib(limitBytes)}`, {
      option: 'batch', hint: `use --batch ${Math.max(1, Math.floor(limitBytes / Math.max(1, per)))} or less, or raise the limit with --memory-limit <GiB>`,
    });
  }
}
