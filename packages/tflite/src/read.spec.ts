import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { NibbleError, SeededRandom, Tensor, isNibbleError } from '@nibble/ir';
import { writeOnnx } from '@nibble/onnx';
import { createOrtExecutor } from '@nibble/runtime';
import { closeTo, describeWithTfliteRef, fixturePhoto, maxRelError, nhwcToNchw, photoNhwc, randomFloats, runTfliteRef } from '@nibble/testing';
import { readTfliteFile } from './index';
import { supportedTfliteOps } from './lowerings';
import { readTflite } from './read';
import { Activation, F, Padding } from './schema';
import { buildTflite, type TestModel } from './testing/tflite-builder';

const selfie = join(dirname(require.resolve('@mediapipe/selfie_segmentation/package.json')), 'selfie_segmentation.tflite');

function convModel(): TestModel {
  return {
    tensors: [
      { name: 'image', shape: [1, 4, 4, 2] },
      { name: 'filter', shape: [3, 3, 3, 2], data: randomFloats(54, 7) },
      { name: 'bias', shape: [3], data: randomFloats(3, 8) },
      { name: 'features', shape: [1, 4, 4, 3] },
      { name: 'scores', shape: [1, 4, 4, 3] },
    ],
    operators: [
      { op: 'CONV_2D', inputs: [0, 1, 2], outputs: [3], options: [[F.Conv2DOptions.padding, 'i8', Padding.SAME], [F.Conv2DOptions.strideW, 'i32', 1], [F.Conv2DOptions.strideH, 'i32', 1], [F.Conv2DOptions.activation, 'i8', Activation.RELU]] },
      { op: 'LOGISTIC', inputs: [3], outputs: [4] },
    ],
    inputs: [0],
    outputs: [4],
  };
}

function catchError(f: () => unknown): NibbleError {
  try {
    f();
  } catch (e) {
    if (isNibbleError(e)) return e;
    throw e;
  }
  throw new Error('expected an error');
}

