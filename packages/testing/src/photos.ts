import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { applyPreprocess, decodeImage, parsePreprocess, type RawImage } from '@nibble/data';

/** The committed photos (fixtures/README.md says where each comes from and under which licence). */
export const FIXTURE_PHOTOS = join(__dirname, '..', 'fixtures');

export type FixturePhoto = 'word-crop.jpg' | 'photo.jpg' | 'chelsea.jpg' | 'coffee.jpg' | 'astronaut.jpg';

export function fixturePhoto(name: FixturePhoto): string {
  return join(FIXTURE_PHOTOS, name);
}

/** A photo file decoded by @nibble/data: HWC bytes. */
export function loadPhoto(path: string): RawImage {
  return decodeImage(new Uint8Array(readFileSync(path)), path);
}

/**
 * A photo file as an NHWC float32 batch of one, through @nibble/data's own
 * decoding and preprocessing: RGB, bilinear resize to size x size (pixel
 * centres aligned), then value * scale + offset.
 */
export function photoNhwc(path: string, size: number, scale = 1 / 255, offset = 0): Float32Array {
  const steps = parsePreprocess(`rgb,resize=${size}x${size},scale=${scale},normalize=${-offset}/1`);
  return applyPreprocess(steps, decodeImage(readFileSync(path), path)).data;
}

/**
 * PaddleOCR's preprocessing, simplified: bilinear resize of an RGB image to
 * h x w (pixel centres aligned), channels in BGR order as PaddleOCR reads
 * images, (x / 255 - 0.5) / 0.5, NCHW with batch 1.
 */
export function ppocrInput(img: RawImage, h: number, w: number): Float32Array {
  const out = new Float32Array(3 * h * w);
  const sy = img.height / h;
  const sx = img.width / w;
  const at = (yy: number, xx: number, c: number): number => img.data[(yy * img.width + xx) * img.channels + c];
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
        const v = (1 - ay) * ((1 - ax) * at(y0, x0, c) + ax * at(y0, x1, c)) + ay * ((1 - ax) * at(y1, x0, c) + ax * at(y1, x1, c));
        // BGR: red goes to plane 2.
        out[(2 - c) * h * w + y * w + x] = (v / 255 - 0.5) / 0.5;
      }
    }
  }
  return out;
}
