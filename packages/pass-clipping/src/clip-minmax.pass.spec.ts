import { createPassContext, getPass, runPipeline } from '@nibble/core';
import { parseGraph, printGraph } from '@nibble/ir';
import { fakeCalibration, samplesOf, SMALL_NET, smallNetBatches } from '@nibble/testing';
import '@nibble/pass-graph';
import '@nibble/pass-quantize';
import { clipMinmaxPass } from './clip-minmax.pass';
import './index';

const lines = (...l: string[]): string => `${l.join('\n')}\n`;

describe("pass 'clip-minmax'", () => {
  it('is registered and only annotates', () => {
    expect(getPass('clip-minmax')).toBe(clipMinmaxPass);
    expect(clipMinmaxPass.preserves).toBe('all');
  });

  it('annotates weights with their per-output-channel [min, max] (IR text in, IR text out)', async () => {
    const input = lines(
      'graph g(%x : f32[1,2,2,2]) {',
      '  %w : f32[2,2,1,1] = const [-1, 0.5, 0, 3]',
      '  %c : f32[1,2,2,2] = Conv(%x, %w) @conv',
      '  %y : f32[1,2,2,2] = Relu(%c)',
      '  %w2 : f32[2,2,1,1] = const [0.25, -0.5, 2, 1]',
      '  %z : f32[1,2,2,2] = Conv(%y, %w2) @conv2',
      '  %o : f32[1,2,2,2] = Relu(%z)',
      '  %w3 : f32[2,2,1,1] = const [1, 2, 3, 4]',
      '  %e : f32[1,2,2,2] = Conv(%o, %w3) @conv3',
      '  return %e',
      '}',
    );
    const { graph } = await runPipeline(parseGraph(input), 'quant-policy,clip-minmax{target=weights}');
    expect(printGraph(graph)).toBe(lines(
      'graph g(%x : f32[1,2,2,2]) {',
      '  %w : f32[2,2,1,1] #q<axis=0 bits=[8,8] signed=true range=[-1:0.5,0:3] src="clip-minmax{target=weights}"> = const [-1, 0.5, 0, 3]',
      '  %w2 : f32[2,2,1,1] #q<axis=0 bits=[4,4] signed=true range=[-0.5:0.25,1:2] src="clip-minmax{target=weights}"> = const [0.25, -0.5, 2, 1]',
      '  %w3 : f32[2,2,1,1] #q<axis=0 bits=[8,8] signed=true range=[1:2,3:4] src="clip-minmax{target=weights}"> = const [1, 2, 3, 4]',
      '  %c : f32[1,2,2,2] = Conv(%x, %w) @conv',
      '  %y : f32[1,2,2,2] = Relu(%c)',
      '  %z : f32[1,2,2,2] = Conv(%y, %w2) @conv2',
      '  %o : f32[1,2,2,2] = Relu(%z)',
      '  %e : f32[1,2,2,2] = Conv(%o, %w3) @conv3',
      '  return %e',
      '}',
    ));
  });

  it('clips activations to the calibration [min, max], lo = 0 for one-sided values, per channel or per tensor', async () => {
    const data = smallNetBatches(3);
    const run = async (pipeline: string) => {
      const graph = parseGraph(SMALL_NET);
      const ctx = createPassContext();
      fakeCalibration(ctx, graph, data);
      return (await runPipeline(graph, `mark-fused-relu,quant-policy,${pipeline}`, ctx)).graph;
    };
    const c = (await run('clip-minmax{target=activations,per-channel=false}')).value('c')!.quant!;
    expect(c.axis).toBeNull();
    expect(Array.from(c.range!.lo)).toEqual([0]);
    expect(c.range!.hi[0]).toBe(Math.max(...samplesOf(data, 'c', null)));
    const g = await run('clip-minmax');
    const d = g.value('d')!.quant!;
    expect(d.axis).toBe(1);
    for (let ch = 0; ch < 3; ch++) {
      const s = samplesOf(data, 'd', ch);
      expect([d.range!.lo[ch], d.range!.hi[ch]]).toEqual([Math.min(...s), Math.max(...s)]);
    }
    // Weights too by default (target=all).
    expect(g.value('w')!.quant!.rangeSource).toBe('clip-minmax');
  });
});
