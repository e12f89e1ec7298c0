import { readFileSync } from 'node:fs';
import { convertChannels, decodeImage, rawImage, type RawImage, resizeBilinear } from '@nibble/data';
import { Tensor } from '@nibble/ir';

/*
 * The inputs PP-OCR's own inference feeds its models (tools/infer of
 * PaddleOCR, as facts): images in BGR channel order (it reads them with
 * OpenCV), bilinear resizing, CHW float32.
 * - Recognition (PP-OCRv4, rec_image_shape 3,48,320): height 48, width
 *   ceil(48 * w / h) capped at 320, (x / 255 - 0.5) / 0.5, zeros (mid grey
 *   after normalisation) to the right up to width 320.
 * - Detection (DBNet): the longer side limited (PP-OCR's default 960; 640
 *   here, for time), each side then rounded to a multiple of 32 (at least
 *   32), x / 255 normalised by mean (0.485, 0.456, 0.406) and std (0.229,
 *   0.224, 0.225) taken channel by channel in the BGR order, as PP-OCR does.
 */

export const REC_HEIGHT = 48;
export const REC_WIDTH = 320;
export const DET_MAX_SIDE = 640;
const DET_MEAN = [0.485, 0.456, 0.406];
const DET_STD = [0.229, 0.224, 0.225];

/** An image file as 3-channel RGB (grey replicated), 0..255 floats. */
export function readRgb(path: string): RawImage {
  return convertChannels(decodeImage(new Uint8Array(readFileSync(path)), path), 'rgb');
}

/** The window [top, top + height) x [left, left + width), clamped to the image. */
export function cropImage(img: RawImage, top: number, left: number, height: number, width: number): RawImage {
  const t = Math.max(0, top);
  const l = Math.max(0, left);
  const h = Math.min(img.height, top + height) - t;
  const w = Math.min(img.width, left + width) - l;
  if (h <= 0 || w <= 0) throw new Error(`crop ${top},${left} ${height}x${width} is outside a ${img.height}x${img.width} image`);
  const C = img.channels;
  const out = rawImage(h, w, C);
  for (let y = 0; y < h; y++) out.data.set(img.data.subarray(((t + y) * img.width + l) * C, ((t + y) * img.width + l + w) * C), y * w * C);
  return out;
}

/** RGB HWC -> BGR CHW values, each channel mapped by f(value, bgrChannel). */
function toBgrChw(img: RawImage, f: (v: number, c: number) => number, out: Float32Array, rowStride = img.width): void {
  const { height: H, width: W, data } = img;
  const plane = H * rowStride;
  for (let y = 0; y < H; y++) {
    for (let x = 0; x < W; x++) {
      const s = (y * W + x) * 3;
      for (let c = 0; c < 3; c++) out[c * plane + y * rowStride + x] = f(data[s + 2 - c], c);
    }
  }
}

/** Width a crop takes in the recognition input before padding. */
export function recResizedWidth(img: RawImage): number {
  return Math.min(REC_WIDTH, Math.ceil((REC_HEIGHT * img.width) / img.height));
}

/** One recognition sample, [3, 48, 320]. */
export function recInput(img: RawImage): Float32Array {
  const w = recResizedWidth(img);
  const resized = resizeBilinear(img, REC_HEIGHT, w);
  const out = new Float32Array(3 * REC_HEIGHT * REC_WIDTH);
  toBgrChw(resized, (v) => (v / 255 - 0.5) / 0.5, out, REC_WIDTH);
  return out;
}

/** Detection input size for an image: longer side at most DET_MAX_SIDE, both multiples of 32. */
export function detSize(height: number, width: number, maxSide = DET_MAX_SIDE): { height: number; width: number } {
  const ratio = Math.max(height, width) > maxSide ? maxSide / Math.max(height, width) : 1;
  const round32 = (v: number) => Math.max(32, Math.round((v * ratio) / 32) * 32);
  return { height: round32(height), width: round32(width) };
}

/** One detection sample, [3, h, w] with h, w from detSize. */
export function detInput(img: RawImage, maxSide = DET_MAX_SIDE): { data: Float32Array; height: number; width: number } {
  const size = detSize(img.height, img.width, maxSide);
  const resized = resizeBilinear(img, size.height, size.width);
  const data = new Float32Array(3 * size.height * size.width);
  toBgrChw(resized, (v, c) => (v / 255 - DET_MEAN[c]) / DET_STD[c], data);
  return { data, ...size };
}

/** Samples of one shape stacked into a [n, ...shape] float32 tensor. */
export function stack(samples: readonly Float32Array[], shape: readonly number[]): Tensor {
  const per = shape.reduce((a, b) => a * b, 1);
  const out = new Float32Array(samples.length * per);
  samples.forEach((s, i) => {
    if (s.length !== per) throw new Error(`stack: a sample of ${s.length} values, expected ${per}`);
    out.set(s, i * per);
  });
  return new Tensor('float32', [samples.length, ...shape], out);
}
