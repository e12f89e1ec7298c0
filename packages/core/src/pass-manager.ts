import { Graph, NibbleError } from '@nibble/ir';
import { createPassContext, formatPosition, type PassContext, type PipelinePosition } from './context';
import type { PassResult } from './pass';
import { type PassRegistry } from './registry';
import { type AnyPassInvocation, type PipelineInput, printInvocations, resolvePipeline } from './resolve';

/** What happened in one pass of a run. Times are wall-clock milliseconds. */
export interface PassRunRecord {
  /** 0-based position. */
  index: number;
  pass: string;
  /** The invocation as canonical text, every option written out. */
  invocation: string;
  /** The pass's run function, including analyses it computed lazily. */
  wallMs: number;
  /** Computing the analyses the pass `requires` before it ran. */
  analysesMs: number;
  /** graph.verify() after the pass (0 without verifyEach). */
  verifyMs: number;
  modified: boolean;
  /** Analyses dropped from the cache after the pass, sorted. */
  invalidated: string[];
}

export interface PipelineRunResult {
  graph: Graph;
  /** Whether any pass modified the graph. */
  modified: boolean;
  passes: PassRunRecord[];
  totalMs: number;
  /** The pipeline that ran, every option written out. */
  pipeline: string;
}

/** Hooks around each pass (MLIR's PassInstrumentation): timers, progress bars, IR dumps. */
export interface PassInstrumentation {
  beforePass?(position: PipelinePosition, graph: Graph): void;
  afterPass?(record: PassRunRecord, graph: Graph): void;
  /** The error as it will be thrown (already carrying the pass place). */
  onError?(error: NibbleError, position: PipelinePosition): void;
}

export interface PassManagerOptions {
  /** Where pass names are looked up (default: the global registry). */
  registry?: PassRegistry;
  /**
   * graph.verify() on the input and after every pass, blaming the pass that
   * broke an invariant. Default true: it is linear in the graph size, and a
   * broken graph found late is much harder to explain.
   */
  verifyEach?: boolean;
  /** Called after each pass with its result graph (before verification, so a broken graph can be seen). */
  dumpAfterEach?: (passName: string, graph: Graph, position: PipelinePosition) => void;
  instrument?: PassInstrumentation | readonly PassInstrumentation[];
}

/**
 * Runs a pipeline: resolved once at construction (so bad names and options
 * fail before any work), run any number of times.
 */
export class PassManager {
  readonly invocations: readonly AnyPassInvocation[];
  private readonly options: PassManagerOptions;

  constructor(pipeline: PipelineInput, options: PassManagerOptions = {}) {
    this.invocations = Object.freeze(resolvePipeline(pipeline, options.registry));
    this.options = options;
  }

  /** Canonical text of the pipeline (options at their defaults left out). */
  get text(): string {
    return printInvocations(this.invocations);
  }

  async run(graph: Graph, ctx: PassContext = createPassContext()): Promise<PipelineRunResult> {
    const { verifyEach = true, dumpAfterEach } = this.options;
    const hooks = this.options.instrument === undefined ? [] : Array.isArray(this.options.instrument) ? this.options.instrument : [this.options.instrument as PassInstrumentation];
    const t0 = performance.now();
    const count = this.invocations.length;
    const records: PassRunRecord[] = [];
    let anyModified = false;

    if (verifyEach) {
      try {
        graph.verify();
      } catch (e) {
        if (!(e instanceof NibbleError)) throw e;
        throw new NibbleError(e.code, `the input graph does not verify, before pass 1/${count}: ${e.message}`, {
          ...e.place,
          hint: e.hint ?? 'the model (or the code that built the graph) is malformed; no pass has run yet',
          cause: e,
        });
      }
    }
    ctx.analyses.bind(graph);
    // Every pass's declared needs, merged before the first pass computes anything.
    for (const { pass, options } of this.invocations) {
      for (const r of pass.requirements(options)) if (r.needs !== undefined) ctx.analyses.declareNeeds(r.analysis, r.needs);
    }

    for (let index = 0; index < count; index++) {
      const { pass, options } = this.invocations[index];
      const position: PipelinePosition = { index, count, pass: pass.name };
      const fail = (e: unknown, stage: Stage): never => {
        const err = wrapPassError(e, position, stage);
        for (const h of hooks) h.onError?.(err, position);
        throw err;
      };
      for (const h of hooks) h.beforePass?.(position, graph);
      ctx._setPosition(position);
      let result: PassResult;
      let analysesMs = 0;
      let wallMs = 0;
      try {
        const ta = performance.now();
        for (const { analysis, lazy } of pass.requirements(options)) {
          if (lazy) continue;
          try {
            await ctx.getAnalysis(analysis, graph);
          } catch (e) {
            fail(e, 'analysis');
          }
        }
        analysesMs = performance.now() - ta;
        const tr = performance.now();
        try {
          result = await pass.run(graph, ctx, options);
        } catch (e) {
          fail(e, 'run');
        }
        wallMs = performance.now() - tr;
        checkResult(result!, position);
      } finally {
        ctx._setPosition(undefined);
      }

      const next = result!.graph;
      const modified = result!.modified || next !== graph;
      let invalidated: string[] = [];
      if (modified) {
        anyModified = true;
        invalidated = ctx.analyses.invalidate(pass.preserves);
        if (next !== graph) ctx.analyses.rebind(next);
      }
      graph = next;
      dumpAfterEach?.(pass.name, graph, position);
      let verifyMs = 0;
      if (verifyEach) {
        const tv = performance.now();
        try {
          graph.verify();
        } catch (e) {
          fail(e, 'verify');
        }
        verifyMs = performance.now() - tv;
      }
      const record: PassRunRecord = {
        index,
        pass: pass.name,
        invocation: pass.format(options, 'all'),
        wallMs,
        analysesMs,
        verifyMs,
        modified,
        invalidated,
      };
      records.push(record);
      for (const h of hooks) h.afterPass?.(record, graph);
    }
    return { graph, modified: anyModified, passes: records, totalMs: performance.now() - t0, pipeline: printInvocations(this.invocations, 'all') };
  }
}

