import * as ort from 'onnxruntime-node';
import { attr, createModel, Graph, NibbleError, SeededRandom, Tensor, type Model } from '@nibble/ir';
import { setWasmDecoding } from '@nibble/quant';
import { crc32, decodeEntropyContainer, encodeEntropyContainer, isEntropyContainer } from './entropy-container';
import { readOnnx } from './read';
import { writeOnnx } from './write';

/*
 * The container restores the ONNX bytes exactly; damage of any kind is a
 * typed error naming the file, never a hang, an untyped error or a model
 * that differs from the one written.
 */

const clampNibble = (v: number): number => Math.max(-8, Math.min(7, Math.round(v)));

/** x -> Conv(DQ(int4 per-channel, odd count)) -> Add(DQ(int8 per-tensor)) -> MatMul-free output; plus a uint4 DQ of a tiny tensor. */
function qdqModel(seed: number): Model {
  const rng = new SeededRandom(seed);
  const g = new Graph('entropy');
  const x = g.addInput('x', { dtype: 'float32', shape: [1, 3, 5, 5] });
  const co = 15;
  const wShape = [co, 3, 3, 3]; // 405 values: the packed bytes end in a pad nibble; channel 2 holds one code only
  const w = g.addInitializer('w_q', Tensor.from('int4', wShape, Array.from({ length: 405 }, (_, i) => (Math.floor(i / 27) === 2 ? 3 : clampNibble(rng.laplace(0, 1.2))))));
  const ws = g.addInitializer('w_scale', Tensor.from('float32', [co], Array.from({ length: co }, (_, c) => 0.01 * (c + 1))));
  const wz = g.addInitializer('w_zp', Tensor.from('int4', [co], new Array<number>(co).fill(0)));
  const wf = g.addNode({ opType: 'DequantizeLinear', name: 'dq_w', inputs: [w, ws, wz], outputs: ['w'], attributes: { axis: attr.int(0) } }).outputs[0];
  const conv = g.addNode({ opType: 'Conv', name: 'conv', inputs: [x, wf], outputs: ['c'], attributes: { pads: attr.ints([1, 1, 1, 1]) } }).outputs[0];
  const b = g.addInitializer('b_q', Tensor.from('int8', [co, 5, 5], Array.from({ length: co * 25 }, () => Math.round(rng.laplace(0, 3)) | 0).map((v) => Math.max(-128, Math.min(127, v)))));
  const bs = g.addInitializer('b_scale', Tensor.scalar('float32', 0.01));
  const bz = g.addInitializer('b_zp', Tensor.scalar('int8', 0));
  const bf = g.addNode({ opType: 'DequantizeLinear', name: 'dq_b', inputs: [b, bs, bz], outputs: ['b'] }).outputs[0];
  const y = g.addNode({ opType: 'Add', name: 'add', inputs: [conv, bf], outputs: ['y'] }).outputs[0];
  y.type = { dtype: 'float32', shape: [1, co, 5, 5] };
  g.addOutput(y);
  return createModel(g, 21, 10);
}

async function evaluate(onnx: Uint8Array): Promise<Float32Array> {
  const session = await ort.InferenceSession.create(onnx);
  try {
    const data = Float32Array.from({ length: 75 }, (_, i) => Math.sin(i));
    const out = await session.run({ x: new ort.Tensor('float32', data, [1, 3, 5, 5]) });
    return out.y.data as Float32Array;
  } finally {
    await session.release();
  }
}

const onnx = writeOnnx(qdqModel(1));
const packed = encodeEntropyContainer(onnx, readOnnx(onnx));

/** What decoding bytes gives: 'same' (the original file), 'WRONG', or the error's code. */
function outcome(bytes: Uint8Array): string {
  try {
    const back = decodeEntropyContainer(bytes, { file: 'q.nbz' });
    return crc32(back) === crc32(onnx) && back.length === onnx.length ? 'same' : 'WRONG';
  } catch (e) {
    if (!(e instanceof NibbleError)) return `untyped ${String(e)}`;
    if (!e.message.includes('q.nbz')) return `unnamed ${e.message}`;
    return e.code;
  }
}

