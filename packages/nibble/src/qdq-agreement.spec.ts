import type { Model, QuantAnnotation, Value } from '@nibble/ir';
import { type AffineParams, paramsFromRange } from '@nibble/quant';
import { lowerToQdq } from '@nibble/onnx';
import { createOrtExecutor } from '@nibble/runtime';
import { agreement, buildSmallConvNet, compareWithReference, formatAgreements, runFloat64, smallNetInputs } from '@nibble/testing';

/*
 * Acceptance: a float64 fake-quantization reference written independently
 * (@nibble/testing's float64-reference.ts: its own convolution, pooling, round half to
 * even and per-channel level clamp) agrees with onnxruntime running
 * lowerToQdq's model, on a small residual conv net (Conv with pads, strides
 * and groups, Relu, MaxPool, Add, GlobalAveragePool, Gemm), to float32
 * rounding: >= 99.9% of the elements of the output and of every quantized
 * activation within 1e-5 of the tensor's scale (@nibble/testing's agreement.ts
 * explains the tolerance). Here with hand annotations; recipes.spec.ts does
 * the same for every recipe.
 */

const annotate = (v: Value, p: AffineParams): void => {
  const q: QuantAnnotation = { axis: p.axis, bits: p.bits, scale: p.scale, zeroPoint: p.zeroPoint, signed: p.signed };
  v.quant = q;
};

/** Per-channel (axis 1, or axis 0 of a weight) min/max in float64, from the test's own loops. */
function channelRange(data: Float64Array, shape: number[], axis: number): { lo: number[]; hi: number[] } {
  const c = shape[axis];
  const inner = shape.slice(axis + 1).reduce((a, b) => a * b, 1);
  const lo = new Array<number>(c).fill(Infinity);
  const hi = new Array<number>(c).fill(-Infinity);
  data.forEach((v, i) => {
    const k = Math.floor(i / inner) % c;
    lo[k] = Math.min(lo[k], v);
    hi[k] = Math.max(hi[k], v);
  });
  return { lo, hi };
}

/**
 * The paper's placement, by hand: conv outputs per channel (one-sided where
 * a Relu follows), MaxPool and logits 8-bit per tensor, weights per output
 * channel (8-bit first and last). Bit-widths are mixed on purpose: channels
 * with fewer levels than their container (the clamp), 0-bit constants, a
 * uint8 container with 5..8-bit channels.
 */
function handAnnotated(): Model {
  const model = buildSmallConvNet({ withBatchNorm: false });
  const g = model.graph;
  const calib = smallNetInputs(32, 1);
  const acts = ['conv1', 'pool1', 'conv2', 'conv3', 'conv4', 'fc'];
  const f = runFloat64(g, { x: { shape: [...calib.shape], data: calib.toFloat64() } }, acts);
  const act = (name: string, bits: number[] | number, oneSided: boolean, perChannel = true) => {
    const t = f[name];
    if (!perChannel) {
      let lo = Infinity, hi = -Infinity;
      for (const v of t.data) { lo = Math.min(lo, v); hi = Math.max(hi, v); }
      annotate(g.value(name)!, paramsFromRange({ lo: oneSided ? 0 : lo, hi: oneSided ? Math.max(hi, 0) : hi, bits: bits as number, name }));
      return;
    }
    const r = channelRange(t.data, t.shape, 1);
    // A channel dead after the Relu (all negative) is [0, 0] one-sided.
    annotate(g.value(name)!, paramsFromRange({ lo: oneSided ? 0 : r.lo, hi: oneSided ? r.hi.map((h) => Math.max(h, 0)) : r.hi, bits, axis: 1, name }));
  };
  act('conv1', [4, 3, 2, 4, 0, 4, 3, 1], true);
  act('pool1', 8, true, false);
  act('conv2', [4, 4, 3, 3, 2, 4, 4, 4], true);
  act('conv3', 4, false);
  act('conv4', [8, 5, 6, 7, 8, 8, 5, 6, 7, 8, 8, 8, 6, 6, 5, 8], true);
  act('fc', 8, false, false);
  const weight = (name: string, bits: number[] | number) => {
    const v = g.value(name)!;
    const t = v.const!;
    const r = channelRange(t.toFloat64(), [...t.shape], 0);
    annotate(v, paramsFromRange({ lo: r.lo, hi: r.hi, bits, axis: 0, signed: true, name }));
  };
  weight('conv1.w', 8);
  weight('conv2.w', [4, 3, 4, 2, 4, 4, 3, 4]);
  weight('conv3.w', 4);
  weight('conv4.w', [4, 4, 3, 4, 2, 4, 4, 3, 4, 4, 0, 4, 4, 3, 4, 4]);
  weight('fc.w', 8);
  return model;
}

describe('float64 fake-quantization reference vs onnxruntime QDQ simulation', () => {
  const x = smallNetInputs(256, 2);

  it('agree to float32 rounding on a hand-annotated small conv net', async () => {
    const model = handAnnotated();
    const { exact: rows, default: plain } = await compareWithReference(model, x, ['exact', 'default']);
    console.log([
      formatAgreements('hand annotations, 256 samples, elements outside 1e-5 relative; onnxruntime exact (disable_quant_qdq):', rows),
      formatAgreements('  onnxruntime default optimizations (for comparison, not asserted):', plain),
    ].join('\n'));
    expect(rows.map((r) => r.name)).toEqual(['fc (output)', 'conv1', 'pool1', 'conv2', 'conv3', 'conv4']);
    for (const r of rows) {
      expect(r.elements).toBeGreaterThan(0);
      expect(r.within / r.elements).toBeGreaterThanOrEqual(0.999);
    }
  }, 60_000);

  it('the comparison is sharp: the logits of the float network do not pass it', async () => {
    const model = handAnnotated();
    const lowered = lowerToQdq(model);
    const exec = await createOrtExecutor(lowered);
    const ort = (await exec.run({ x }))['fc'].toFloat64();
    await exec.dispose();
    const plain = buildSmallConvNet({ withBatchNorm: false });
    const float = runFloat64(plain.graph, { x: { shape: [...x.shape], data: x.toFloat64() } }).fc.data;
    const againstFloat = agreement('float', ort, float);
    expect(againstFloat.within / againstFloat.elements).toBeLessThan(0.5);
  });
});