/** Resolve and run in one call. */
export function runPipeline(graph: Graph, pipeline: PipelineInput, ctx?: PassContext, options?: PassManagerOptions): Promise<PipelineRunResult> {
  // Resolution errors surface as a rejected promise, like every other failure of the run.
  return Promise.resolve().then(() => new PassManager(pipeline, options).run(graph, ctx));
}

type Stage = 'analysis' | 'run' | 'verify';

function checkResult(result: unknown, position: PipelinePosition): asserts result is PassResult {
  const r = result as Partial<PassResult> | undefined;
  if (!r || typeof r !== 'object' || !(r.graph instanceof Graph) || typeof r.modified !== 'boolean') {
    throw new NibbleError('E_PASS_FAILED', `${formatPosition(position)} returned ${describe(result)} instead of { graph, modified }`, {
      pass: position.pass,
      hint: `pass '${position.pass}' has a bug: its run function must return { graph, modified: boolean }`,
    });
  }
}

function describe(v: unknown): string {
  if (v === null || v === undefined) return String(v);
  if (typeof v !== 'object') return typeof v;
  return `an object with keys {${Object.keys(v).join(', ')}}`;
}

/**
 * Every failure inside a pipeline names the pass and its position. A
 * NibbleError keeps its code (a bad option is still E_BAD_OPTION); anything
 * else is E_PASS_FAILED with the original attached as the cause.
 */
function wrapPassError(e: unknown, position: PipelinePosition, stage: Stage): NibbleError {
  const at = formatPosition(position);
  if (stage === 'verify' && e instanceof NibbleError) {
    return new NibbleError(e.code, `${at} left a graph that does not verify: ${e.message}`, {
      ...e.place,
      pass: position.pass,
      hint: `this is a bug in pass '${position.pass}'; use dumpAfterEach (the CLI's --dump-after-each) to see the graph it produced`,
      cause: e,
    });
  }
  if (e instanceof NibbleError) {
    // A nested pipeline inside a pass already prefixed its own place; keep the innermost message.
    const message = e.message.startsWith(`${at}`) ? e.message : `${at}: ${e.message}`;
    return new NibbleError(e.code, message, { ...e.place, pass: position.pass, hint: e.hint, cause: e });
  }
  const msg = e instanceof Error ? e.message : String(e);
  const during = stage === 'analysis' ? ' while computing the analyses it requires' : '';
  return new NibbleError('E_PASS_FAILED', `${at} failed${during}: ${msg}`, {
    pass: position.pass,
    hint: 'this is a bug in the pass, not in the model; the original error with its stack is attached as the cause',
    cause: e,
  });
}

/** A text table of pass times (share of the total run), for `--timing`. */
export function formatTimingReport(result: PipelineRunResult): string {
  const total = result.totalMs || 1;
  const lines = result.passes.map((r) => {
    const ms = r.wallMs + r.analysesMs + r.verifyMs;
    return `${ms.toFixed(1).padStart(9)} ms ${((100 * ms) / total).toFixed(1).padStart(5)}%  ${r.index + 1}/${result.passes.length} ${r.pass}`;
  });
  lines.push(`${result.totalMs.toFixed(1).padStart(9)} ms 100.0%  total`);
  return lines.join('\n');
}
