import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as jpeg from 'jpeg-js';

/** The committed image fixtures (see fixtures/README.md). */
export const FIXTURES = join(__dirname, '..', '..', 'fixtures');
export const WORD_CROP = join(FIXTURES, 'word-crop.jpg');
export const PHOTO = join(FIXTURES, 'photo.jpg');

export interface RgbImage {
  width: number;
  height: number;
  /** RGBA bytes, row-major. */
  data: Uint8Array;
}

export function loadJpeg(path: string): RgbImage {
  const img = jpeg.decode(readFileSync(path), { useTArray: true });
  return { width: img.width, height: img.height, data: img.data };
}

/**
 * PP-OCR's preprocessing, simplified: bilinear resize to h x w (pixel
 * centres aligned), channels in BGR order as PaddleOCR reads images,
 * (x / 255 - 0.5) / 0.5, NCHW with batch 1.
 */
export function ppocrInput(img: RgbImage, h: number, w: number): Float32Array {
  const out = new Float32Array(3 * h * w);
  const sy = img.height / h;
  const sx = img.width / w;
  for (let y = 0; y < h; y++) {
    const fy = Math.min(Math.max((y + 0.5) * sy - 0.5, 0), img.height - 1);
    const y0 = Math.floor(fy);
    const y1 = Math.min(y0 + 1, img.height - 1);
    const ay = fy - y0;
    for (let x = 0; x < w; x++) {
      const fx = Math.min(Math.max((x + 0.5) * sx - 0.5, 0), img.width - 1);
      const x0 = Math.floor(fx);
      const x1 = Math.min(x0 + 1, img.width - 1);
      const ax = fx - x0;
      for (let c = 0; c < 3; c++) {
        const at = (yy: number, xx: number): number => img.data[(yy * img.width + xx) * 4 + c];
        const v = (1 - ay) * ((1 - ax) * at(y0, x0) + ax * at(y0, x1)) + ay * ((1 - ax) * at(y1, x0) + ax * at(y1, x1));
        // BGR: red goes to plane 2.
        out[(2 - c) * h * w + y * w + x] = (v / 255 - 0.5) / 0.5;
      }
    }
  }
  return out;
}
