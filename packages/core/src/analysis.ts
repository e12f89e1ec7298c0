import { type Graph, NibbleError } from '@nibble/ir';
import type { Logger } from './logger';
import type { ServiceKey, ServiceStore } from './services';

/**
 * What an analysis's compute function sees: the services (an executor
 * factory, a calibration dataset, ...), a logger, and other analyses, which
 * it may depend on (the dependency is recorded, so invalidating one
 * invalidates the analyses computed from it).
 */
export interface AnalysisContext<N = unknown> {
  readonly services: ServiceStore;
  /**
   * What the passes of the running pipeline declared they read of this
   * analysis, merged (see AnalysisRequirement); undefined when nothing was
   * declared (the analysis is used on its own, outside a pipeline).
   */
  readonly needs: N | undefined;
  readonly logger: Logger;
  getAnalysis<T>(key: AnalysisKey<T>): Promise<T>;
  /** A service; a missing one is an E_BAD_OPTION naming this analysis and the service. */
  service<T>(key: ServiceKey<T>): T;
}

export interface AnalysisDefinition<T, N = never> {
  /** kebab-case, for logs and error messages. */
  name: string;
  description?: string;
  /**
   * The union of two readers' needs (e.g. "histograms too"), for analyses
   * whose readers declare what they read of them; the pass manager merges
   * every pass's declaration before the pipeline runs, so the analysis
   * computes once what all of them read.
   */
  mergeNeeds?(a: N, b: N): N;
  compute(graph: Graph, ctx: AnalysisContext<N>): T | Promise<T>;
}

/**
 * A defined analysis is its own cache key (identity, not name, so two
 * packages cannot collide by choosing the same name).
 */
export interface Analysis<T, N = never> extends AnalysisDefinition<T, N> {
  readonly kind: 'analysis';
}

export type AnalysisKey<T> = Analysis<T, any>;
export type AnyAnalysis = Analysis<any, any>;

/**
 * What a pass reads of an analysis: the analysis, and where the analysis
 * takes needs, which of its parts (calibration: histograms, layer-input
 * means). A pass declares these as data (`requires`), so a pipeline's needs
 * are known before anything runs.
 */
export interface AnalysisRequirement<N = unknown> {
  readonly analysis: Analysis<unknown, N>;
  readonly needs?: N;
  /**
   * The pass computes the analysis itself when it can (e.g. only when
   * calibration data was given); the pass manager then only merges the
   * needs and does not compute it before the pass.
   */
  readonly lazy?: boolean;
}

/** A requirement with needs, typed by the analysis: `requirement(CALIBRATION_STATS, { histograms: true })`. */
export function requirement<T, N>(analysis: Analysis<T, N>, needs?: N, options: { lazy?: boolean } = {}): AnalysisRequirement<N> {
  return Object.freeze({ analysis: analysis as Analysis<unknown, N>, ...(needs === undefined ? {} : { needs }), ...(options.lazy ? { lazy: true } : {}) });
}

export function defineAnalysis<T, N = never>(def: AnalysisDefinition<T, N>): Analysis<T, N> {
  if (!/^[a-z][a-z0-9]*(-[a-z0-9]+)*$/.test(def.name)) {
    throw new NibbleError('E_INTERNAL', `analysis name '${def.name}' must be kebab-case`);
  }
  return Object.freeze({ ...def, kind: 'analysis' as const });
}

interface Entry {
  promise: Promise<unknown>;
  /** Analyses this one read while computing. */
  deps: Set<AnyAnalysis>;
  computeMs: number;
}

/**
 * The analysis cache of one graph (MLIR's AnalysisManager): computes on
 * demand, caches, and forgets what a pass did not preserve.
 */
export class AnalysisManager {
  private graph: Graph | undefined;
  private readonly cache = new Map<AnyAnalysis, Entry>();
  private readonly needs = new Map<AnyAnalysis, unknown>();
  /** How many times each analysis was computed (for instrumentation and tests). */
  readonly computeCounts = new Map<string, number>();

  constructor(private readonly services: ServiceStore, private readonly logger: Logger) {}

  /** The graph analyses are about. Binding another graph drops the whole cache. */
  bind(graph: Graph): void {
    if (this.graph !== graph) this.cache.clear();
    this.graph = graph;
  }

  /**
   * Move the cache to a graph a pass returned in place of the old one, keeping
   * entries (the caller has already invalidated what was not preserved).
   */
  rebind(graph: Graph): void {
    this.graph = graph;
  }

  get boundGraph(): Graph | undefined {
    return this.graph;
  }

  /**
   * Add what a pipeline's passes read of `key` to its needs (merged with the
   * analysis's mergeNeeds). A cached result computed for smaller needs is
   * dropped, so the next request computes what every reader needs.
   */
  declareNeeds<N>(key: Analysis<unknown, N>, needs: N): void {
    const had = this.needs.get(key) as N | undefined;
    const merged = had === undefined || !key.mergeNeeds ? needs : key.mergeNeeds(had, needs);
    this.needs.set(key, merged);
    if (had !== undefined && JSON.stringify(had) === JSON.stringify(merged)) return;
    this.cache.delete(key);
  }

