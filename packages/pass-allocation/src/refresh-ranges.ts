import { getPass, hasPass, parsePipeline, type PassContext, type PipelineSpec } from '@nibble/core';
import { type Graph, NibbleError, type Value } from '@nibble/ir';

/*
 * A clip range can depend on the bit-width it was chosen for (ACIQ's alpha
 * is alpha_M * b; KL and MSE searches run at M bits). When alloc-bits
 * changes the widths of values that already have ranges, the range must be
 * chosen again at the new widths. The pass that chose it is named, with
 * its options, in the annotation's rangeSource; pass packages may not
 * import each other, so alloc-bits finds that pass in the registry and runs
 * it again with refresh=true, which recomputes exactly the ranges that
 * same invocation set, at the widths now in the annotations. Passes without
 * a refresh option (ranges set by code) leave the range as it was, with a
 * warning.
 */

function sourceSpec(source: string): PipelineSpec | undefined {
  try {
    const spec = parsePipeline(source);
    return spec.passes.length === 1 ? spec : undefined;
  } catch {
    return undefined;
  }
}

export async function refreshRanges(graph: Graph, ctx: PassContext, values: readonly Value[], passName = 'alloc-bits'): Promise<void> {
  const bySource = new Map<string, Value[]>();
  for (const v of values) {
    const s = v.quant?.rangeSource ?? '';
    bySource.set(s, [...(bySource.get(s) ?? []), v]);
  }
  for (const [source, vs] of [...bySource].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    const spec = sourceSpec(source)?.passes[0];
    const pass = spec && hasPass(spec.name) ? getPass(spec.name) : undefined;
    if (!spec || !pass || !('refresh' in pass.options)) {
      const names = vs.map((v) => `'${v.name}'`).join(', ');
      ctx.logger.warn(`${passName}: the ranges of ${names} came from '${source || 'an unnamed source'}', which cannot be recomputed at the new bit-widths; they are kept`);
      ctx.report.record('kept-ranges', { source, values: vs.map((v) => v.name) });
      continue;
    }
    const opts = pass.parseOptions([...spec.options.filter((o) => o.key !== 'refresh'), { key: 'refresh', value: 'true' }]);
    for (const { analysis, lazy } of pass.requirements(opts)) if (!lazy) await ctx.getAnalysis(analysis, graph);
    const result = await pass.run(graph, ctx, opts);
    if (result.graph !== graph) {
      throw new NibbleError('E_INTERNAL', `${passName}: refreshing '${source}' returned another graph`, { pass: passName, hint: 'clipping passes must only annotate' });
    }
    ctx.report.record('refreshed', { source, values: vs.length });
  }
}
