import type { Executor } from '@nibble/core';
import { type Graph, NibbleError, Tensor } from '@nibble/ir';
import type { CalibrationData, CalibrationProgress } from './service';

/** One executor run: the inputs fed and the values fetched, by name. */
export type Observed = Readonly<Record<string, Tensor>>;

/** Activation bytes one executor run may fetch, when the caller sets no limit (see docs/benchmarks.md). */
export const DEFAULT_RUN_BYTES = 16 * 1024 * 1024;

/**
 * Runs the model over the calibration data, yielding each run's inputs and
 * fetched activations. The data's batches are cut into runs whose fetched
 * activations stay under a byte budget: the first run holds one sample and
 * measures the bytes per sample, the rest hold as many samples as fit. So
 * memory does not depend on the data's batch size, and the same cut is made
 * on every pass. The next run starts before the current one is handed out,
 * so that the engine works while the collectors read.
 */
export class CalibrationRunner {
  /** Samples per run after the first, fixed by the first pass. */
  private perRun: number | undefined;
  samplesSeen = 0;

  constructor(
    private readonly graph: Graph,
    private readonly executor: Executor,
    private readonly data: CalibrationData,
    private readonly fetch: readonly string[],
    private readonly budgetBytes: number,
    private readonly onProgress?: (p: CalibrationProgress) => void,
  ) {
    if (!(budgetBytes > 0)) {
      throw new NibbleError('E_BAD_OPTION', `calibration run budget must be a positive number of bytes, got ${budgetBytes}`, { option: 'runBytes' });
    }
  }

  /**
   * One pass over the data. `fetch` (a subset of the constructor's) narrows
   * what this pass asks the engine for: a second pass needs only the values
   * whose statistics want it. The runs are cut as in the first pass.
   */
  async *observe(pass: 1 | 2, fetch: readonly string[] = this.fetch): AsyncGenerator<Observed> {
    const runs = this.runs()[Symbol.asyncIterator]();
    type Run = Promise<{ observed: Observed; samples: number }>;
    // Boxed, so that awaiting the next batch does not also await its run.
    const start = async (): Promise<{ run: Run } | undefined> => {
      const next = await runs.next();
      if (next.done) return undefined;
      const run = this.execute(next.value, fetch);
      // Rejections surface where the run is awaited; this only keeps an abandoned one quiet.
      run.catch(() => undefined);
      return { run };
    };
    let pending: { run: Run } | undefined;
    let done = 0;
    try {
      pending = await start();
      while (pending) {
        const current = await pending.run;
        if (this.perRun === undefined) this.perRun = this.samplesPerRun(current.observed, current.samples);
        pending = undefined;
        pending = await start();
        done += current.samples;
        if (pass === 1) this.samplesSeen = done;
        yield current.observed;
        this.onProgress?.({ pass, samplesDone: done, samplesTotal: Math.max(this.data.samples, done) });
      }
    } finally {
      // An abandoned pass (a collector threw) must not leave a run going into a disposed session.
      if (pending) await pending.run.catch(() => undefined);
      await runs.return?.(undefined);
    }
  }

  private async execute(feeds: Observed, fetch: readonly string[]): Promise<{ observed: Observed; samples: number }> {
    const fetched = fetch.length ? await this.executor.run(feeds as Record<string, Tensor>, fetch) : {};
    return { observed: { ...feeds, ...fetched }, samples: feeds[this.executor.inputNames[0]].shape[0] };
  }

  /** From the first run: how many samples fit the budget (at least one). */
  private samplesPerRun(first: Observed, samples: number): number {
    let bytes = 0;
    for (const name of this.fetch) bytes += first[name]?.byteLength ?? 0;
    const perSample = bytes / Math.max(samples, 1);
    return perSample > 0 ? Math.max(1, Math.floor(this.budgetBytes / perSample)) : Number.MAX_SAFE_INTEGER;
  }

  /** The data's batches, checked and cut into runs: one sample first, then perRun at a time. */
  private async *runs(): AsyncGenerator<Observed> {
    let first = true;
    for await (const feeds of this.data.batches()) {
      const n = this.checkFeeds(feeds);
      let at = 0;
      while (at < n) {
        // The first pass knows perRun only after its first run; the second pass repeats the same cut.
        const size = !sliceable(feeds, this.executor.inputNames) ? n : first ? 1 : Math.min(this.perRun ?? 1, n - at);
        first = false;
        yield at === 0 && size === n ? feeds : sliceBatch(feeds, this.executor.inputNames, at, size);
        at += size;
      }
    }
  }

  /** The batch size; rejects feeds that miss an input, or disagree with its declared shape or with each other. */
  private checkFeeds(feeds: Observed): number {
    let n: number | undefined;
    for (const name of this.executor.inputNames) {
      const t = feeds[name];
      if (!t) {
        throw new NibbleError('E_DATA', `calibration data gives no tensor for the model input '${name}'`, {
          value: name, hint: `the data's batches must be keyed by the model's inputs: ${this.executor.inputNames.join(', ')}`,
        });
      }
      const declared = this.graph.inputs.find((v) => v.name === name)?.type?.shape;
      const clash = t.rank === 0 || (declared && (declared.length !== t.rank || declared.some((d, i) => i > 0 && typeof d === 'number' && d !== t.shape[i])));
      if (clash || (n !== undefined && t.shape[0] !== n)) {
        const want = declared ? `[${declared.map((d) => d ?? '?').join(',')}]` : 'a batch of the other inputs\' size';
        throw new NibbleError('E_SHAPE', `calibration data gives '${name}' as [${t.shape.join(',')}], the model takes ${want}`, {
          value: name, hint: 'preprocess the data to the model\'s input size and layout (e.g. --preprocess resize=HxW,nchw)',
        });
      }
      n ??= t.shape[0];
    }
    return n ?? 0;
  }
}

/** Packed 4-bit and string inputs are fed whole (a sample need not start on a byte). */
function sliceable(feeds: Observed, inputs: readonly string[]): boolean {
  return inputs.every((name) => !['int4', 'uint4', 'string'].includes(feeds[name].dtype));
}

/** Samples [at, at + size) of every input: views, no copy. */
function sliceBatch(feeds: Observed, inputs: readonly string[], at: number, size: number): Observed {
  const out: Record<string, Tensor> = {};
  for (const name of inputs) {
    const t = feeds[name];
    const per = t.size / t.shape[0];
    const data = (t.data as Float32Array).subarray(at * per, (at + size) * per);
    out[name] = new Tensor(t.dtype, [size, ...t.shape.slice(1)], data);
  }
  return out;
}
