import { type Model, NibbleError, type Tensor } from '@nibble/ir';

/**
 * Something that runs a model: onnxruntime (node or web), or one of our own
 * int4 backends. Calibration and evaluation talk only to this interface.
 */
export interface Executor {
  /** Names of the model's graph inputs, in order. */
  readonly inputNames: readonly string[];
  /** Names of what run() returns by default (the graph outputs). */
  readonly outputNames: readonly string[];
  /**
   * Run one batch. `fetch` may name any value of the graph (intermediate
   * activations too); by default the graph outputs are returned.
   */
  run(feeds: Record<string, Tensor>, fetch?: readonly string[]): Promise<Record<string, Tensor>>;
  dispose(): Promise<void>;
}

export interface ExecutorOptions {
  /** Intermediate values that run() may be asked to fetch, beyond the graph outputs. */
  extraOutputs?: readonly string[];
  /** Threads the engine may use (default: what the engine chooses). */
  threads?: number;
}

/** Creates executors for a model; runtime packages provide implementations. */
export type ExecutorFactory = (model: Model, options?: ExecutorOptions) => Promise<Executor>;

/**
 * The checks of a single-input executor's run(): the one feed present and
 * batched, no unknown feed, every fetched name fetchable. Returns the input
 * and the names to fetch (the graph outputs by default). Shared by nibble's
 * own backends (wasm, webgpu).
 */
export function checkSingleInputRun(
  inputNames: readonly string[], outputNames: readonly string[], fetchable: ReadonlySet<string>, feeds: Record<string, Tensor>, fetch?: readonly string[],
): { x: Tensor; names: string[] } {
  const name = inputNames[0];
  const x = feeds[name];
  if (!x) throw new NibbleError('E_BAD_OPTION', `no feed for model input '${name}'`, { value: name, hint: `feed every input: ${inputNames.join(', ')}` });
  for (const f of Object.keys(feeds)) {
    if (f !== name) throw new NibbleError('E_BAD_OPTION', `feed '${f}' is not an input of the model`, { value: f, hint: `the model's inputs are: ${inputNames.join(', ')}` });
  }
  const names = [...new Set(fetch ?? outputNames)];
  for (const n of names) {
    if (!fetchable.has(n)) throw new NibbleError('E_BAD_OPTION', `cannot fetch '${n}': it is neither a graph output nor in extraOutputs`, { option: 'extraOutputs', value: n, hint: 'name it in extraOutputs when creating the executor' });
  }
  if (x.rank < 1) throw new NibbleError('E_SHAPE', `input '${name}' needs a batch axis`);
  return { x, names };
}
