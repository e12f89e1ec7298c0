import type { RawImage } from '@nibble/data';
import { areaResize, centerSquare, toRgb } from './photo-ops';
import { PHOTO_SOURCES, photoName } from './photo-sources';

const image = (height: number, width: number, channels: number, f: (y: number, x: number, c: number) => number): RawImage => {
  const data = new Float32Array(height * width * channels);
  for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) for (let c = 0; c < channels; c++) data[(y * width + x) * channels + c] = f(y, x, c);
  return { height, width, channels, data };
};

describe('photo operations', () => {
  it('area resize by an integer factor averages each block', () => {
    const img = image(4, 4, 1, (y, x) => 4 * y + x);
    const out = areaResize(img, 2, 2);
    // Blocks {0,1,4,5}, {2,3,6,7}, {8,9,12,13}, {10,11,14,15}.
    expect(Array.from(out.data)).toEqual([2.5, 4.5, 10.5, 12.5]);
  });

  it('area resize by a fractional factor weighs partly covered pixels by their covered share', () => {
    // 3 -> 2 along x: target 0 covers source [0, 1.5): 1 * a + 0.5 * b over 1.5.
    const img = image(1, 3, 1, (_y, x) => [10, 20, 40][x]);
    const out = areaResize(img, 1, 2);
    expect(out.data[0]).toBeCloseTo((10 + 0.5 * 20) / 1.5, 5);
    expect(out.data[1]).toBeCloseTo((0.5 * 20 + 40) / 1.5, 5);
  });

  it('area resize keeps the mean of every channel and refuses to enlarge', () => {
    const img = image(7, 5, 3, (y, x, c) => (y * 13 + x * 7 + c * 29) % 17);
    const out = areaResize(img, 3, 2);
    for (let c = 0; c < 3; c++) {
      const mean = (d: Float32Array, n: number) => { let s = 0; for (let i = c; i < d.length; i += 3) s += d[i]; return s / n; };
      expect(mean(out.data, 6)).toBeCloseTo(mean(img.data, 35), 4);
    }
    expect(() => areaResize(img, 8, 5)).toThrow(/only shrinks/);
  });

  it('takes the centred square and replicates grey to RGB', () => {
    const wide = image(2, 5, 1, (y, x) => 10 * y + x);
    const sq = centerSquare(wide);
    expect([sq.height, sq.width]).toEqual([2, 2]);
    // Margin (5 - 2) / 2 floored: columns 1 and 2.
    expect(Array.from(sq.data)).toEqual([1, 2, 11, 12]);
    expect(Array.from(toRgb(sq).data.subarray(0, 6))).toEqual([1, 1, 1, 2, 2, 2]);
  });

  it('names every photo source uniquely, with a 16-digit hash', () => {
    const names = PHOTO_SOURCES.map(photoName);
    expect(new Set(names).size).toBe(names.length);
    expect(names).toContain('opencv-hfs-000.jpg');
    expect(PHOTO_SOURCES.every((s) => /^[0-9a-f]{16}$/.test(s.sha256))).toBe(true);
  });
});
