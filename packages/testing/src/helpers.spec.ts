import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PNG } from 'pngjs';
import { closeTo, maxAbsError, maxRelError, nhwcToNchw, photoNhwc, randomFloats } from './index';

describe('array comparison', () => {
  it('measures the error against the reference scale', () => {
    expect(maxRelError([1, 2.5, -4], [1, 2, -4])).toBeCloseTo(0.125, 12);
    expect(maxRelError([0, 1e-9], [0, 0])).toBe(1e-9);
    expect(maxRelError([NaN], [1])).toBe(Infinity);
    expect(maxAbsError([1, 2.5], [1, 2])).toBe(0.5);
    expect(closeTo([1e-8], [0])).toBe(true);
    expect(closeTo([1.001], [1])).toBe(false);
    expect(() => maxRelError([1], [1, 2])).toThrow(/length/);
  });

  it('moves channels first', () => {
    // [1, 2, 2, 3]: element (y, x, c) holds 100 y + 10 x + c.
    const nhwc = Float32Array.from([0, 1, 2, 10, 11, 12, 100, 101, 102, 110, 111, 112]);
    expect(Array.from(nhwcToNchw(nhwc, [1, 2, 2, 3]))).toEqual([0, 10, 100, 110, 1, 11, 101, 111, 2, 12, 102, 112]);
  });
});

describe('randomFloats', () => {
  it('is fixed by the seed and stays in [lo, hi)', () => {
    const a = randomFloats(1000, 3, -2, 5);
    expect(Array.from(randomFloats(1000, 3, -2, 5))).toEqual(Array.from(a));
    expect(Array.from(randomFloats(1000, 4, -2, 5))).not.toEqual(Array.from(a));
    expect(a.every((v) => v >= -2 && v < 5)).toBe(true);
  });
});

describe('photoNhwc', () => {
  it('decodes, resizes and scales a photo to an NHWC batch of one', () => {
    const dir = mkdtempSync(join(tmpdir(), 'nibble-testing-'));
    try {
      // A 4x4 image, each 2x2 quadrant one colour: a 2x2 resize samples the quadrants' centres.
      const png = new PNG({ width: 4, height: 4 });
      const colours = [[10, 20, 30], [40, 50, 60], [70, 80, 90], [100, 110, 120]];
      for (let y = 0; y < 4; y++) {
        for (let x = 0; x < 4; x++) {
          const c = colours[(y >> 1) * 2 + (x >> 1)];
          png.data.set([...c, 255], (y * 4 + x) * 4);
        }
      }
      const file = join(dir, 'quadrants.png');
      writeFileSync(file, PNG.sync.write(png));
      const x = photoNhwc(file, 2, 0.5, -1);
      expect(Array.from(x)).toEqual(colours.flat().map((v) => v * 0.5 - 1));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
