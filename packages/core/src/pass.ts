import { type Graph, NibbleError } from '@nibble/ir';
import type { AnalysisRequirement, AnyAnalysis } from './analysis';
import type { PassContext } from './context';
import {
  checkOptionDecls,
  describeOption,
  formatOptionValue,
  optionTextName,
  type OptionDecls,
  type OptionValues,
  parseOptionText,
  resolveOptionValues,
  unknownOption,
} from './options';
import { type OptionSpec, type PassSpec, printPassSpec } from './pipeline-text';

/** What a pass returns: the graph (the same object mutated in place, or a new one) and whether it changed. */
export interface PassResult {
  graph: Graph;
  /** false promises the graph is untouched, so no analysis is invalidated. */
  modified: boolean;
}

export interface PassDefinition<O extends OptionDecls> {
  /** kebab-case; the name written in pipelines. */
  name: string;
  /** One line for listings. */
  summary: string;
  description?: string;
  options?: O;
  /**
   * What the pass reads, as data: analyses (computed before run, so
   * ctx.getCachedAnalysis returns them) and, for analyses that take needs,
   * which parts (`requirement(CALIBRATION_STATS, { histograms: true })`).
   * A function of the options when they decide it (clip the weights only:
   * no calibration). The pass manager merges the needs of the whole
   * pipeline before its first pass.
   */
  requires?: readonly Required[] | ((opts: OptionValues<O>) => readonly Required[]);
  /** Analyses still valid after the pass modifies the graph; 'all' for passes that only annotate. */
  preserves?: readonly AnyAnalysis[] | 'all';
  run(graph: Graph, ctx: PassContext, opts: OptionValues<O>): PassResult | Promise<PassResult>;
}

/** An analysis read whole, or a requirement naming what of it is read. */
export type Required = AnyAnalysis | AnalysisRequirement<any>;

export interface Pass<O extends OptionDecls = OptionDecls> {
  readonly kind: 'pass';
  readonly name: string;
  readonly summary: string;
  readonly description?: string;
  readonly options: O;
  /** What an invocation with these options reads (its declared `requires`). */
  requirements(opts: OptionValues<O>): readonly AnalysisRequirement<any>[];
  readonly preserves: readonly AnyAnalysis[] | 'all';
  run(graph: Graph, ctx: PassContext, opts: OptionValues<O>): PassResult | Promise<PassResult>;
  /** Defaults with typed values from code on top, validated (E_BAD_OPTION). */
  resolveOptions(given?: Partial<OptionValues<O>>): OptionValues<O>;
  /** Defaults with pipeline-text options on top, parsed and validated (E_BAD_OPTION). */
  parseOptions(options: readonly OptionSpec[]): OptionValues<O>;
  /** The invocation as a spec: every option, or only those differing from their defaults. */
  toSpec(opts: OptionValues<O>, which?: 'all' | 'non-default'): PassSpec;
  /** Canonical text of an invocation, e.g. `clip-aciq{dist=gauss}`. */
  format(opts: OptionValues<O>, which?: 'all' | 'non-default'): string;
}

export type AnyPass = Pass<any>;

export const PASS_NAME = /^[a-z][a-z0-9]*(-[a-z0-9]+)*$/;

/**
 * Declare a pass. The option declarations type the `opts` argument of run:
 * `{ dist: { type: 'enum', values: ['laplace', 'gauss'], default: 'laplace', ... } }`
 * gives `opts.dist: 'laplace' | 'gauss'`.
 */
export function definePass<const O extends OptionDecls = {}>(def: PassDefinition<O>): Pass<O> {
  if (!PASS_NAME.test(def.name)) {
    throw new NibbleError('E_INTERNAL', `pass name '${def.name}' must be kebab-case (lowercase words joined by '-')`, { pass: def.name });
  }
  if (!def.summary || !def.summary.trim()) {
    throw new NibbleError('E_INTERNAL', `pass '${def.name}' needs a one-line summary`, { pass: def.name });
  }
  const options = (def.options ?? {}) as O;
  checkOptionDecls(def.name, options);
  const byTextName = new Map(Object.keys(options).map((k) => [optionTextName(k), k]));
  const name = def.name;

  const toSpec = (opts: OptionValues<O>, which: 'all' | 'non-default' = 'non-default'): PassSpec => {
    const out: OptionSpec[] = [];
    for (const [key, decl] of Object.entries(options)) {
      const v = (opts as Record<string, unknown>)[key];
      if (v === undefined) continue;
      if (which === 'non-default' && decl.default !== undefined && sameValue(v, decl.default)) continue;
      out.push({ key: optionTextName(key), value: formatOptionValue(decl, v) });
    }
    return { name, options: out };
  };

  const pass: Pass<O> = {
    kind: 'pass',
    name,
    summary: def.summary,
    description: def.description,
    options,
    requirements: (opts) => {
      const declared = typeof def.requires === 'function' ? def.requires(opts) : def.requires ?? [];
      return declared.map((r) => ('kind' in r ? { analysis: r } : r));
    },
    preserves: def.preserves === 'all' ? 'all' : Object.freeze([...(def.preserves ?? [])]),
    run: def.run,
    resolveOptions: (given = {}) => resolveOptionValues(name, options, given as Record<string, unknown>) as OptionValues<O>,
    parseOptions: (specs) => {
      const given: Record<string, unknown> = {};
      for (const o of specs) {
        const key = byTextName.get(o.key);
        if (key === undefined) throw unknownOption(name, options, o.key);
        given[key] = parseOptionText(name, key, options[key], o.value);
      }
      return resolveOptionValues(name, options, given) as OptionValues<O>;
    },
    toSpec,
    format: (opts, which) => printPassSpec(toSpec(opts, which)),
  };
  return Object.freeze(pass);
}

function sameValue(a: unknown, b: unknown): boolean {
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((x, i) => x === b[i]);
  return a === b;
}

/** Help text for one pass (`nibble passes <name>`): name, summary, description, options. */
export function describePass(pass: AnyPass): string {
  const lines = [`${pass.name}: ${pass.summary}`];
  if (pass.description) lines.push('', ...pass.description.trim().split('\n').map((l) => `  ${l}`));
  const keys = Object.keys(pass.options);
  if (keys.length) {
    lines.push('', '  options:');
    for (const k of keys) lines.push(`    ${describeOption(k, pass.options[k])}`);
  }
  return lines.join('\n');
}
