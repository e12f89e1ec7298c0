import { createPassContext, getPass, MemoryReportSink, runPipeline } from '@nibble/core';
import { type Graph, parseGraph } from '@nibble/ir';
import { paramsOfAnnotation } from '@nibble/quant';
import { fakeCalibration, SMALL_NET, smallNetBatches } from '@nibble/testing';
import '@nibble/pass-clipping';
import '@nibble/pass-graph';
import '@nibble/pass-quantize';
import { allocBinsPass } from './alloc-bins.pass';
import { midTreadRange } from './math/allocate-bins';
import './index';

async function smallNet(pipeline: string, sink = new MemoryReportSink()): Promise<Graph> {
  const graph = parseGraph(SMALL_NET);
  const ctx = createPassContext({ reportSink: sink });
  fakeCalibration(ctx, graph, smallNetBatches(2));
  return (await runPipeline(graph, `mark-fused-relu,quant-policy,${pipeline}`, ctx)).graph;
}

const meanLog2 = (levels: Int32Array) => levels.reduce((s, w) => s + Math.log2(w), 0) / levels.length;

describe("pass 'alloc-bins'", () => {
  it('is registered and only annotates', () => {
    expect(getPass('alloc-bins')).toBe(allocBinsPass);
    expect(allocBinsPass.preserves).toBe('all');
  });

  it('gives per-channel levels (not only powers of two) at a mean log2 within the budget, bits = ceil(log2 levels)', async () => {
    const sink = new MemoryReportSink();
    const g = await smallNet('alloc-bins{budget=3}', sink);
    for (const name of ['w2', 'c', 'd']) {
      const q = g.value(name)!.quant!;
      expect(q.levels).toBeDefined();
      expect(meanLog2(q.levels!)).toBeLessThanOrEqual(3 + 1e-9);
      expect(Array.from(q.bits!)).toEqual(Array.from(q.levels!, (w) => Math.ceil(Math.log2(w))));
      expect(g.value(name)!.meta.allocation).toMatchObject({ budget: 3, method: 'bins', meanLog2Levels: meanLog2(q.levels!) });
    }
    // The first layer keeps its own 8-bit budget; the logits (per tensor) are left alone.
    expect(meanLog2(g.value('w')!.quant!.levels!)).toBeLessThanOrEqual(8);
    expect(g.value('l')!.quant).toBeUndefined();
    const all = ['w2', 'c', 'd'].flatMap((n) => Array.from(g.value(n)!.quant!.levels!));
    expect(all.some((w) => (w & (w - 1)) !== 0)).toBe(true);
    expect(sink.find('allocated')[0].value).toMatchObject({ perTensorSkipped: 1 });
  });

  it('clips with ACIQ for omega bins: clip then allocate (refresh) equals allocate then clip', async () => {
    const clipFirst = await smallNet('clip-aciq,alloc-bins{target=activations,budget=3,mid-tread=none}');
    const allocFirst = await smallNet('alloc-bins{target=activations,budget=3},clip-aciq');
    for (const name of ['c', 'd']) {
      const a = clipFirst.value(name)!.quant!;
      const b = allocFirst.value(name)!.quant!;
      expect(Array.from(a.levels!)).toEqual(Array.from(b.levels!));
      expect(Array.from(a.range!.hi)).toEqual(Array.from(b.range!.hi));
      expect(Array.from(a.range!.lo)).toEqual(Array.from(b.range!.lo));
    }
  });

  it('moves the ranges to the level centres of the mid-tread grid; quantize builds a grid of exactly omega levels of step clip / omega', async () => {
    const clipped = await smallNet('clip-aciq,alloc-bins{target=activations,budget=3,mid-tread=none}');
    const g = await smallNet('clip-aciq,alloc-bins{target=activations,budget=3},quantize');
    for (const name of ['c', 'd']) {
      const v = g.value(name)!;
      const clip = clipped.value(name)!.quant!.range!;
      const q = v.quant!;
      const p = paramsOfAnnotation(q, name);
      const oneSided = v.meta.oneSided === true;
      for (let c = 0; c < q.levels!.length; c++) {
        const omega = q.levels![c];
        const want = midTreadRange(clip.lo[c], clip.hi[c], omega, oneSided);
        // float32 scale: the grid's step is the mid-tread step to float32 precision.
        expect(Math.abs(p.scale[c] / want.step - 1)).toBeLessThan(1e-6);
        expect(p.levels![c]).toBe(omega);
      }
    }
  });

  it('clip ranges for omega = 2^M are the M-bit ACIQ ranges, and differ elsewhere', async () => {
    const g = await smallNet('clip-aciq,alloc-bins{target=activations,budget=3,mid-tread=none}');
    const v = g.value('c')!;
    const q = v.quant!;
    expect(v.meta.oneSided).toBe(true);
    const byBits = new Map<number, Float64Array>();
    for (const M of [1, 2, 3, 4, 5, 6]) byBits.set(2 ** M, (await smallNet(`clip-aciq{bits=${M}}`)).value('c')!.quant!.range!.hi);
    for (let c = 0; c < q.levels!.length; c++) {
      const u = byBits.get(q.levels![c]);
      if (u) expect(q.range!.hi[c]).toBeCloseTo(u[c], 9);
      else expect(Array.from(byBits.values()).every((h) => Math.abs(h[c] - q.range!.hi[c]) > 1e-9)).toBe(true);
    }
  });

  it('refuses clipping passes that only know bit-widths on values with levels, naming the option', async () => {
    await expect(smallNet('alloc-bins{target=activations,budget=3},clip-kl')).rejects.toMatchObject({ code: 'E_UNSUPPORTED', place: { option: 'target' } });
    await expect(smallNet('alloc-bins{min-levels=8,max-levels=4}')).rejects.toMatchObject({ code: 'E_BAD_OPTION', place: { option: 'min-levels' } });
    await expect(smallNet('alloc-bins{budget=1,min-levels=4}')).rejects.toMatchObject({ code: 'E_BUDGET' });
    await expect(smallNet('quantize,alloc-bins')).rejects.toMatchObject({ code: 'E_BAD_OPTION', message: expect.stringMatching(/already quantized/) });
  });

  it('keeps min/max ranges (the observed extremes) as end levels unless mid-tread=all', async () => {
    const minmax = await smallNet('clip-minmax{target=weights},alloc-bins{target=weights,budget=3,mid-tread=none}');
    const clipped = await smallNet('clip-minmax{target=weights},alloc-bins{target=weights,budget=3}');
    const all = await smallNet('clip-minmax{target=weights},alloc-bins{target=weights,budget=3,mid-tread=all}');
    const r0 = minmax.value('w2')!.quant!.range!;
    expect(Array.from(clipped.value('w2')!.quant!.range!.hi)).toEqual(Array.from(r0.hi));
    const q = all.value('w2')!.quant!;
    for (let c = 0; c < r0.hi.length; c++) expect(q.range!.hi[c]).toBeCloseTo(midTreadRange(r0.lo[c], r0.hi[c], q.levels![c], false).hi, 12);
  });

  it('alloc-bits after alloc-bins replaces the levels with power-of-two widths', async () => {
    const g = await smallNet('clip-aciq,alloc-bins{target=activations,budget=3},alloc-bits{target=activations,budget=3},quantize');
    const q = g.value('c')!.quant!;
    expect(q.levels).toBeUndefined();
    expect(paramsOfAnnotation(q, 'c').levels).toBeUndefined();
  });

  it('its pipeline text round-trips', () => {
    const opts = allocBinsPass.parseOptions([{ key: 'target', value: 'weights' }, { key: 'budget', value: '3' }]);
    expect(allocBinsPass.format(opts)).toBe('alloc-bins{target=weights,budget=3}');
  });
});
