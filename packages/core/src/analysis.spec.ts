import { createModel, type Graph, NibbleError } from '@nibble/ir';
import { defineAnalysis, requirement } from './analysis';
import { createPassContext } from './context';
import { definePass } from './pass';
import { runPipeline } from './pass-manager';
import { PassRegistry } from './registry';
import { defineService, modelForGraph, ServiceStore, SOURCE_MODEL } from './services';
import { rejected, tinyConvGraph } from './testing/tiny-graph';

/** Counts nodes, and how many times it was computed. */
function countingAnalysis(name = 'node-count') {
  let computed = 0;
  const key = defineAnalysis({
    name,
    compute: (graph: Graph) => {
      computed++;
      return graph.nodes.length;
    },
  });
  return { key, computed: () => computed };
}

describe('analyses', () => {
  it('computes on demand, once, and drops what a modifying pass did not preserve', async () => {
    const nodes = countingAnalysis();
    const seen: number[] = [];
    const reader = (name: string, preserves: 'all' | [] | [typeof nodes.key], modified: boolean) =>
      definePass({
        name,
        summary: 'reads the node count',
        preserves,
        async run(graph, ctx) {
          seen.push(await ctx.getAnalysis(nodes.key));
          return { graph, modified };
        },
      });
    const r = new PassRegistry();
    r.register(reader('keep-a', [nodes.key], true));
    r.register(reader('keep-b', 'all', true));
    r.register(reader('drop', [], true));
    r.register(reader('untouched', [], false));
    r.register(reader('after', [], false));

    const ctx = createPassContext();
    const res = await runPipeline(tinyConvGraph(), 'keep-a,keep-b,drop,untouched,after', ctx, { registry: r });
    expect(seen).toEqual([2, 2, 2, 2, 2]);
    // Once for keep-a and keep-b (both preserve), again after 'drop' (which did
    // not preserve it); 'untouched' reported modified=false, so 'after' reuses it.
    expect(nodes.computed()).toBe(2);
    expect(res.passes.map((p) => p.invalidated)).toEqual([[], [], ['node-count'], [], []]);
    expect(ctx.analyses.computeCounts.get('node-count')).toBe(2);
  });

  it('computes what a pass requires before it runs, readable synchronously', async () => {
    const nodes = countingAnalysis();
    let got: number | undefined;
    const r = new PassRegistry();
    r.register(
      definePass({
        name: 'needs-count',
        summary: 's',
        requires: [nodes.key],
        run(graph, ctx) {
          got = ctx.getCachedAnalysis(nodes.key);
          return { graph, modified: false };
        },
      }),
    );
    await runPipeline(tinyConvGraph(), 'needs-count', createPassContext(), { registry: r });
    expect(got).toBe(2);
  });

  it('merges what the pipeline\'s passes declare they read before the first pass, and leaves lazy requirements to the pass', async () => {
    const seen: (string[] | undefined)[] = [];
    const parts = defineAnalysis<number, string[]>({
      name: 'parts',
      mergeNeeds: (a, b) => [...new Set([...a, ...b])].sort(),
      compute(_graph, ctx) {
        seen.push(ctx.needs);
        return seen.length;
      },
    });
    const r = new PassRegistry();
    let cachedInLazy: number | undefined = -1;
    r.register(definePass({ name: 'reads-a', summary: 's', requires: [requirement(parts, ['a'])], run: (graph) => ({ graph, modified: false }) }));
    r.register(definePass({
      name: 'reads-b-lazily', summary: 's', options: { on: { type: 'boolean', default: true, description: 'declare b' } },
      requires: (o) => (o.on ? [requirement(parts, ['b'], { lazy: true })] : []),
      run: (graph, ctx) => {
        cachedInLazy = ctx.getCachedAnalysis(parts);
        return { graph, modified: false };
      },
    }));
    // The first pass computes the analysis already with b, which only the later pass reads.
    await runPipeline(tinyConvGraph(), 'reads-a,reads-b-lazily', createPassContext(), { registry: r });
    expect(seen).toEqual([['a', 'b']]);
    expect(cachedInLazy).toBe(1);
    // A lazy requirement alone is not computed before its pass; an option can drop the declaration.
    seen.length = 0;
    await runPipeline(tinyConvGraph(), 'reads-b-lazily', createPassContext(), { registry: r });
    expect(seen).toEqual([]);
    expect(cachedInLazy).toBeUndefined();
    expect(r.get('reads-b-lazily').requirements({ on: false })).toEqual([]);
  });

  it('drops a result computed for smaller needs when more are declared', async () => {
    let runs = 0;
    const parts = defineAnalysis<string[], string[]>({
      name: 'parts', mergeNeeds: (a, b) => [...new Set([...a, ...b])].sort(),
      compute: (_g, ctx) => {
        runs++;
        return ctx.needs ?? [];
      },
    });
    const ctx = createPassContext();
    const g = tinyConvGraph();
    ctx.analyses.declareNeeds(parts, ['a']);
    expect(await ctx.getAnalysis(parts, g)).toEqual(['a']);
    ctx.analyses.declareNeeds(parts, ['a']);
    expect(await ctx.getAnalysis(parts, g)).toEqual(['a']);
    expect(runs).toBe(1);
    ctx.analyses.declareNeeds(parts, ['b']);
    expect(await ctx.getAnalysis(parts, g)).toEqual(['a', 'b']);
    expect(runs).toBe(2);
  });

  it('invalidates analyses computed from an invalidated one, even if preserved', async () => {
    const base = countingAnalysis('base');
    let derivedRuns = 0;
    const derived = defineAnalysis({
      name: 'derived',
      async compute(_graph, ctx) {
        derivedRuns++;
        await Promise.resolve(); // the dependency is recorded after an await too
        return (await ctx.getAnalysis(base.key)) * 10;
      },
    });
    const r = new PassRegistry();
    r.register(
      definePass({
        name: 'use',
        summary: 's',
        preserves: [derived],
        async run(graph, ctx) {
          await ctx.getAnalysis(derived);
          return { graph, modified: true };
        },
      }),
    );
    await runPipeline(tinyConvGraph(), 'use,use', createPassContext(), { registry: r });
    expect(derivedRuns).toBe(2);
    expect(base.computed()).toBe(2);
  });

  it('reports a dependency cycle instead of hanging', async () => {
    const a: { key?: ReturnType<typeof defineAnalysis<number>> } = {};
    const b = defineAnalysis<number>({ name: 'b', compute: (_g, ctx) => ctx.getAnalysis(a.key!) });
    a.key = defineAnalysis<number>({ name: 'a', compute: (_g, ctx) => ctx.getAnalysis(b) });
    const ctx = createPassContext();
    const e = await rejected(ctx.getAnalysis(a.key, tinyConvGraph()));
    expect(e).toBeInstanceOf(NibbleError);
    expect(e.message).toMatch(/analysis dependency cycle: a -> b -> a/);
  });

  it('does not cache a failed computation', async () => {
    let calls = 0;
    const flaky = defineAnalysis({
      name: 'flaky',
      compute: () => {
        if (++calls === 1) throw new Error('boom');
        return 7;
      },
    });
    const ctx = createPassContext();
    const g = tinyConvGraph();
    const e = await rejected(ctx.getAnalysis(flaky, g));
    expect(e.message).toBe("analysis 'flaky' failed: boom");
    expect(await ctx.getAnalysis(flaky, g)).toBe(7);
    expect(ctx.getCachedAnalysis(flaky)).toBe(7);
  });

  it('recomputes for another graph', async () => {
    const nodes = countingAnalysis();
    const ctx = createPassContext();
    const g1 = tinyConvGraph();
    await ctx.getAnalysis(nodes.key, g1);
    await ctx.getAnalysis(nodes.key, g1);
    await ctx.getAnalysis(nodes.key, tinyConvGraph());
    expect(nodes.computed()).toBe(2);
  });

  it('hands services to analyses and names a missing one', async () => {
    const dataset = defineService<number[]>('calibration-data', { hint: 'give --calib <dir>' });
    const mean = defineAnalysis({
      name: 'data-mean',
      compute: (_g, ctx) => {
        const xs = ctx.service(dataset);
        return xs.reduce((a, b) => a + b, 0) / xs.length;
      },
    });
    const ctx = createPassContext();
    const e = await rejected(ctx.getAnalysis(mean, tinyConvGraph()));
    expect(e.code).toBe('E_BAD_OPTION');
    expect(e.message).toBe("analysis 'data-mean' needs the service 'calibration-data', which the caller did not provide");
    expect((e as NibbleError).hint).toBe('give --calib <dir>');
    ctx.services.set(dataset, [1, 2, 6]);
    expect(await ctx.getAnalysis(mean)).toBe(3);
  });

  it('wraps the current graph in the source model for executors', () => {
    const g = tinyConvGraph();
    const store = new ServiceStore();
    expect(modelForGraph(store, g).opsetImports.get('')).toBe(21);
    const source = createModel(tinyConvGraph(), 13);
    store.set(SOURCE_MODEL, source);
    const m = modelForGraph(store, g);
    expect(m.graph).toBe(g);
    expect(m.opsetImports.get('')).toBe(13);
    expect(source.graph).not.toBe(g);
  });
});
