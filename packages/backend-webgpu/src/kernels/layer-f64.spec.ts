/// <reference types="@webgpu/types" preserve="true" />
import { createWasmExecutor } from '@nibble/backend-wasm';
import { constantTensor, type Node, Tensor } from '@nibble/ir';
import { convOperands, convShape, gemmOperands, POINTWISE, qdqParams } from '@nibble/quant';
import { buildCase, CONFORMANCE_CASES, describeWithWebGpu } from '@nibble/testing';
import { createWebGpuExecutor } from '../executor';

/*
 * The float64 conv's output, every bit of every float64 (the conformance
 * cases see it only rounded to float32 or quantized, which hides the last
 * bits): against the WebAssembly kernels' float64 operations, written out
 * here in their order from assembly/conv-codes.ts and conv-real.ts.
 */

const fail = (m: string): never => {
  throw new Error(m);
};

interface Layer {
  node: Node;
  x: { shape: number[]; codes?: Uint8Array; real?: Float32Array; scale: Float64Array; zeroPoint: Int32Array };
}

/** convCodes / convReal of one sample in float64, the wasm kernels' order of operations. */
function wasmOrder({ node, x }: Layer): Float64Array {
  const gemm = node.opType === 'Gemm';
  const xs = gemm ? [x.shape.reduce((a, b) => a * b, 1), 1, 1] : x.shape;
  const { w, bias, geometry: geo } = gemm ? { ...gemmOperands(node, xs[0], fail), geometry: POINTWISE } : convOperands(node, 3, fail);
  const { H, W, O, Cg, KH, KW, OH, OW } = convShape(xs, w.shape, geo, fail);
  const KK = KH * KW;
  const Og = O / geo.group;
  const y = new Float64Array(O * OH * OW);
  const tap = (c: number, iy: number, ix: number): number => {
    if (iy < 0 || iy >= H || ix < 0 || ix >= W) return 0;
    const i = (c * H + iy) * W + ix;
    return x.codes ? x.codes[i] - x.zeroPoint[c] : x.real![i];
  };
  for (let o = 0; o < O; o++) {
    const c0 = Math.floor(o / Og) * Cg;
    for (let oy = 0; oy < OH; oy++) for (let ox = 0; ox < OW; ox++) {
      const v = (ic: number, k: number): number => tap(c0 + ic, oy * geo.sh - geo.pt + Math.floor(k / KW) * geo.dh, ox * geo.sw - geo.pl + (k % KW) * geo.dw);
      let acc = 0;
      let sumX = 0;
      if (x.codes) {
        // Per-channel input sums times the channel's scale (the shift's term), then segments of equal scale.
        for (let ic = 0; ic < Cg; ic++) {
          let s = 0;
          for (let k = 0; k < KK; k++) s += v(ic, k);
          sumX += s * x.scale[c0 + ic];
        }
        let A = 0;
        for (let ic = 0; ic < Cg; ic++) {
          for (let k = 0; k < KK; k++) A = (A + v(ic, k) * w.levels[o * Cg * KK + ic * KK + k]) | 0;
          const c = c0 + ic;
          if ((ic + 1) % Cg === 0 || x.scale[c + 1] !== x.scale[c]) {
            acc += A * x.scale[c];
            A = 0;
          }
        }
      } else {
        for (let r = 0; r < Cg * KK; r++) {
          const xv = v(Math.floor(r / KK), r % KK);
          acc += xv * w.levels[o * Cg * KK + r];
          sumX += xv;
        }
      }
      let out = acc * w.scale[o] + (bias ? bias[o] : 0);
      if (w.shift) out += w.shift[o] * sumX;
      y[(o * OH + oy) * OW + ox] = out;
    }
  }
  return y;
}

/** The float64 words of a planned value, read from its GPU buffer after a run that fetched it (the last sample's). */
async function rawF64(gpu: Awaited<ReturnType<typeof createWebGpuExecutor>>, sample: number[], name: string): Promise<Float64Array> {
  const plan = gpu.plan(sample);
  const v = plan.values.get(name)!;
  expect(v.base).toBe('f64');
  const { device } = gpu.gpu;
  const bytes = 8 * v.shape.reduce((a, b) => a * b, 1);
  const rb = device.createBuffer({ size: bytes, usage: 0x01 | 0x08 });
  const enc = device.createCommandEncoder();
  enc.copyBufferToBuffer(plan.slots[v.buffer.slot!], 0, rb, 0, bytes);
  device.queue.submit([enc.finish()]);
  await rb.mapAsync(1);
  const out = new Float64Array(rb.getMappedRange().slice(0));
  rb.destroy();
  return out;
}

