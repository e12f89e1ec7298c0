/**
 * Independent reference: onnxruntime's QuantizeLinear / DequantizeLinear
 * (opset 21) must give bit for bit what quantize/fakeQuantize give, for
 * per-tensor and per-axis parameters, in uint8/int8 and uint4/int4.
 * The model is encoded here with a few protobuf fields (numbers from
 * onnx.proto), test-only, so this check does not depend on @nibble/onnx.
 */
import { Writer } from 'protobufjs/minimal';
import * as ort from 'onnxruntime-node';
import { DType, DTYPES, SeededRandom } from '@nibble/ir';
import { containerDType, scaleTensor, zeroPointTensor } from './pack';
import { AffineParams, paramsFromRange, withSignedness } from './params';
import { fakeQuantize } from './quantize';

type Sub = (w: Writer) => void;
const msg = (w: Writer, field: number, body: Sub) => { w.uint32((field << 3) | 2).fork(); body(w); w.ldelim(); };
const str = (w: Writer, field: number, s: string) => w.uint32((field << 3) | 2).string(s);
const varint = (w: Writer, field: number, v: number) => w.uint32(field << 3).int64(v);

function tensor(w: Writer, field: number, name: string, dtype: DType, dims: readonly number[], raw: Uint8Array) {
  msg(w, field, (t) => {
    for (const d of dims) varint(t, 1, d);
    varint(t, 2, DTYPES[dtype].onnx);
    str(t, 8, name);
    t.uint32((9 << 3) | 2).bytes(raw);
  });
}

function valueInfo(w: Writer, field: number, name: string, dtype: DType, dims: readonly number[]) {
  msg(w, field, (v) => {
    str(v, 1, name);
    msg(v, 2, (tp) => msg(tp, 1, (tt) => {
      varint(tt, 1, DTYPES[dtype].onnx);
      msg(tt, 2, (sh) => { for (const d of dims) msg(sh, 1, (dim) => varint(dim, 1, d)); });
    }));
  });
}

function node(w: Writer, op: string, inputs: string[], outputs: string[], axis: number | null) {
  msg(w, 1, (n) => {
    for (const i of inputs) str(n, 1, i);
    for (const o of outputs) str(n, 2, o);
    str(n, 3, op);
    str(n, 4, op);
    if (axis !== null) msg(n, 5, (a) => { str(a, 1, 'axis'); varint(a, 3, axis); varint(a, 20, 2); });
  });
}

const bytesOf = (data: ArrayBufferView) => new Uint8Array(data.buffer, data.byteOffset, data.byteLength);

function qdqModel(shape: number[], p: AffineParams): Uint8Array {
  const dt = containerDType(p);
  const w = Writer.create();
  varint(w, 1, 10);
  msg(w, 8, (o) => { str(o, 1, ''); varint(o, 2, 21); });
  msg(w, 7, (g) => {
    node(g, 'QuantizeLinear', ['x', 's', 'z'], ['q'], p.axis);
    node(g, 'DequantizeLinear', ['q', 's', 'z'], ['y'], p.axis);
    str(g, 2, 'qdq');
    const s = scaleTensor(p);
    const z = zeroPointTensor(p, dt);
    tensor(g, 5, 's', 'float32', s.shape, bytesOf(s.data as Float32Array));
    tensor(g, 5, 'z', dt, z.shape, bytesOf(z.data as Uint8Array));
    valueInfo(g, 11, 'x', 'float32', shape);
    valueInfo(g, 12, 'y', 'float32', shape);
  });
  return w.finish();
}

async function runQdq(x: Float32Array, shape: number[], p: AffineParams): Promise<Float32Array> {
  const session = await ort.InferenceSession.create(qdqModel(shape, p));
  const out = await session.run({ x: new ort.Tensor('float32', x, shape) });
  return out.y.data as Float32Array;
}

describe('agreement with onnxruntime QuantizeLinear/DequantizeLinear (opset 21)', () => {
  const rng = new SeededRandom(99);
  const shape = [6, 4000];
  const x = Float32Array.from(rng.fill(shape[0] * shape[1], (r) => r.laplace(0.1, 1)));
  // exact ties: multiples of half a step land on .5 after division
  for (let i = 0; i < 400; i++) x[i] = (i - 200) * 0.125;

  for (const bits of [4, 8]) {
    for (const signed of [false, true]) {
      it(`${signed ? 'int' : 'uint'}${bits}, per tensor and per axis: identical float32 outputs`, async () => {
        const lo = Float64Array.from({ length: 6 }, (_, c) => -1.5 - c * 0.7);
        const hi = Float64Array.from({ length: 6 }, (_, c) => 1 + c * 0.9);
        const perAxis = withSignedness(paramsFromRange({ lo, hi, bits, axis: 0 }), signed);
        const perTensor = withSignedness(paramsFromRange({ lo: -2.3, hi: 3.1, bits }), signed);
        // power-of-two scales (0.25) so that x / scale hits exact .5 ties, with an even and an odd zero point
        const q = 2 ** bits - 1;
        const tieEven = withSignedness(paramsFromRange({ lo: -0.125 * (q + 1), hi: 0.125 * (q - 1), bits }), signed);
        const tieOdd = withSignedness(paramsFromRange({ lo: -0.125 * (q - 1), hi: 0.125 * (q + 1), bits }), signed);
        expect(tieEven.scale[0]).toBe(0.25);
        expect(tieOdd.scale[0]).toBe(0.25);
        expect(Math.abs(tieOdd.zeroPoint[0]) % 2).toBe(1);
        const cases = [perAxis, perTensor, tieEven, tieOdd];
        for (const p of cases) {
          const ours = fakeQuantize(x, shape, p);
          const theirs = await runQdq(x, shape, p);
          let diff = 0;
          for (let i = 0; i < ours.length; i++) if (!Object.is(ours[i], theirs[i])) diff++;
          expect(diff).toBe(0);
        }
      });
    }
  }
});
