import { cloneGraph, type Graph, NibbleError } from '@nibble/ir';
import { createPassContext } from './context';
import { MemoryLogger } from './logger';
import { definePass } from './pass';
import { formatTimingReport, PassManager, runPipeline } from './pass-manager';
import { PassRegistry } from './registry';
import { MemoryReportSink } from './report';
import { rejected, thrown, tinyConvGraph } from './testing/tiny-graph';

const noop = (name: string) => definePass({ name, summary: 'does nothing', run: (graph: Graph) => ({ graph, modified: false }) });

/** Removes the Relu, rewiring its users: a real in-place edit. */
const dropRelu = definePass({
  name: 'drop-relu',
  summary: 'remove Relu nodes',
  run(graph) {
    let modified = false;
    for (const node of [...graph.nodes]) {
      if (node.opType !== 'Relu') continue;
      node.outputs[0].replaceAllUsesWith(node.input(0));
      graph.removeNode(node);
      modified = true;
    }
    return { graph, modified };
  },
});

/** Forgets to rewire: removes the Relu by force, leaving the graph output dangling. */
const breakGraph = definePass({
  name: 'break-graph',
  summary: 'leaves a dangling use',
  run(graph) {
    graph.removeNode(graph.node('relu')!, true);
    return { graph, modified: true };
  },
});

const throwsPlain = definePass({
  name: 'throws-plain',
  summary: 's',
  run() {
    throw new TypeError('x is undefined');
  },
});

const throwsTyped = definePass({
  name: 'throws-typed',
  summary: 's',
  options: { budget: { type: 'number', default: 4, description: 'bits' } },
  run(_graph, _ctx, opts) {
    throw new NibbleError('E_BUDGET', `budget ${opts.budget} cannot be met`, { node: 'conv', hint: 'raise the budget' });
  },
});

const reporter = definePass({
  name: 'reporter',
  summary: 'records a fact',
  options: { bits: { type: 'number', default: 4, description: 'bits' } },
  run(graph, ctx, opts) {
    ctx.report.record('meanBits', opts.bits, 'w');
    ctx.logger.info('chose bits');
    return { graph, modified: false };
  },
});

const cloner = definePass({ name: 'cloner', summary: 'returns a copy', run: (graph) => ({ graph: cloneGraph(graph), modified: false }) });

const badResult = definePass({ name: 'bad-result', summary: 's', run: () => ({ modified: true }) as never });

function registry(): PassRegistry {
  const r = new PassRegistry();
  for (const p of [noop('a'), noop('b'), noop('c'), dropRelu, breakGraph, throwsPlain, throwsTyped, reporter, cloner, badResult]) r.register(p);
  return r;
}