const bits = (a: Float64Array): string[] => Array.from(new BigUint64Array(a.buffer), (b) => b.toString(16));

/** The QuantizeLinear whose codes the layer reads (through their DequantizeLinear); none for a float input. */
function inputQuantizer(op: Node): Node | undefined {
  const dq = op.inputs[0]!.producer;
  return dq?.opType === 'DequantizeLinear' ? (dq.inputs[0]!.producer ?? undefined) : undefined;
}

/**
 * Input channels in pairs of equal scale (segments of two channels), every other pair's scale
 * 2^-25 times smaller: the float64 sums of the segments then round, so their order shows in the
 * last bits (with scales of one magnitude every term and sum is exact). The codes are the
 * backend's own for the new scales.
 */
function pairScales(op: Node): void {
  const s = constantTensor(inputQuantizer(op)!.inputs[1])!.data as Float32Array;
  for (let c = 0; c < s.length; c++) s[c] = s[c - (c % 2)] * (Math.floor(c / 2) % 2 ? 2 ** -25 : 1);
}

/** Case, and what is changed in it: input channels in pairs of one scale, or a bias-correction shift added. */
const CASES: [string, '' | 'pairs' | 'shift'][] = [
  ['conv 3x3, 5 -> 7 channels (not multiples of 4), odd image', ''],
  ['conv 3x3, 5 -> 7 channels (not multiples of 4), odd image', 'pairs'],
  ['grouped conv (2 groups), dilation 2', 'pairs'],
  ['conv, mixed 2..8-bit input channels and 3-bit outputs (clamps)', ''],
  ['conv with a bias-correction shift on the weights', 'pairs'],
  ['first conv: float input, 8-bit weights, batch 3', ''],
  ['first conv: float input, 8-bit weights, batch 3', 'shift'],
  ['gemm transB=0 on a float input', ''],
  ['gemm with a bias-correction shift', ''],
];

describeWithWebGpu('webgpu float64 conv: the wasm kernels\' float64 values, bit for bit', () => {
  it.each(CASES)('%s (%s)', async (name, change) => {
    const c = CONFORMANCE_CASES.find((k) => k.name === name)!;
    const built = buildCase(change === 'shift' ? { ...c, weight: { ...c.weight!, biasCorrection: true } } : c);
    const op = built.qdq.graph.nodes.find((n) => n.name === 'op')!;
    if (change === 'pairs') pairScales(op);
    const xq = inputQuantizer(op);
    const sample = built.feed.shape.slice(1);
    const feed = new Tensor('float32', [1, ...sample], (built.feed.data as Float32Array).slice(0, sample.reduce((a, b) => a * b, 1)));
    const gpu = await createWebGpuExecutor(built.qdq, { extraOutputs: [op.outputs[0].name, ...(xq ? [xq.outputs[0].name] : [])] });
    const out = await gpu.run({ x: feed }, [op.outputs[0].name, ...(xq ? [xq.outputs[0].name] : [])]);
    const params = xq ? qdqParams(xq, sample, fail) : undefined;
    const C = sample[0];
    const expand = <T extends Float64Array | Int32Array>(v: T | undefined, make: (n: number) => T): T => {
      const e = make(C);
      for (let c = 0; c < C; c++) e[c] = v ? v[v.length === 1 ? 0 : c] : 0;
      return e;
    };
    const layer: Layer = {
      node: op,
      x: {
        shape: sample,
        ...(xq ? { codes: Uint8Array.from(out[xq.outputs[0].name].toFloat64()) } : { real: feed.data as Float32Array }),
        scale: expand(params?.scale, (n) => new Float64Array(n)),
        zeroPoint: expand(params?.zeroPoint, (n) => new Int32Array(n)),
      },
    };
    const expected = wasmOrder(layer);
    const got = await rawF64(gpu, sample, op.outputs[0].name);
    expect(bits(got)).toEqual(bits(expected));
    // The float32 output is that value rounded, and the wasm backend's.
    const wasm = await createWasmExecutor(built.qdq, { extraOutputs: [op.outputs[0].name] });
    const w = (await wasm.run({ x: feed }, [op.outputs[0].name]))[op.outputs[0].name];
    expect(Array.from(out[op.outputs[0].name].data as Float32Array)).toEqual(Array.from(expected, Math.fround));
    expect(Array.from(w.data as Float32Array)).toEqual(Array.from(expected, Math.fround));
    await wasm.dispose();
    await gpu.dispose();
  }, 60_000);
});
