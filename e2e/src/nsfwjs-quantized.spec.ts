import { Tensor } from '@nibble/ir';
import { fixturePhoto, type FixturePhoto, measureBatchInvariance, nhwcToNchw, photoNhwc } from '@nibble/testing';
import { readTfjsModel } from '@nibble/tfjs';
import { quantize } from 'nibble';
import { nsfwjsSource } from './testing/nsfwjs';

/*
 * nsfwjs MobileNetV2 (a pretrained model nobody here trained, imported from
 * TF.js) through the paper's W4A4 recipe: every BatchNorm folded, no
 * warning, and the quantized file gives the same bits for a photo alone or
 * in a batch (the property a runtime that reads out of bounds breaks).
 */

const PHOTOS: FixturePhoto[] = ['chelsea.jpg', 'coffee.jpg', 'astronaut.jpg', 'photo.jpg'];

describe('nsfwjs MobileNetV2 quantized with w4a4-all', () => {
  it('folds every BatchNorm and gives the same bits at batch 1, 3 and 4', async () => {
    const model = await readTfjsModel(nsfwjsSource('mobilenet_v2'));
    const input = model.graph.inputs[0];
    const shape = input.type!.shape!.slice(1) as number[];
    // The importer gives the model NCHW inputs; nsfwjs feeds images in [0, 1] (pixels / 255).
    expect(shape).toEqual([3, 224, 224]);
    const pixels = PHOTOS.map((p) => nhwcToNchw(photoNhwc(fixturePhoto(p), 224), [1, 224, 224, 3]));
    const data = new Float32Array(pixels.length * pixels[0].length);
    pixels.forEach((p, i) => data.set(p, i * p.length));
    const x = new Tensor('float32', [PHOTOS.length, ...shape], data);
    const { model: q, report } = await quantize(model, {
      recipe: 'w4a4-all',
      data: { samples: PHOTOS.length, description: 'fixture photos', async *batches() { yield { [input.name]: x }; } },
    });
    expect(q.graph.nodes.filter((n) => n.opType === 'BatchNormalization')).toHaveLength(0);
    expect(report.warnings).toEqual([]);
    const invariance = await measureBatchInvariance(q, x, { batchSizes: [3] });
    expect(invariance.differing).toEqual({ 1: 0, 3: 0 });
  }, 300_000);
});
