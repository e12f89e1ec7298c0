import { NibbleError } from '@nibble/ir';
import type { OptionDecls, OptionValues } from './options';
import type { AnyPass, Pass } from './pass';
import { caretLine, parsePipeline, type PipelineSpec, printPipeline } from './pipeline-text';
import { defaultPassRegistry, type PassRegistry } from './registry';

/** One pass of a resolved pipeline with its typed, validated options. */
export interface PassInvocation<O extends OptionDecls = OptionDecls> {
  readonly pass: Pass<O>;
  readonly options: OptionValues<O>;
}

export type AnyPassInvocation = PassInvocation<any>;

/** An invocation from code: the pass object and typed options (defaults for the rest). */
export function invoke<O extends OptionDecls>(pass: Pass<O>, options?: Partial<OptionValues<O>>): PassInvocation<O> {
  return Object.freeze({ pass, options: pass.resolveOptions(options) });
}

/** What runPipeline accepts: text, a parsed spec, or invocations built in code. */
export type PipelineInput = string | PipelineSpec | readonly AnyPassInvocation[];

/**
 * Names to registered passes, option text to typed values. Errors name the
 * pipeline position, show a caret under the offending text when the spec came
 * from text, and list what is valid.
 */
export function resolvePipeline(pipeline: PipelineInput, registry: PassRegistry = defaultPassRegistry): AnyPassInvocation[] {
  if (Array.isArray(pipeline)) return [...(pipeline as readonly AnyPassInvocation[])];
  const spec = typeof pipeline === 'string' ? parsePipeline(pipeline) : (pipeline as PipelineSpec);
  const source = spec.source;
  const picture = (column: number | undefined): string => (source !== undefined && column !== undefined ? caretLine(source, column) : '');
  const n = spec.passes.length;
  return spec.passes.map((p, i) => {
    const where = ` at position ${i + 1}/${n}${p.column !== undefined ? `, column ${p.column}` : ''}`;
    if (!registry.has(p.name)) throw registry.unknown(p.name, where, picture(p.column));
    const pass: AnyPass = registry.get(p.name);
    try {
      return Object.freeze({ pass, options: pass.parseOptions(p.options) });
    } catch (e) {
      if (!(e instanceof NibbleError)) throw e;
      // Option errors name the option as written in the text, so its column is known.
      const bad = p.options.find((o) => o.key === e.place.option);
      const pic = picture(bad?.column ?? p.column);
      throw new NibbleError(e.code, `${e.message} (position ${i + 1}/${n})${pic ? `\n${pic}` : ''}`, { ...e.place, hint: e.hint, cause: e.cause });
    }
  });
}

/**
 * Canonical text of resolved invocations. With 'all', every option is
 * written out, which records exactly what ran even if defaults change later.
 */
export function printInvocations(invocations: readonly AnyPassInvocation[], which: 'all' | 'non-default' = 'non-default'): string {
  return printPipeline({ passes: invocations.map((inv) => inv.pass.toSpec(inv.options, which)) });
}
