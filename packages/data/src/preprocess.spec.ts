import {
  PREPROCESS_PRESETS, applyPreprocess, datasetFromArrays, parsePreprocess, rawImage, resizeBilinear, type RawImage,
} from './index';
import { centerCrop, shorterSideSize } from './image-ops';
import { printPreprocess } from './preprocess';

const img = (h: number, w: number, c: number, values: number[]): RawImage => rawImage(h, w, c, Float32Array.from(values));

describe('image operations', () => {
  it('resizes bilinearly with half-pixel centres (the PyTorch align_corners=False values)', () => {
    const up = resizeBilinear(img(2, 2, 1, [1, 2, 3, 4]), 4, 4);
    expect(Array.from(up.data)).toEqual([
      1, 1.25, 1.75, 2,
      1.5, 1.75, 2.25, 2.5,
      2.5, 2.75, 3.25, 3.5,
      3, 3.25, 3.75, 4,
    ]);
    // Halving averages pixel pairs (source coordinates 0.5 and 2.5).
    const down = resizeBilinear(img(1, 4, 1, [0, 10, 20, 40]), 1, 2);
    expect(Array.from(down.data)).toEqual([5, 30]);
    // Channels are interpolated independently.
    const rgb = resizeBilinear(img(1, 2, 2, [0, 100, 10, 200]), 1, 4);
    expect(Array.from(rgb.data)).toEqual([0, 100, 2.5, 125, 7.5, 175, 10, 200]);
    // A linear ramp stays a ramp inside the image.
    const ramp = resizeBilinear(img(1, 8, 1, [0, 1, 2, 3, 4, 5, 6, 7]), 1, 16);
    for (let x = 2; x < 14; x++) expect(ramp.data[x]).toBeCloseTo((x + 0.5) / 2 - 0.5, 6);
  });

  it('sizes the shorter side as torchvision does and crops centred, halves to even', () => {
    expect(shorterSideSize(480, 640, 256)).toEqual([256, 341]);
    expect(shorterSideSize(500, 375, 256)).toEqual([341, 256]);
    const five = img(1, 5, 1, [0, 1, 2, 3, 4]);
    expect(Array.from(centerCrop(five, 1, 2).data)).toEqual([2, 3]); // round(1.5) = 2
    expect(Array.from(centerCrop(img(1, 4, 1, [0, 1, 2, 3]), 1, 3).data)).toEqual([0, 1, 2]); // round(0.5) = 0
    expect(Array.from(centerCrop(five, 1, 3).data)).toEqual([1, 2, 3]);
  });

  it('scales and normalises per channel without touching the source', () => {
    const src = img(1, 2, 3, [255, 0, 51, 0, 255, 102]);
    const out = applyPreprocess(parsePreprocess('scale=1/255,normalize=0.5:0:0.2/0.5:1:0.1'), src);
    const want = [1, 0, 0.2, 0, 1, 0.4].map((v, i) => (v - [0.5, 0, 0.2][i % 3]) / [0.5, 1, 0.1][i % 3]);
    Array.from(out.data).forEach((v, i) => expect(v).toBeCloseTo(want[i], 6));
    expect(src.data[0]).toBe(255);
  });
});

describe('preprocessing text', () => {
  it('round-trips: print(parse(text)) is canonical and parses back to the same steps', () => {
    for (const text of [
      'rgb,resize=256,center-crop=224x224,scale=0.00392156862745098,normalize=0.485:0.456:0.406/0.229:0.224:0.225,nchw',
      'gray,resize=32x28,nhwc',
      'bgr,scale=2,normalize=0.5/0.25',
    ]) {
      const steps = parsePreprocess(text);
      expect(printPreprocess(steps)).toBe(text);
      expect(parsePreprocess(printPreprocess(steps))).toEqual(steps);
    }
    for (const [name, steps] of Object.entries(PREPROCESS_PRESETS)) {
      expect(parsePreprocess(name)).toEqual(steps);
      expect(parsePreprocess(printPreprocess(steps))).toEqual(steps);
    }
    expect(parsePreprocess('center-crop=224')).toEqual([{ op: 'center-crop', height: 224, width: 224 }]);
    expect(parsePreprocess('mnist,nhwc').map((s) => s.op)).toEqual(['channels', 'scale', 'layout']);
  });

  it.each([['resize=0'], ['resize=3x'], ['scale=abc'], ['scale=1/0'], ['normalize=1:2'], ['normalize=0/0'], ['sharpen'], ['flip=1']])(
    'rejects %s with a typed error', (text) => {
      expect(() => parsePreprocess(text)).toThrow(expect.objectContaining({ code: 'E_BAD_OPTION', place: { option: 'preprocess' } }));
    },
  );
});

describe('preprocessed datasets', () => {
  const data = Uint8Array.from({ length: 2 * 4 * 4 * 3 }, (_, i) => i);
  const base = { data, shape: [2, 4, 4, 3], file: 'mem' };

  it('applies steps in order and writes NCHW or NHWC', async () => {
    const nchw = datasetFromArrays(base, { preprocess: 'center-crop=2,scale=0.5' });
    expect(nchw.sampleShape).toEqual([3, 2, 2]);
    const a = (await nchw.batch([1])).inputs.data as Float32Array;
    // Sample 1, crop rows/cols 1..2, channel 2, pixel (0, 1) -> source (1, 2).
    expect(a[2 * 4 + 1]).toBe(data[48 + (1 * 4 + 2) * 3 + 2] * 0.5);
    const nhwc = datasetFromArrays(base, { preprocess: 'center-crop=2,scale=0.5,nhwc' });
    expect(nhwc.sampleShape).toEqual([2, 2, 3]);
    const b = (await nhwc.batch([1])).inputs.data as Float32Array;
    expect(b[(0 * 2 + 1) * 3 + 2]).toBe(a[2 * 4 + 1]);
  });

  it('rejects steps that cannot apply, naming the sample', () => {
    expect(() => datasetFromArrays(base, { preprocess: 'center-crop=5' })).toThrow(expect.objectContaining({ code: 'E_SHAPE', place: expect.objectContaining({ file: 'mem (sample 0)' }) }));
    expect(() => datasetFromArrays(base, { preprocess: 'normalize=1:2/1:2' })).toThrow(expect.objectContaining({ code: 'E_BAD_OPTION' }));
  });
});