describe('PassManager', () => {
  it('runs passes in order and returns the graph and per-pass records', async () => {
    const g = tinyConvGraph();
    const res = await runPipeline(g, 'a, drop-relu, b', createPassContext(), { registry: registry() });
    expect(res.graph).toBe(g);
    expect(res.graph.nodes.map((n) => n.opType)).toEqual(['Conv']);
    expect(res.graph.outputs.map((v) => v.name)).toEqual(['y']);
    expect(res.modified).toBe(true);
    expect(res.passes.map((p) => [p.index, p.pass, p.modified])).toEqual([
      [0, 'a', false],
      [1, 'drop-relu', true],
      [2, 'b', false],
    ]);
    expect(res.pipeline).toBe('a,drop-relu,b');
  });

  it('records wall time for every pass', async () => {
    const r = registry();
    r.register(
      definePass({
        name: 'slow',
        summary: 'busy-waits',
        run(graph) {
          const until = performance.now() + 20;
          while (performance.now() < until);
          return { graph, modified: false };
        },
      }),
    );
    const seen: string[] = [];
    const res = await runPipeline(tinyConvGraph(), 'a,slow,b', createPassContext(), {
      registry: r,
      instrument: { beforePass: (p) => seen.push(`before ${p.pass}`), afterPass: (rec) => seen.push(`after ${rec.pass}`) },
    });
    expect(res.passes).toHaveLength(3);
    for (const p of res.passes) {
      expect(Number.isFinite(p.wallMs)).toBe(true);
      expect(p.wallMs).toBeGreaterThanOrEqual(0);
      expect(p.verifyMs).toBeGreaterThanOrEqual(0);
    }
    expect(res.passes[1].wallMs).toBeGreaterThanOrEqual(19);
    expect(res.totalMs).toBeGreaterThanOrEqual(res.passes[1].wallMs);
    expect(seen).toEqual(['before a', 'after a', 'before slow', 'after slow', 'before b', 'after b']);
    const report = formatTimingReport(res).split('\n');
    expect(report).toHaveLength(4);
    expect(report[1]).toMatch(/^\s+\d+\.\d ms\s+\d+\.\d%  2\/3 slow$/);
    expect(report[3]).toMatch(/ms 100\.0%  total$/);
  });

  it('catches a pass that breaks the graph with verifyEach, naming the pass', async () => {
    const dumps: string[] = [];
    const e = await rejected(
      runPipeline(tinyConvGraph(), 'a,break-graph,b', createPassContext(), { registry: registry(), dumpAfterEach: (name) => dumps.push(name) }),
    );
    expect(e).toBeInstanceOf(NibbleError);
    expect(e.code).toBe('E_UNDEFINED_VALUE');
    expect(e.message).toMatch(/^pass 2\/3 'break-graph' left a graph that does not verify: graph output 'y' is not defined/);
    expect(e.place.pass).toBe('break-graph');
    expect((e.cause as NibbleError).code).toBe('E_UNDEFINED_VALUE');
    // The broken graph was dumped before verification failed.
    expect(dumps).toEqual(['a', 'break-graph']);
  });

  it('does not verify when verifyEach is false', async () => {
    const res = await runPipeline(tinyConvGraph(), 'break-graph', createPassContext(), { registry: registry(), verifyEach: false });
    expect(() => res.graph.verify()).toThrow(NibbleError);
  });

  it('refuses a broken input graph before any pass runs', async () => {
    const g = tinyConvGraph();
    g.removeNode(g.node('relu')!, true);
    const e = await rejected(runPipeline(g, 'a', createPassContext(), { registry: registry() }));
    expect(e.message).toMatch(/^the input graph does not verify, before pass 1\/1/);
  });

  it('wraps a plain error as E_PASS_FAILED with the position, keeping the cause', async () => {
    const errors: string[] = [];
    const e = await rejected(
      runPipeline(tinyConvGraph(), 'a,b,throws-plain,c', createPassContext(), { registry: registry(), instrument: { onError: (err) => errors.push(err.code) } }),
    );
    expect(e).toBeInstanceOf(NibbleError);
    expect(e.code).toBe('E_PASS_FAILED');
    expect(e.message).toBe("pass 3/4 'throws-plain' failed: x is undefined");
    expect(e.place.pass).toBe('throws-plain');
    expect(e.cause).toBeInstanceOf(TypeError);
    expect(errors).toEqual(['E_PASS_FAILED']);
  });

  it('keeps the code of a NibbleError and adds the pass place', async () => {
    const e = await rejected(runPipeline(tinyConvGraph(), 'a,throws-typed{budget=2}', createPassContext(), { registry: registry() }));
    expect(e.code).toBe('E_BUDGET');
    expect(e.message).toBe("pass 2/2 'throws-typed': budget 2 cannot be met");
    expect(e.place).toMatchObject({ pass: 'throws-typed', node: 'conv' });
    expect((e as NibbleError).hint).toBe('raise the budget');
  });

  it('fails on a pass returning something other than { graph, modified }', async () => {
    const e = await rejected(runPipeline(tinyConvGraph(), 'bad-result', createPassContext(), { registry: registry() }));
    expect(e.code).toBe('E_PASS_FAILED');
    expect(e.message).toBe("pass 1/1 'bad-result' returned an object with keys {modified} instead of { graph, modified }");
  });

  it('rejects unknown passes and bad options before running anything', async () => {
    let ran = 0;
    const r = registry();
    r.register(definePass({ name: 'count', summary: 's', run: (graph) => (ran++, { graph, modified: false }) }));
    expect((await rejected(runPipeline(tinyConvGraph(), 'count,nope', createPassContext(), { registry: r }))).code).toBe('E_UNKNOWN_PASS');
    expect((await rejected(runPipeline(tinyConvGraph(), 'count,reporter{bits=x}', createPassContext(), { registry: r }))).code).toBe('E_BAD_OPTION');
    expect((await rejected(runPipeline(tinyConvGraph(), 'count,', createPassContext(), { registry: r }))).code).toBe('E_PIPELINE_SYNTAX');
    expect(ran).toBe(0);
    expect(thrown(() => new PassManager('nope', { registry: r })).code).toBe('E_UNKNOWN_PASS');
  });

  it('gives passes a report sink and a logger that know the position', async () => {
    const sink = new MemoryReportSink();
    const logger = new MemoryLogger();
    const ctx = createPassContext({ reportSink: sink, logger });
    await runPipeline(tinyConvGraph(), 'a,reporter{bits=3.5}', ctx, { registry: registry() });
    expect(sink.entries).toEqual([{ pass: 'reporter', index: 1, key: 'meanBits', value: 3.5, subject: 'w' }]);
    expect(logger.lines).toEqual([{ level: 'info', message: "pass 2/2 'reporter': chose bits" }]);
    expect(ctx.position).toBeUndefined();
  });

  it('follows a pass that returns a new graph', async () => {
    const g = tinyConvGraph();
    const res = await runPipeline(g, 'cloner,drop-relu', createPassContext(), { registry: registry() });
    expect(res.graph).not.toBe(g);
    expect(g.nodes).toHaveLength(2);
    expect(res.graph.nodes).toHaveLength(1);
    // A new graph object counts as a modification even if the pass said otherwise.
    expect(res.passes[0].modified).toBe(true);
  });

  it('runs the same manager twice and prints its pipeline', async () => {
    const pm = new PassManager(' reporter{ bits = 4 }, drop-relu ', { registry: registry() });
    expect(pm.text).toBe('reporter,drop-relu');
    const r1 = await pm.run(tinyConvGraph());
    const r2 = await pm.run(tinyConvGraph());
    expect(r1.graph.nodes).toHaveLength(1);
    expect(r2.graph.nodes).toHaveLength(1);
    expect(r2.pipeline).toBe('reporter{bits=4},drop-relu');
  });
});
