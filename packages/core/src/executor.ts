import type { Model, Tensor } from '@nibble/ir';

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
