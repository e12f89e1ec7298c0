import { attr, Graph, parseGraph, printGraph, Tensor } from '@nibble/ir';
import { createPassContext, getPass, MemoryReportSink, runPipeline } from '@nibble/core';
import { eliminateDeadCodePass } from './eliminate-dead-code.pass';
import './index';

const lines = (...l: string[]): string => `${l.join('\n')}\n`;
const canonical = (text: string): string => printGraph(parseGraph(text));

describe("pass 'eliminate-dead-code'", () => {
  it('is registered under its pipeline name', () => {
    expect(getPass('eliminate-dead-code')).toBe(eliminateDeadCodePass);
  });

  it('removes a dangling branch and unused initializers, keeps everything that reaches an output', async () => {
    const input = lines(
      'graph g(%x : f32[1,1,2,2], %unusedInput : f32[1]) {',
      '  %w : f32[1,1,1,1] = const [2]',
      '  %b : f32[1] = const [1]',
      '  %orphan : f32[1] = const [5]',
      '  %deadW : f32[1,1,1,1] = const [3]',
      '  %c = Conv(%x, %w, %b)',
      '  %d1 = Conv(%c, %deadW)',
      '  %d2 = Sigmoid(%d1)',
      '  %d3 = Add(%d2, %c)',
      '  %r = Relu(%c)',
      '  %q = Identity(%r)',
      '  return %r, %q',
      '}',
    );
    const sink = new MemoryReportSink();
    const result = await runPipeline(parseGraph(input), 'eliminate-dead-code', createPassContext({ reportSink: sink }));
    expect(result.modified).toBe(true);
    expect(printGraph(result.graph)).toBe(
      canonical(
        lines(
          'graph g(%x : f32[1,1,2,2], %unusedInput : f32[1]) {',
          '  %w : f32[1,1,1,1] = const [2]',
          '  %b : f32[1] = const [1]',
          '  %c = Conv(%x, %w, %b)',
          '  %r = Relu(%c)',
          '  %q = Identity(%r)',
          '  return %r, %q',
          '}',
        ),
      ),
    );
    expect(sink.find('removed-nodes')[0].value).toBe(3);
    expect(sink.find('removed-initializers')[0].value).toBe(2);
  });

  it('keeps a node with one live output among dead ones, and a constant returned as an output', async () => {
    const input = lines(
      'graph g(%x : f32[4]) {',
      '  %k : f32[1] = const [1]',
      '  %a, %b = Split(%x) {axis=0}',
      '  %unused = Neg(%b)',
      '  return %a, %k',
      '}',
    );
    const result = await runPipeline(parseGraph(input), 'eliminate-dead-code');
    expect(result.graph.nodes.map((n) => n.opType)).toEqual(['Split']);
    expect(result.graph.value('k')?.isInitializer).toBe(true);
  });

  it('keeps overridable initializers and values a subgraph reads by name', async () => {
    const g = parseGraph(
      lines(
        'graph g(%x : f32[1], %cond : bool[]) {',
        '  %default : f32[1] = const [1]',
        '  %seen = Neg(%x)',
        '  %unseen = Neg(%x)',
        '  %y = Identity(%x)',
        '  return %y',
        '}',
      ),
    );
    g.value('default')!.meta.initializerIsInput = true;
    // An If whose branch reads %seen from the enclosing graph (as the ONNX importer represents it).
    const branch = new Graph('then');
    const stand = branch.createValue('seen');
    stand.meta.outerScope = true;
    const inner = branch.addNode({ opType: 'Identity', name: 'inner', inputs: [stand], outputs: ['out'] });
    branch.addOutput(inner.outputs[0]);
    const ifNode = g.addNode({ opType: 'If', name: 'if', inputs: [g.value('cond')!], outputs: ['z'], attributes: { then_branch: { type: 'graph', value: branch }, else_branch: { type: 'graph', value: branch } } });
    g.addOutput(ifNode.outputs[0]);
    const result = await runPipeline(g, 'eliminate-dead-code');
    expect(result.graph.nodes.map((n) => n.name)).toEqual(['seen', 'y', 'if']);
    expect(result.graph.value('default')).toBeDefined();
  });

  it('changes nothing on a graph without dead code', async () => {
    const g = new Graph('live');
    const x = g.addInput('x', { dtype: 'float32', shape: [2] });
    const w = g.addInitializer('w', Tensor.from('float32', [2], [1, 2]));
    const n = g.addNode({ opType: 'Mul', inputs: [x, w], outputs: ['y'], attributes: { unused: attr.int(0) } });
    g.addOutput(n.outputs[0]);
    const before = printGraph(g);
    const result = await runPipeline(g, 'eliminate-dead-code');
    expect(result.modified).toBe(false);
    expect(printGraph(result.graph)).toBe(before);
  });
});
