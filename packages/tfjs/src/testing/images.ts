import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as jpeg from 'jpeg-js';

/** The committed image fixtures (see fixtures/README.md). */
export const FIXTURES = join(__dirname, '..', '..', 'fixtures');

/**
 * A fixture photo as an NHWC float32 batch of one: bilinear resize to
 * size x size (pixel centres aligned), then value * scale + offset per channel.
 */
export function photoNhwc(file: string, size: number, scale = 1 / 255, offset = 0): Float32Array {
  const img = jpeg.decode(readFileSync(join(FIXTURES, file)), { useTArray: true });
  const out = new Float32Array(size * size * 3);
  const sy = img.height / size;
  const sx = img.width / size;
  const px = (y: number, x: number, c: number): number => img.data[(y * img.width + x) * 4 + c];
  for (let y = 0; y < size; y++) {
    const fy = Math.max(0, (y + 0.5) * sy - 0.5);
    const y0 = Math.floor(fy);
    const y1 = Math.min(y0 + 1, img.height - 1);
    const wy = fy - y0;
    for (let x = 0; x < size; x++) {
      const fx = Math.max(0, (x + 0.5) * sx - 0.5);
      const x0 = Math.floor(fx);
      const x1 = Math.min(x0 + 1, img.width - 1);
      const wx = fx - x0;
      for (let c = 0; c < 3; c++) {
        const v = (1 - wy) * ((1 - wx) * px(y0, x0, c) + wx * px(y0, x1, c)) + wy * ((1 - wx) * px(y1, x0, c) + wx * px(y1, x1, c));
        out[(y * size + x) * 3 + c] = v * scale + offset;
      }
    }
  }
  return out;
}
