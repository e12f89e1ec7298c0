import { dirname, join } from 'node:path';
import { Tensor, inferShapes } from '@nibble/ir';
import { createOrtExecutor } from '@nibble/runtime';
import {
  closeTo, describeWithTfliteRef, fixturePhoto, maxAbsError, maxRelError, nhwcToNchw, photoNhwc, runTfliteRef, type RefOutput,
} from '@nibble/testing';
import { readTfliteFile } from '@nibble/tflite';

/*
 * Real MediaPipe models (nobody here wrote them): imported, run through the
 * IR in onnxruntime, and compared with TFLite 2.9 on a photo.
 */

const pkg = (name: string): string => dirname(require.resolve(`@mediapipe/${name}/package.json`));

interface Case {
  file: string;
  size: number;
  /** Input normalization: value * scale + offset on 0..255 pixels. */
  scale: number;
  offset: number;
}

const CASES: Case[] = [
  { file: join(pkg('face_detection'), 'face_detection_short_range.tflite'), size: 128, scale: 1 / 127.5, offset: -1 },
  { file: join(pkg('face_detection'), 'face_detection_full_range.tflite'), size: 192, scale: 1 / 127.5, offset: -1 },
  { file: join(pkg('face_detection'), 'face_detection_full_range_sparse.tflite'), size: 192, scale: 1 / 127.5, offset: -1 },
  { file: join(pkg('hands'), 'hand_landmark_lite.tflite'), size: 224, scale: 1 / 255, offset: 0 },
  { file: join(pkg('hands'), 'hand_landmark_full.tflite'), size: 224, scale: 1 / 255, offset: 0 },
];

const name = (f: string): string => f.split('/').pop()!;

describe('MediaPipe models import', () => {
  it.each(CASES.map((c) => [name(c.file), c] as const))('%s: NCHW input, typed outputs, shapes that inference confirms', (_, c) => {
    const model = readTfliteFile(c.file);
    const g = model.graph;
    expect(g.inputs).toHaveLength(1);
    expect(g.inputs[0].type?.shape).toEqual([1, 3, c.size, c.size]);
    expect(model.metadata.get('nibble.source_layout')).toBe('NHWC');
    expect(JSON.parse(model.metadata.get('nibble.io_transposes')!).inputs[g.inputs[0].name]).toEqual([0, 3, 1, 2]);
    // Every weight became an initializer: no DEQUANTIZE/DENSIFY survives as a node.
    expect(g.nodes.some((n) => n.opType === 'Cast' || n.opType === 'DequantizeLinear')).toBe(false);
    for (const n of g.nodes.filter((n) => n.opType === 'Conv')) expect(n.inputs[1]?.isInitializer).toBe(true);
    // The IR's own shape inference must agree with every type the importer declared.
    const report = inferShapes(g);
    expect(report.opsWithoutInference).toEqual([]);
    g.verify();
  });
});

describeWithTfliteRef('MediaPipe models against TFLite 2.9', () => {
  const inputs = CASES.map((c) => photoNhwc(fixturePhoto('astronaut.jpg'), c.size, c.scale, c.offset));
  let reference: (RefOutput[] | string)[];

  beforeAll(() => {
    reference = runTfliteRef(CASES.map((c, i) => ({ model: c.file, inputs: [{ shape: [1, c.size, c.size, 3], data: inputs[i] }] })));
  }, 60_000);

  it.each(CASES.map((c, i) => [name(c.file), c, i] as const))('%s matches to 1e-4 relative', async (_, c, i) => {
    const ref = reference[i];
    if (typeof ref === 'string') throw new Error(`reference failed: ${ref}`);
    const model = readTfliteFile(c.file);
    const ex = await createOrtExecutor(model, { backend: 'node' });
    try {
      const x = new Tensor('float32', [1, 3, c.size, c.size], nhwcToNchw(inputs[i], [1, c.size, c.size, 3]));
      const out = await ex.run({ [model.graph.inputs[0].name]: x });
      for (const o of ref) {
        const mine = out[o.name];
        expect(mine).toBeDefined();
        const data = mine.data as Float32Array;
        const rel = maxRelError(data, o.data);
        console.log(`${name(c.file)} ${o.name} [${o.shape.join(',')}]: max relative error ${rel.toExponential(2)}, max abs ${maxAbsError(data, o.data).toExponential(2)}`);
        expect(closeTo(data, o.data, 1e-4, 1e-7)).toBe(true);
      }
    } finally {
      await ex.dispose();
    }
  }, 30_000);
});
