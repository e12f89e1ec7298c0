import { encode as encodeJpeg } from 'jpeg-js';
import { decodeImage, type RawImage } from '@nibble/data';

/*
 * The few image operations make-photos.ts needs beyond @nibble/data: a
 * square crop and an area-average (box filter) downscale. Bilinear resizing
 * without antialiasing (what @nibble/data's resize does, as the models'
 * own preprocessing does) would alias badly when a 1000-pixel photo shrinks
 * to 224; averaging every source pixel a target pixel covers does not.
 * Everything is float64 arithmetic in a fixed order, so the bytes are the
 * same on every machine.
 */

/** Per target index, the source indices it covers and their weights (fractions of a source pixel, summing to in/out). */
interface AxisCover {
  start: Int32Array;
  weights: Float64Array[];
}

function axisCover(inSize: number, outSize: number): AxisCover {
  const scale = inSize / outSize;
  const start = new Int32Array(outSize);
  const weights: Float64Array[] = [];
  for (let d = 0; d < outSize; d++) {
    const lo = d * scale;
    const hi = (d + 1) * scale;
    const first = Math.floor(lo);
    const last = Math.min(Math.ceil(hi), inSize) - 1;
    const w = new Float64Array(last - first + 1);
    for (let s = first; s <= last; s++) w[s - first] = Math.min(hi, s + 1) - Math.max(lo, s);
    start[d] = first;
    weights.push(w);
  }
  return { start, weights };
}

/** Area-average downscale of an HWC image to height x width (each no larger than the source's). */
export function areaResize(img: RawImage, height: number, width: number): RawImage {
  if (height > img.height || width > img.width) throw new Error(`areaResize only shrinks: ${img.height}x${img.width} -> ${height}x${width}`);
  const C = img.channels;
  const ys = axisCover(img.height, height);
  const xs = axisCover(img.width, width);
  // Rows first (into float64), then columns: separable, so each source pixel is read once per pass.
  const rows = new Float64Array(height * img.width * C);
  for (let y = 0; y < height; y++) {
    const w = ys.weights[y];
    for (let k = 0; k < w.length; k++) {
      const src = (ys.start[y] + k) * img.width * C;
      const dst = y * img.width * C;
      for (let i = 0; i < img.width * C; i++) rows[dst + i] += w[k] * img.data[src + i];
    }
  }
  const area = (img.height / height) * (img.width / width);
  const out = new Float32Array(height * width * C);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const w = xs.weights[x];
      for (let c = 0; c < C; c++) {
        let s = 0;
        for (let k = 0; k < w.length; k++) s += w[k] * rows[(y * img.width + xs.start[x] + k) * C + c];
        out[(y * width + x) * C + c] = s / area;
      }
    }
  }
  return { height, width, channels: C, data: out };
}

/** The centred square of side min(height, width); the offset is floored, so odd margins leave the extra pixel at the end. */
export function centerSquare(img: RawImage): RawImage {
  const side = Math.min(img.height, img.width);
  const top = Math.floor((img.height - side) / 2);
  const left = Math.floor((img.width - side) / 2);
  const C = img.channels;
  const data = new Float32Array(side * side * C);
  for (let y = 0; y < side; y++) {
    const from = ((top + y) * img.width + left) * C;
    data.set(img.data.subarray(from, from + side * C), y * side * C);
  }
  return { height: side, width: side, channels: C, data };
}

/** Grey images become RGB by replication (nsfwjs takes three channels). */
export function toRgb(img: RawImage): RawImage {
  if (img.channels === 3) return img;
  const n = img.height * img.width;
  const data = new Float32Array(n * 3);
  for (let i = 0; i < n; i++) data[3 * i] = data[3 * i + 1] = data[3 * i + 2] = img.data[i];
  return { ...img, channels: 3, data };
}

/** RGB HWC floats -> baseline JPEG bytes (jpeg-js's encoder: deterministic, no metadata). */
export function encodeRgbJpeg(img: RawImage, quality: number): Uint8Array {
  const n = img.height * img.width;
  const rgba = Buffer.alloc(n * 4);
  for (let i = 0; i < n; i++) {
    for (let c = 0; c < 3; c++) rgba[4 * i + c] = Math.min(255, Math.max(0, Math.round(img.data[3 * i + c])));
    rgba[4 * i + 3] = 255;
  }
  const { data } = encodeJpeg({ data: rgba, width: img.width, height: img.height }, quality);
  return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
}

/** A photo file -> the centred square, area-averaged to size x size, RGB. */
export function squarePhoto(bytes: Uint8Array, path: string, size: number): RawImage {
  const square = centerSquare(toRgb(decodeImage(bytes, path)));
  if (square.height < size) throw new Error(`${path}: ${square.height} pixels square, smaller than ${size}`);
  return areaResize(square, size, size);
}
