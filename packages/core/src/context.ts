import type { Graph } from '@nibble/ir';
import { AnalysisManager, type AnalysisKey } from './analysis';
import { type Logger, prefixedLogger, silentLogger } from './logger';
import { MemoryReportSink, type ReportSink, type ReportValue, type Reporter } from './report';
import { type ServiceKey, ServiceStore } from './services';

/** Where a pass runs in its pipeline. */
export interface PipelinePosition {
  /** 0-based. */
  index: number;
  count: number;
  pass: string;
}

/** `pass 3/6 'clip-aciq'`: how errors and logs name a place in a pipeline. */
export function formatPosition(p: PipelinePosition): string {
  return `pass ${p.index + 1}/${p.count} '${p.pass}'`;
}

export interface PassContextInit {
  services?: ServiceStore;
  logger?: Logger;
  reportSink?: ReportSink;
}

/**
 * Everything a pass gets besides the graph and its options (TVM's
 * PassContext, MLIR's pass state): the analyses cache, a logger, a report
 * sink, its place in the pipeline and the caller's services. One context
 * lives across a whole pipeline run, so analyses computed by one pass serve
 * the next unless invalidated.
 */
export class PassContext {
  readonly services: ServiceStore;
  readonly analyses: AnalysisManager;
  readonly reportSink: ReportSink;
  /** Lines are prefixed with the pipeline position while a pass runs. */
  readonly logger: Logger;
  /** Records facts under the running pass's name and position. */
  readonly report: Reporter;
  private _position: PipelinePosition | undefined;

  constructor(init: PassContextInit = {}) {
    this.services = init.services ?? new ServiceStore();
    this.reportSink = init.reportSink ?? new MemoryReportSink();
    const base = init.logger ?? silentLogger;
    this.logger = prefixedLogger(base, () => (this._position ? formatPosition(this._position) : ''));
    this.analyses = new AnalysisManager(this.services, this.logger);
    this.report = {
      record: (key: string, value: ReportValue, subject?: string) => {
        const p = this._position;
        this.reportSink.record({ pass: p?.pass ?? null, index: p?.index ?? null, key, value, ...(subject === undefined ? {} : { subject }) });
      },
    };
  }

  /** The running pass's place, or undefined outside a pipeline. */
  get position(): PipelinePosition | undefined {
    return this._position;
  }

  /** The graph analyses are computed on (the one the running pass received). */
  get graph(): Graph | undefined {
    return this.analyses.boundGraph;
  }

  /** Compute on demand, cached until a pass invalidates it. */
  getAnalysis<T>(key: AnalysisKey<T>, graph?: Graph): Promise<T> {
    return this.analyses.get(key, graph);
  }

  /** The cached value or undefined; never computes (for analyses a pass `requires`, which are ready when it runs). */
  getCachedAnalysis<T>(key: AnalysisKey<T>): T | undefined {
    return this.analyses.getCached(key);
  }

  /** A service; a missing one is an E_BAD_OPTION naming the running pass and the service. */
  service<T>(key: ServiceKey<T>): T {
    return this.services.get(key, this._position ? formatPosition(this._position) : undefined);
  }

  /** @internal the pass manager marks which pass is running. */
  _setPosition(position: PipelinePosition | undefined): void {
    this._position = position;
  }
}

export function createPassContext(init: PassContextInit = {}): PassContext {
  return new PassContext(init);
}