  /** The needs declared for `key` so far (undefined: none). */
  needsOf<N>(key: Analysis<unknown, N>): N | undefined {
    return this.needs.get(key) as N | undefined;
  }

  isCached(key: AnyAnalysis): boolean {
    return this.cache.has(key);
  }

  /** Names of the analyses cached now, sorted. */
  cachedNames(): string[] {
    return [...this.cache.keys()].map((a) => a.name).sort();
  }

  /** The value if computed and settled; never starts a computation. */
  getCached<T>(key: AnalysisKey<T>): T | undefined {
    const e = this.cache.get(key);
    return e && settled.has(e.promise) ? (settled.get(e.promise) as T) : undefined;
  }

  get<T>(key: AnalysisKey<T>, graph?: Graph): Promise<T> {
    if (graph) this.bind(graph);
    return this.request(key, []);
  }

  /** `chain`: the analyses whose computation led to this request, outermost first. */
  private request<T>(key: AnalysisKey<T>, chain: readonly AnyAnalysis[]): Promise<T> {
    const g = this.graph;
    if (!g) {
      return Promise.reject(new NibbleError('E_INTERNAL', `analysis '${key.name}' was requested before any graph was bound to the context`, {
        hint: 'pass the graph: ctx.getAnalysis(key, graph), or request analyses from inside a pass',
      }));
    }
    const requester = chain[chain.length - 1];
    if (requester) this.cache.get(requester)?.deps.add(key);
    if (chain.includes(key)) {
      const cycle = [...chain, key].map((a) => a.name).join(' -> ');
      return Promise.reject(new NibbleError('E_INTERNAL', `analysis dependency cycle: ${cycle}`));
    }
    const cached = this.cache.get(key);
    if (cached) return cached.promise as Promise<T>;
    const entry: Entry = { promise: Promise.resolve(), deps: new Set(), computeMs: 0 };
    this.cache.set(key, entry);
    entry.promise = this.compute(key, g, entry, [...chain, key]);
    return entry.promise as Promise<T>;
  }

  private async compute<T>(key: AnalysisKey<T>, graph: Graph, entry: Entry, chain: readonly AnyAnalysis[]): Promise<T> {
    // Each computation gets its own context, so the dependencies it requests
    // are recorded against it even after an await.
    const ctx: AnalysisContext<unknown> = {
      services: this.services,
      needs: this.needs.get(key),
      logger: this.logger,
      getAnalysis: <U>(k: AnalysisKey<U>) => this.request(k, chain),
      service: <U>(k: ServiceKey<U>) => this.services.get(k, `analysis '${key.name}'`),
    };
    const t0 = performance.now();
    this.computeCounts.set(key.name, (this.computeCounts.get(key.name) ?? 0) + 1);
    try {
      const value = await key.compute(graph, ctx as AnalysisContext<never>);
      entry.computeMs = performance.now() - t0;
      settled.set(entry.promise, value);
      return value;
    } catch (e) {
      // Failures are not cached: the next request tries again.
      if (this.cache.get(key) === entry) this.cache.delete(key);
      throw wrapAnalysisError(key, e);
    }
  }

  /**
   * Drop every cached analysis not in `preserved`, and every analysis computed
   * from a dropped one. Returns the names dropped, sorted.
   */
  invalidate(preserved: readonly AnyAnalysis[] | 'all'): string[] {
    if (preserved === 'all') return [];
    const keep = new Set(preserved);
    const dropped = new Set<AnyAnalysis>();
    for (const key of this.cache.keys()) if (!keep.has(key)) dropped.add(key);
    // Dependents of dropped analyses go too, transitively.
    for (let changed = true; changed;) {
      changed = false;
      for (const [key, e] of this.cache) {
        if (dropped.has(key)) continue;
        if ([...e.deps].some((d) => dropped.has(d))) {
          dropped.add(key);
          changed = true;
        }
      }
    }
    for (const key of dropped) this.cache.delete(key);
    return [...dropped].map((a) => a.name).sort();
  }

  clear(): void {
    this.cache.clear();
  }
}

// Settled values, so getCached can answer synchronously.
const settled = new WeakMap<Promise<unknown>, unknown>();

function wrapAnalysisError(key: AnyAnalysis, e: unknown): NibbleError {
  if (e instanceof NibbleError) {
    if (e.message.startsWith(`analysis '${key.name}'`)) return e;
    return new NibbleError(e.code, `analysis '${key.name}': ${e.message}`, { ...e.place, hint: e.hint, cause: e });
  }
  const msg = e instanceof Error ? e.message : String(e);
  return new NibbleError('E_INTERNAL', `analysis '${key.name}' failed: ${msg}`, { cause: e, hint: 'this is a bug in the analysis; the cause is attached' });
}
