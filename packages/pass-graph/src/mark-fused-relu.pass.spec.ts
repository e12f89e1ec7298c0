import { parseGraph, printGraph } from '@nibble/ir';
import { createPassContext, getPass, MemoryReportSink, runPipeline } from '@nibble/core';
import { markFusedReluPass } from './mark-fused-relu.pass';
import './index';

const lines = (...l: string[]): string => `${l.join('\n')}\n`;

/** x -> Conv -> c -> (the given consumers) -> outputs. */
function convFeeding(...body: string[]): string {
  return lines(
    'graph g(%x : f32[1,1,2,2]) {',
    '  %w : f32[1,1,1,1] = const [2]',
    '  %zero : f32[] = const [0]',
    '  %six : f32[] = const [6]',
    '  %minus1 : f32[] = const [-1]',
    '  %one : f32[] = const [1]',
    '  %c = Conv(%x, %w)',
    ...body.map((l) => `  ${l}`),
    '}',
  );
}

async function oneSided(text: string): Promise<string[]> {
  const { graph } = await runPipeline(parseGraph(text), 'mark-fused-relu');
  return [...graph.values()].filter((v) => v.meta.oneSided === true).map((v) => v.name).sort();
}

describe("pass 'mark-fused-relu'", () => {
  it('is registered under its pipeline name and preserves every analysis', () => {
    expect(getPass('mark-fused-relu')).toBe(markFusedReluPass);
    expect(markFusedReluPass.preserves).toBe('all');
  });

  it('marks a conv output read only by Relu (IR text in, IR text out)', async () => {
    const input = lines(
      'graph g(%x : f32[1,1,2,2]) {',
      '  %w : f32[1,1,1,1] = const [2]',
      '  %c : f32[1,1,2,2] = Conv(%x, %w)',
      '  %y : f32[1,1,2,2] = Relu(%c)',
      '  return %y',
      '}',
    );
    const { graph, modified } = await runPipeline(parseGraph(input), 'mark-fused-relu');
    expect(modified).toBe(true);
    expect(printGraph(graph)).toBe(input.replace('%c : f32[1,1,2,2] =', '%c : f32[1,1,2,2] #one-sided ='));
  });

  it('does not mark a conv output read by Relu and by Add (a residual sees the negative part)', async () => {
    expect(await oneSided(convFeeding('%y = Relu(%c)', '%s = Add(%c, %y)', 'return %s'))).toEqual([]);
  });

  it('marks outputs read only by Relu, even by several of them', async () => {
    expect(await oneSided(convFeeding('%y1 = Relu(%c)', '%y2 = Relu(%c)', '%s = Add(%y1, %y2)', 'return %s'))).toEqual(['c']);
  });

  it('marks Clip(0, 6) with bounds as inputs (opset 11+) and as attributes (older opsets)', async () => {
    expect(await oneSided(convFeeding('%y = Clip(%c, %zero, %six)', 'return %y'))).toEqual(['c']);
    expect(await oneSided(convFeeding('%y = Clip(%c) {max=6.0, min=0.0}', 'return %y'))).toEqual(['c']);
    // Only a lower bound, no upper one: still nothing negative survives.
    expect(await oneSided(convFeeding('%y = Clip(%c, %zero)', 'return %y'))).toEqual(['c']);
  });

  it('does not mark Clip(-1, 1), Clip without a lower bound, or Clip whose bound is not constant', async () => {
    expect(await oneSided(convFeeding('%y = Clip(%c, %minus1, %one)', 'return %y'))).toEqual([]);
    expect(await oneSided(convFeeding('%y = Clip(%c) {max=1.0, min=-1.0}', 'return %y'))).toEqual([]);
    expect(await oneSided(convFeeding('%y = Clip(%c, _, %six)', 'return %y'))).toEqual([]);
    expect(await oneSided(convFeeding('%y = Clip(%c) {max=6.0}', 'return %y'))).toEqual([]);
    const dynamicMin = lines('graph g(%x : f32[4], %lo : f32[]) {', '  %y = Clip(%x, %lo)', '  return %y', '}');
    expect(await oneSided(dynamicMin)).toEqual([]);
  });

  it('does not mark a value that is also a graph output, nor one read as a Clip bound', async () => {
    expect(await oneSided(convFeeding('%y = Relu(%c)', 'return %y, %c'))).toEqual([]);
    // c is the bound here, not the data: it reaches the output unclipped.
    expect(await oneSided(convFeeding('%y = Clip(%six, %c)', 'return %y'))).toEqual([]);
  });

  it('does not mark LeakyRelu inputs or constants', async () => {
    expect(await oneSided(convFeeding('%y = LeakyRelu(%c)', 'return %y'))).toEqual([]);
    expect(await oneSided(lines('graph g() {', '  %k : f32[1] = const [-3]', '  %y = Relu(%k)', '  return %y', '}'))).toEqual([]);
  });

  it('marks a graph input read only by Relu', async () => {
    expect(await oneSided(lines('graph g(%x : f32[4]) {', '  %y = Relu(%x)', '  return %y', '}'))).toEqual(['x']);
  });

  it('removes a stale mark, reports the count, and is a no-op the second time', async () => {
    const g = parseGraph(convFeeding('%y = Relu(%c)', '%s = Add(%c, %y)', 'return %s'));
    g.value('c')!.meta.oneSided = true;
    const sink = new MemoryReportSink();
    const first = await runPipeline(g, 'mark-fused-relu', createPassContext({ reportSink: sink }));
    expect(first.modified).toBe(true);
    expect(first.graph.value('c')!.meta.oneSided).toBeUndefined();
    expect(sink.find('one-sided')[0].value).toBe(0);
    const again = await runPipeline(first.graph, 'mark-fused-relu');
    expect(again.modified).toBe(false);
  });

  describe('upper bound', () => {
    async function bounds(text: string): Promise<Record<string, unknown>> {
      const { graph } = await runPipeline(parseGraph(text), 'mark-fused-relu');
      return Object.fromEntries([...graph.values()].filter((v) => 'upperBound' in v.meta).map((v) => [v.name, v.meta.upperBound]));
    }

    it("records ReLU6's 6, with the bound as input (opset 11+) or attribute (older opsets)", async () => {
      expect(await bounds(convFeeding('%y = Clip(%c, %zero, %six)', 'return %y'))).toEqual({ c: 6 });
      expect(await bounds(convFeeding('%y = Clip(%c) {max=6.0, min=0.0}', 'return %y'))).toEqual({ c: 6 });
    });

    it('takes the largest max among several Clip readers', async () => {
      expect(await bounds(convFeeding('%y1 = Clip(%c, %zero, %six)', '%y2 = Clip(%c, %zero, %one)', '%s = Add(%y1, %y2)', 'return %s'))).toEqual({ c: 6 });
    });

    it('records none when a reader keeps everything above: Relu, Clip without a max or with one that is not constant', async () => {
      expect(await bounds(convFeeding('%y1 = Clip(%c, %zero, %six)', '%y2 = Relu(%c)', '%s = Add(%y1, %y2)', 'return %s'))).toEqual({});
      expect(await bounds(convFeeding('%y = Clip(%c, %zero)', 'return %y'))).toEqual({});
      expect(await bounds(convFeeding('%y = Clip(%c) {min=0.0}', 'return %y'))).toEqual({});
      const dynamicMax = lines('graph g(%x : f32[4], %hi : f32[]) {', '  %zero : f32[] = const [0]', '  %y = Clip(%x, %zero, %hi)', '  return %y', '}');
      expect(await bounds(dynamicMax)).toEqual({});
      // Not one-sided, so no bound either: Clip(-1, 1) keeps negatives.
      expect(await bounds(convFeeding('%y = Clip(%c, %minus1, %one)', 'return %y'))).toEqual({});
    });

    it('removes a stale bound, counts bounded values, and is a no-op the second time', async () => {
      const g = parseGraph(convFeeding('%y = Relu(%c)', 'return %y'));
      g.value('c')!.meta.upperBound = 6;
      const sink = new MemoryReportSink();
      const first = await runPipeline(g, 'mark-fused-relu', createPassContext({ reportSink: sink }));
      expect(first.modified).toBe(true);
      expect(first.graph.value('c')!.meta).toEqual({ oneSided: true });
      expect(sink.find('upper-bounded')[0].value).toBe(0);
      const six = await runPipeline(parseGraph(convFeeding('%y = Clip(%c, %zero, %six)', 'return %y')), 'mark-fused-relu');
      expect((await runPipeline(six.graph, 'mark-fused-relu')).modified).toBe(false);
    });
  });
});
