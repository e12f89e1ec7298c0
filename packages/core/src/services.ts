import { createModel, type Graph, type Model, NibbleError } from '@nibble/ir';
import type { ExecutorFactory } from './executor';

/**
 * Typed keys for things higher packages hand to passes (an executor factory,
 * a calibration dataset, ...) without core importing them: the package that
 * owns the type defines the key, the caller sets it, the pass gets it.
 */
export interface ServiceKey<T> {
  readonly name: string;
  /** What to tell the user when the service is missing (e.g. which CLI flag provides it). */
  readonly hint?: string;
  /** Phantom field: carries T for inference; never set. */
  readonly __type?: T;
}

export function defineService<T>(name: string, options: { hint?: string } = {}): ServiceKey<T> {
  return Object.freeze({ name, hint: options.hint });
}

export class ServiceStore {
  private readonly map = new Map<ServiceKey<unknown>, unknown>();

  set<T>(key: ServiceKey<T>, value: T): this {
    this.map.set(key, value);
    return this;
  }

  has(key: ServiceKey<unknown>): boolean {
    return this.map.has(key);
  }

  tryGet<T>(key: ServiceKey<T>): T | undefined {
    return this.map.get(key) as T | undefined;
  }

  /** The service, or E_BAD_OPTION naming it and saying how to provide it. */
  get<T>(key: ServiceKey<T>, requester?: string): T {
    if (!this.map.has(key)) {
      const who = requester ? `${requester} needs` : 'missing';
      throw new NibbleError('E_BAD_OPTION', `${who} the service '${key.name}', which the caller did not provide`, {
        option: key.name,
        hint: key.hint ?? `provide it with ctx.services.set(<the '${key.name}' key>, value) before running the pipeline`,
      });
    }
    return this.map.get(key) as T;
  }

  /** Names of the services set, sorted. */
  names(): string[] {
    return [...this.map.keys()].map((k) => k.name).sort();
  }
}

/** Core's own service: how passes and analyses get an Executor (runtime packages provide one). */
export const EXECUTOR_FACTORY = defineService<ExecutorFactory>('executor-factory', {
  hint: 'give an executor factory (e.g. the onnxruntime one from @nibble/runtime) to the pass context',
});

/**
 * The model whose graph the pipeline transforms. Passes see only the graph;
 * analyses that run it (calibration) need the model's opset imports and IR
 * version to build something an executor accepts.
 */
export const SOURCE_MODEL = defineService<Model>('source-model', {
  hint: 'give the loaded model to the pass context (the nibble API does this when it quantizes a model)',
});

/** The source model with `graph` in place of its own (opset 21 defaults when no model was given). */
export function modelForGraph(services: ServiceStore, graph: Graph): Model {
  const source = services.tryGet(SOURCE_MODEL);
  return source ? { ...source, graph } : createModel(graph);
}