// Every case runs with the decoder in WebAssembly (the default) and in JavaScript.
for (const wasm of [true, false]) describe(`entropy-coded container (decoder in ${wasm ? 'WebAssembly' : 'JavaScript'})`, () => {
  beforeAll(() => setWasmDecoding(wasm));
  afterAll(() => setWasmDecoding(true));

  it('restores the exact ONNX bytes, and the model evaluates identically', async () => {
    expect(isEntropyContainer(packed)).toBe(true);
    expect(isEntropyContainer(onnx)).toBe(false);
    const back = decodeEntropyContainer(packed, { file: 'q.nbz' });
    expect(Buffer.from(back).equals(Buffer.from(onnx))).toBe(true);
    expect(Array.from(await evaluate(back))).toEqual(Array.from(await evaluate(onnx)));
  });

  it('codes both quantized weights and is smaller than the file', () => {
    expect(new DataView(packed.buffer, packed.byteOffset).getUint32(16, true)).toBe(2);
    expect(packed.length).toBeLessThan(onnx.length);
  });

  it('is deterministic', () => {
    expect(Buffer.from(encodeEntropyContainer(onnx, readOnnx(onnx))).equals(Buffer.from(packed))).toBe(true);
  });

  it('passes a file without quantized weights through unchanged', () => {
    const g = new Graph('plain');
    const x = g.addInput('x', { dtype: 'float32', shape: [2] });
    const y = g.addNode({ opType: 'Relu', name: 'r', inputs: [x], outputs: ['y'] }).outputs[0];
    y.type = { dtype: 'float32', shape: [2] };
    g.addOutput(y);
    const plain = writeOnnx(createModel(g, 21, 10));
    const c = encodeEntropyContainer(plain, readOnnx(plain));
    expect(Buffer.from(decodeEntropyContainer(c)).equals(Buffer.from(plain))).toBe(true);
  });

  it('reports every truncation as E_TRUNCATED and every bit flip as a typed error naming the file', () => {
    for (let cut = 0; cut < packed.length; cut++) {
      expect([cut < 4 ? 'E_FILE_FORMAT' : 'E_TRUNCATED', 'E_TRUNCATED']).toContain(outcome(packed.subarray(0, cut)));
    }
    const seen = new Set<string>();
    for (let bit = 0; bit < packed.length * 8; bit++) {
      const bad = packed.slice();
      bad[bit >> 3] ^= 1 << (bit & 7);
      const o = outcome(bad);
      seen.add(o);
      expect(['E_TRUNCATED', 'E_FILE_FORMAT']).toContain(o);
    }
    expect(seen.has('E_FILE_FORMAT')).toBe(true);
  });

  it('computes the zlib CRC-32 for every length round the 8-byte steps', () => {
    const bitwise = (bytes: Uint8Array): number => {
      let c = 0xffffffff;
      for (const b of bytes) {
        c ^= b;
        for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      }
      return (c ^ 0xffffffff) >>> 0;
    };
    expect(crc32(new TextEncoder().encode('123456789'))).toBe(0xcbf43926);
    const rng = new SeededRandom(9);
    const data = Uint8Array.from({ length: 5000 }, () => rng.nextInt(256));
    for (let n = 0; n <= 40; n++) expect(crc32(data.subarray(3, 3 + n))).toBe(bitwise(data.subarray(3, 3 + n)));
    expect(crc32(data)).toBe(bitwise(data));
  });
});

describe('entropy-coded container, WebAssembly against JavaScript', () => {
  afterAll(() => setWasmDecoding(true));

  it('fails every truncation and bit flip with the same error, message included, either way', () => {
    const result = (bytes: Uint8Array, wasm: boolean): string => {
      setWasmDecoding(wasm);
      try {
        return Buffer.from(decodeEntropyContainer(bytes, { file: 'q.nbz' })).equals(Buffer.from(onnx)) ? 'same' : 'WRONG';
      } catch (e) {
        return e instanceof NibbleError ? `${e.code}: ${e.message}` : `untyped ${String(e)}`;
      } finally {
        setWasmDecoding(true);
      }
    };
    for (let cut = 0; cut < packed.length; cut += 3) expect(result(packed.subarray(0, cut), true)).toBe(result(packed.subarray(0, cut), false));
    for (let bit = 0; bit < packed.length * 8; bit += 5) {
      const bad = packed.slice();
      bad[bit >> 3] ^= 1 << (bit & 7);
      expect(result(bad, true)).toBe(result(bad, false));
    }
  });
});