describe('readTflite', () => {
  it('keeps tensor names, makes the model NCHW and records the layout', () => {
    const model = readTflite(buildTflite(convModel()), { file: 'conv.tflite' });
    const g = model.graph;
    expect(g.inputs.map((v) => [v.name, v.type?.shape])).toEqual([['image', [1, 2, 4, 4]]]);
    expect(g.outputs.map((v) => [v.name, v.type?.shape])).toEqual([['scores', [1, 3, 4, 4]]]);
    expect(g.nodes.map((n) => n.opType)).toEqual(['Conv', 'Relu', 'Sigmoid']);
    const conv = g.nodes[0];
    expect(conv.inputs[1]?.const?.shape).toEqual([3, 2, 3, 3]);
    expect(conv.getInts('pads', [])).toEqual([1, 1, 1, 1]);
    expect(model.opsetImports.get('')).toBe(21);
    expect(model.irVersion).toBe(10);
    expect(model.metadata.get('nibble.source_format')).toBe('tflite');
    expect(JSON.parse(model.metadata.get('nibble.io_transposes')!)).toEqual({ inputs: { image: [0, 3, 1, 2] }, outputs: { scores: [0, 3, 1, 2] } });
  });

  it('transposes OHWI filters to OIHW element by element', () => {
    const m = convModel();
    const model = readTflite(buildTflite(m));
    const w = model.graph.nodes[0].inputs[1]!.const!;
    const src = m.tensors[1].data as Float32Array;
    // OIHW[o][i][y][x] == OHWI[o][y][x][i]
    for (const [o, i, y, x] of [[0, 0, 0, 0], [2, 1, 2, 0], [1, 0, 1, 2]]) {
      expect((w.data as Float32Array)[((o * 2 + i) * 3 + y) * 3 + x]).toBe(src[((o * 3 + y) * 3 + x) * 2 + i]);
    }
  });

  it('is deterministic: the same file gives byte-identical ONNX', () => {
    const bytes = readFileSync(selfie);
    const a = writeOnnx(readTflite(bytes));
    const b = writeOnnx(readTflite(bytes));
    expect(a.byteLength).toBeGreaterThan(200_000);
    expect(Buffer.compare(Buffer.from(a), Buffer.from(b))).toBe(0);
  });

  it('names an unsupported builtin operator, its node, and lists what is supported', () => {
    const m = convModel();
    m.operators[1] = { op: 'TOPK_V2', inputs: [3], outputs: [4] };
    const e = catchError(() => readTflite(buildTflite(m), { file: 'topk.tflite' }));
    expect(e.code).toBe('E_UNSUPPORTED_OP');
    expect(e.message).toContain('TOPK_V2');
    expect(e.message).toContain("'scores'");
    expect(e.place).toMatchObject({ file: 'topk.tflite', node: 'scores', op: 'TOPK_V2' });
    expect(e.hint).toContain('CONV_2D');
    expect(e.hint).toContain('HARD_SWISH');
  });

  it('names an unknown custom operator by its custom code', () => {
    const m = convModel();
    m.operators[1] = { op: 'MaxPoolingWithArgmax2D', custom: true, inputs: [3], outputs: [4] };
    const e = catchError(() => readTflite(buildTflite(m)));
    expect(e.code).toBe('E_UNSUPPORTED_OP');
    expect(e.message).toContain('custom operator MaxPoolingWithArgmax2D');
    expect(e.place.op).toBe('MaxPoolingWithArgmax2D');
  });

  it('lists its operators', () => {
    expect(supportedTfliteOps()).toEqual(expect.arrayContaining([
      'ADD', 'AVERAGE_POOL_2D', 'CONCATENATION', 'CONV_2D', 'DEPTHWISE_CONV_2D', 'DEQUANTIZE', 'FULLY_CONNECTED', 'HARD_SWISH', 'LOGISTIC',
      'MAX_POOL_2D', 'MEAN', 'MUL', 'PAD', 'RELU', 'RELU6', 'RESHAPE', 'RESIZE_BILINEAR', 'SOFTMAX', 'DENSIFY', 'DEPTH_TO_SPACE',
      'Convolution2DTransposeBias',
    ]));
  });

  it('rejects quantized activations with a hint', () => {
    const m = convModel();
    m.tensors[0] = { name: 'image', shape: [1, 4, 4, 2], type: 'INT8', quantization: { scale: [0.1], zeroPoint: [0] } };
    const e = catchError(() => readTflite(buildTflite(m)));
    expect(e.code).toBe('E_UNSUPPORTED');
    expect(e.message).toContain("'image' is quantized");
  });

  it('names the file in every error raised while lowering it', () => {
    const m = convModel();
    m.tensors[0] = { name: 'image', shape: [1, 4, 4, 2], type: 'INT8', quantization: { scale: [0.1], zeroPoint: [0] } };
    const e = catchError(() => readTflite(buildTflite(m), { file: 'models/q.tflite' }));
    expect(e.code).toBe('E_UNSUPPORTED');
    expect(e.message.startsWith("models/q.tflite: ")).toBe(true);
    expect(e.place.file).toBe('models/q.tflite');
  });

  it('gives E_TRUNCATED or E_FILE_FORMAT for every truncation of a model, never a crash', () => {
    const bytes = buildTflite(convModel());
    const codes = new Set<string>();
    for (let n = 0; n < bytes.length; n++) {
      try {
        readTflite(bytes.subarray(0, n));
        throw new Error(`a model cut to ${n} of ${bytes.length} bytes was accepted`);
      } catch (e) {
        if (!isNibbleError(e)) throw new Error(`cut at ${n}: ${String(e)}`);
        expect(['E_TRUNCATED', 'E_FILE_FORMAT']).toContain(e.code);
        codes.add(e.code);
      }
    }
    expect(codes.has('E_TRUNCATED')).toBe(true);
  });

  it('gives a typed error for a truncated real model', () => {
    const bytes = readFileSync(selfie);
    for (const n of [7, 100, 5000, bytes.length >> 1, bytes.length - 3]) {
      const e = catchError(() => readTflite(bytes.subarray(0, n), { file: 'cut.tflite' }));
      expect(['E_TRUNCATED', 'E_FILE_FORMAT']).toContain(e.code);
      expect(e.place.file).toBe('cut.tflite');
    }
  });

  it('survives corrupted bytes with typed errors only', () => {
    const bytes = buildTflite(convModel());
    const rand = new SeededRandom(99);
    for (let k = 0; k < 300; k++) {
      const copy = bytes.slice();
      for (let j = 0; j < 3; j++) copy[rand.nextInt(copy.length)] = rand.nextInt(256);
      try {
        readTflite(copy);
      } catch (e) {
        if (!isNibbleError(e)) throw new Error(`mutation ${k}: ${String(e)}`);
      }
    }
  });

  it('rejects a file that is not TFLite', () => {
    const e = catchError(() => readTflite(new TextEncoder().encode('{"format": "graph-model"}')));
    expect(e.code).toBe('E_FILE_FORMAT');
    expect(e.message).toContain("expected 'TFL3'");
  });

  it('reads files from disk and reports a missing one', () => {
    const dir = mkdtempSync(join(tmpdir(), 'nibble-tflite-'));
    try {
      const path = join(dir, 'm.tflite');
      writeFileSync(path, buildTflite(convModel()));
      expect(readTfliteFile(path).graph.outputs[0].name).toBe('scores');
      const e = catchError(() => readTfliteFile(join(dir, 'missing.tflite')));
      expect(e.code).toBe('E_FILE_NOT_FOUND');
      expect(e.place.file).toContain('missing.tflite');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('selfie segmentation (MediaPipe custom op Convolution2DTransposeBias)', () => {
  it('lowers the custom op to ConvTranspose and runs to a mask in [0, 1]', async () => {
    const model = readTfliteFile(selfie);
    const ct = model.graph.nodes.filter((n) => n.opType === 'ConvTranspose');
    expect(ct).toHaveLength(1);
    expect(ct[0].getInts('strides', [])).toEqual([2, 2]);
    expect(model.graph.outputs[0].type?.shape).toEqual([1, 1, 256, 256]);
    const ex = await createOrtExecutor(model, { backend: 'node' });
    try {
      const x = nhwcToNchw(photoNhwc(fixturePhoto('astronaut.jpg'), 256), [1, 256, 256, 3]);
      const out = await ex.run({ [model.graph.inputs[0].name]: new Tensor('float32', [1, 3, 256, 256], x) });
      const mask = out[model.graph.outputs[0].name].data as Float32Array;
      let lo = Infinity;
      let hi = -Infinity;
      for (const v of mask) {
        lo = Math.min(lo, v);
        hi = Math.max(hi, v);
      }
      expect(lo).toBeGreaterThanOrEqual(0);
      expect(hi).toBeLessThanOrEqual(1);
      // A person fills the photo's centre; the mask must say so there and not everywhere.
      expect(mask[128 * 256 + 128]).toBeGreaterThan(0.5);
      expect(lo).toBeLessThan(0.5);
    } finally {
      await ex.dispose();
    }
  }, 30_000);
});

describeWithTfliteRef('Convolution2DTransposeBias against TFLite TRANSPOSE_CONV', () => {
  it('computes what TFLite transposed convolution plus bias computes', async () => {
    const weights = randomFloats(3 * 2 * 2 * 4, 21);
    const bias = randomFloats(3, 22);
    const x = { name: 'x', shape: [1, 5, 6, 4] };
    const y = { name: 'y', shape: [1, 10, 12, 3] };
    const custom: TestModel = {
      tensors: [x, { name: 'w', shape: [3, 2, 2, 4], data: weights }, { name: 'b', shape: [3], data: bias }, y],
      // Raw options: padding SAME (1), stride_width 2, stride_height 2.
      operators: [{ op: 'Convolution2DTransposeBias', custom: true, inputs: [0, 1, 2], outputs: [3], customOptions: new Uint8Array(Int32Array.from([1, 2, 2]).buffer) }],
      inputs: [0],
      outputs: [3],
    };
    const builtin: TestModel = {
      tensors: [{ name: 'shape', shape: [4], type: 'INT32', data: Int32Array.from([1, 10, 12, 3]) }, { name: 'w', shape: [3, 2, 2, 4], data: weights }, x, { name: 'b', shape: [3], data: bias }, y],
      operators: [{ op: 'TRANSPOSE_CONV', inputs: [0, 1, 2, 3], outputs: [4], options: [[F.TransposeConvOptions.padding, 'i8', Padding.SAME], [F.TransposeConvOptions.strideW, 'i32', 2], [F.TransposeConvOptions.strideH, 'i32', 2]] }],
      inputs: [2],
      outputs: [4],
    };
    const input = randomFloats(5 * 6 * 4, 23);
    const [ref] = runTfliteRef([{ model: buildTflite(builtin), inputs: [{ shape: x.shape, data: input }] }]);
    if (typeof ref === 'string') throw new Error(ref);
    const model = readTflite(buildTflite(custom));
    const ex = await createOrtExecutor(model, { backend: 'node' });
    try {
      const out = await ex.run({ x: new Tensor('float32', [1, 4, 5, 6], nhwcToNchw(input, x.shape)) });
      const want = nhwcToNchw(ref[0].data, y.shape);
      const got = out.y.data as Float32Array;
      expect(maxRelError(got, want)).toBeLessThan(1e-5);
      expect(closeTo(got, want)).toBe(true);
    } finally {
      await ex.dispose();
    }
  }, 30_000);
});
