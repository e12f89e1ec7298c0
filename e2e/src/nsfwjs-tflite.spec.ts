import { Tensor } from '@nibble/ir';
import { lowerToQdq } from '@nibble/onnx';
import { createOrtExecutor } from '@nibble/runtime';
import { describeWithTfliteRef, fixturePhoto, type FixturePhoto, nhwcToNchw, photoNhwc, runTfliteRef } from '@nibble/testing';
import { readTfjsModel } from '@nibble/tfjs';
import { writeTflite } from '@nibble/tflite';
import { quantize, sqnrDb } from 'nibble';
import { nsfwjsSource } from './testing/nsfwjs';

/*
 * nsfwjs MobileNetV2 (imported from TF.js: a zero Pad on the float input,
 * depthwise convs behind int8 PADs, a 7x7 AveragePool, three dense layers,
 * Softmax) through --target tflite at W8A8, run by TFLite 2.9 and compared
 * with the simulation of the same constrained scheme on four photos, and the
 * paper's W4A8 and W4A4 the same way (docs/targets.md gives the figures).
 */

const PHOTOS: FixturePhoto[] = ['chelsea.jpg', 'coffee.jpg', 'astronaut.jpg', 'photo.jpg'];
const W8A8 = 'fold-bn,fold-constants,eliminate-dead-code,mark-fused-relu,quant-policy{w-bits=8,a-bits=8},clip-minmax,quantize';

// W4A4 reached 5.9 dB before the writer and the simulation accounted for TFLite's upward double rounding.
const CASES: { name: string; choice: { pipeline: string } | { recipe: string }; minDb: number }[] = [
  { name: 'W8A8', choice: { pipeline: W8A8 }, minDb: 35 },
  // 34.1 dB before tflite-bias modelled DEPTHWISE_CONV_2D / ADD / MUL's requantization rounding symmetric about zero.
  { name: 'the paper\'s W4A8 (w4a8-baseline)', choice: { recipe: 'w4a8-baseline' }, minDb: 35 },
  { name: 'the paper\'s W4A4 (w4a4-all)', choice: { recipe: 'w4a4-all' }, minDb: 60 },
];

describeWithTfliteRef('nsfwjs MobileNetV2 as a full-integer TFLite file', () => {
  it.each(CASES)('TFLite 2.9 gives the simulation\'s probabilities within $minDb dB SQNR ($name)', async ({ choice, minDb }) => {
    const model = await readTfjsModel(nsfwjsSource('mobilenet_v2'));
    const input = model.graph.inputs[0];
    const nhwc = PHOTOS.map((p) => photoNhwc(fixturePhoto(p), 224));
    const x = new Tensor('float32', [PHOTOS.length, 3, 224, 224], Float32Array.from(nhwc.flatMap((p) => Array.from(nhwcToNchw(p, [1, 224, 224, 3])))));
    const q = await quantize(model, {
      ...choice, target: 'tflite',
      data: { samples: PHOTOS.length, description: 'fixture photos', async *batches() { yield { [input.name]: x }; } },
    });
    const ex = await createOrtExecutor(lowerToQdq(q.model), { exactQdq: true });
    const sim = (await ex.run({ [input.name]: x }))[ex.outputNames[0]].toFloat64();
    await ex.dispose();
    const [r] = runTfliteRef([{ model: writeTflite(q.model, { batch: PHOTOS.length }), inputs: [{ shape: [PHOTOS.length, 224, 224, 3], data: Float32Array.from(nhwc.flatMap((p) => Array.from(p))) }] }]);
    if (typeof r === 'string') throw new Error(r);
    expect(r[0].shape).toEqual([PHOTOS.length, 5]);
    expect(sqnrDb(sim, r[0].data)).toBeGreaterThanOrEqual(minDb);
  }, 600_000);
});
