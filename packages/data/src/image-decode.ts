import { decode as decodeJpeg } from 'jpeg-js';
import { PNG } from 'pngjs';
import { NibbleError } from '@nibble/ir';
import { rawImage, type RawImage } from './raw-image';

const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

/**
 * What a calibration image may be: 64 megapixels (8000 x 8000) and the
 * decoder memory that takes. A damaged header claiming more must be refused
 * from the header, before a decoder allocates for it (a fuzzed JPEG header
 * once took 13 s and 1.6 GB under a 1 GB cap on memory alone).
 */
export const MAX_IMAGE_PIXELS = 64_000_000;
const MAX_JPEG_MEMORY_MB = 512;

function tooLarge(path: string, kind: string, width: number, height: number): NibbleError {
  return new NibbleError('E_FILE_FORMAT', `${path}: the ${kind} header claims ${width} x ${height} pixels, more than the ${MAX_IMAGE_PIXELS / 1e6} megapixels nibble decodes`, {
    file: path, hint: 'the file is damaged, or far larger than a calibration image needs: resize it first',
  });
}

/**
 * Decodes a PNG or JPEG (recognised by content) into a RawImage with 1 channel
 * for grayscale files and 3 (RGB) otherwise. Alpha is dropped, not composited:
 * calibration images are photographs; a transparent one should be flattened first.
 */
export function decodeImage(bytes: Uint8Array, path: string): RawImage {
  if (PNG_SIGNATURE.every((b, i) => bytes[i] === b)) return decodePng(bytes, path);
  if (bytes[0] === 0xff && bytes[1] === 0xd8) return decodeJpg(bytes, path);
  throw new NibbleError('E_FILE_FORMAT', `${path}: not a PNG or JPEG image`, {
    file: path, hint: 'convert it to PNG or JPEG, or remove it from the folder',
  });
}

function decodePng(bytes: Uint8Array, path: string): RawImage {
  // IHDR is the first chunk: width and height, big-endian, at bytes 16 and 20.
  if (bytes.length >= 24) {
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const width = view.getUint32(16);
    const height = view.getUint32(20);
    if (width * height > MAX_IMAGE_PIXELS) throw tooLarge(path, 'PNG', width, height);
  }
  let png: { width: number; height: number; data: Uint8Array; colorType?: number };
  try {
    png = PNG.sync.read(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
  } catch (e) {
    throw undecodable(path, 'PNG', e);
  }
  const gray = png.colorType === 0 || png.colorType === 4;
  return fromRgba(png.data, png.height, png.width, gray ? 1 : 3);
}

function decodeJpg(bytes: Uint8Array, path: string): RawImage {
  let img: { width: number; height: number; data: Uint8Array };
  try {
    img = decodeJpeg(bytes, { useTArray: true, formatAsRGBA: false, maxMemoryUsageInMB: MAX_JPEG_MEMORY_MB, maxResolutionInMP: MAX_IMAGE_PIXELS / 1e6 });
  } catch (e) {
    throw undecodable(path, 'JPEG', e);
  }
  const { width, height, data } = img;
  if (jpegComponents(bytes) === 1) {
    const out = rawImage(height, width, 1);
    for (let i = 0, n = width * height; i < n; i++) out.data[i] = data[3 * i];
    return out;
  }
  return { height, width, channels: 3, data: Float32Array.from(data.subarray(0, width * height * 3)) };
}

function fromRgba(rgba: Uint8Array, height: number, width: number, channels: 1 | 3): RawImage {
  const out = rawImage(height, width, channels);
  const d = out.data;
  const n = width * height;
  if (channels === 1) {
    for (let i = 0; i < n; i++) d[i] = rgba[4 * i];
  } else {
    for (let i = 0; i < n; i++) {
      d[3 * i] = rgba[4 * i];
      d[3 * i + 1] = rgba[4 * i + 1];
      d[3 * i + 2] = rgba[4 * i + 2];
    }
  }
  return out;
}

/** Number of colour components in a JPEG's start-of-frame segment (0 if not found). */
function jpegComponents(b: Uint8Array): number {
  let i = 2;
  while (i + 9 < b.length) {
    if (b[i] !== 0xff) return 0;
    const marker = b[i + 1];
    const length = (b[i + 2] << 8) | b[i + 3];
    // SOF0..SOF15 except DHT (c4), JPG (c8) and DAC (cc).
    if (marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc) return b[i + 9];
    i += 2 + length;
  }
  return 0;
}

function undecodable(path: string, kind: string, e: unknown): NibbleError {
  return new NibbleError('E_FILE_FORMAT', `${path}: the ${kind} image does not decode (${(e as Error).message ?? e})`, {
    file: path, cause: e, hint: 'the file is damaged or truncated; replace or remove it',
  });
}
