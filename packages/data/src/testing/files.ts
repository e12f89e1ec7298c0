/** Test support for this package's specs (not exported): temporary folders and small image files. */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'fs';
import { encode as encodeJpeg } from 'jpeg-js';
import { tmpdir } from 'os';
import { dirname, join } from 'path';
import { PNG } from 'pngjs';

export function tempDir(prefix: string): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), `nibble-${prefix}-`));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

export function write(path: string, bytes: Uint8Array | string): string {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, bytes);
  return path;
}

/** An RGB PNG whose pixel (y, x) is (r0 + x, g0 + y, b). */
export function rgbPng(width: number, height: number, r0: number, g0: number, b: number): Uint8Array {
  const png = new PNG({ width, height });
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const i = 4 * (y * width + x);
      png.data[i] = r0 + x;
      png.data[i + 1] = g0 + y;
      png.data[i + 2] = b;
      png.data[i + 3] = 255;
    }
  }
  return PNG.sync.write(png);
}

/** A grayscale PNG (colour type 0) with pixel (y, x) = v0 + y * width + x. */
export function grayPng(width: number, height: number, v0: number): Uint8Array {
  const png = new PNG({ width, height, colorType: 0, inputColorType: 0, inputHasAlpha: false });
  const data = Buffer.alloc(width * height);
  for (let i = 0; i < width * height; i++) data[i] = v0 + i;
  png.data = data;
  return PNG.sync.write(png, { colorType: 0, inputColorType: 0, inputHasAlpha: false });
}

/** A flat-colour RGB JPEG (flat, so lossy coding keeps the value within a few levels). */
export function flatJpeg(width: number, height: number, rgb: [number, number, number]): Uint8Array {
  const data = Buffer.alloc(width * height * 4);
  for (let i = 0; i < width * height; i++) data.set([...rgb, 255], 4 * i);
  return encodeJpeg({ width, height, data }, 95).data;
}
