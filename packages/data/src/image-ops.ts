import { rawImage, type RawImage } from './raw-image';

/**
 * Bilinear resize with half-pixel centres and edge clamping, no antialiasing:
 * source coordinate s = (d + 0.5) * in / out - 0.5. This is the convention of
 * OpenCV's INTER_LINEAR, PyTorch's interpolate(align_corners=False) and ONNX
 * Resize (linear, half_pixel), so preprocessing matches what models were
 * trained with.
 */
export function resizeBilinear(img: RawImage, height: number, width: number): RawImage {
  if (img.height === height && img.width === width) return img;
  const { channels: C, data: src } = img;
  const out = rawImage(height, width, C);
  const dst = out.data;
  const xs = axisWeights(img.width, width);
  const ys = axisWeights(img.height, height);
  const rowStride = img.width * C;
  for (let y = 0; y < height; y++) {
    const r0 = ys.i0[y] * rowStride;
    const r1 = ys.i1[y] * rowStride;
    const fy = ys.f[y];
    for (let x = 0; x < width; x++) {
      const c0 = xs.i0[x] * C;
      const c1 = xs.i1[x] * C;
      const fx = xs.f[x];
      const o = (y * width + x) * C;
      for (let c = 0; c < C; c++) {
        const top = src[r0 + c0 + c] + (src[r0 + c1 + c] - src[r0 + c0 + c]) * fx;
        const bottom = src[r1 + c0 + c] + (src[r1 + c1 + c] - src[r1 + c0 + c]) * fx;
        dst[o + c] = top + (bottom - top) * fy;
      }
    }
  }
  return out;
}

function axisWeights(inSize: number, outSize: number): { i0: Int32Array; i1: Int32Array; f: Float64Array } {
  const i0 = new Int32Array(outSize);
  const i1 = new Int32Array(outSize);
  const f = new Float64Array(outSize);
  const scale = inSize / outSize;
  for (let d = 0; d < outSize; d++) {
    const s = Math.min(Math.max((d + 0.5) * scale - 0.5, 0), inSize - 1);
    const lo = Math.floor(s);
    i0[d] = lo;
    i1[d] = Math.min(lo + 1, inSize - 1);
    f[d] = s - lo;
  }
  return { i0, i1, f };
}

/** Output size when the shorter side becomes `size` and the longer keeps the aspect (truncated, as torchvision does). */
export function shorterSideSize(height: number, width: number, size: number): [number, number] {
  if (height <= width) return [size, Math.max(1, Math.floor((size * width) / height))];
  return [Math.max(1, Math.floor((size * height) / width)), size];
}

/**
 * The centred height x width window. The top-left corner is round((H - h) / 2)
 * with halves rounded to even, as torchvision's center_crop does. The caller
 * checks that the window fits.
 */
export function centerCrop(img: RawImage, height: number, width: number): RawImage {
  if (img.height === height && img.width === width) return img;
  const top = roundHalfEven((img.height - height) / 2);
  const left = roundHalfEven((img.width - width) / 2);
  const C = img.channels;
  const out = rawImage(height, width, C);
  for (let y = 0; y < height; y++) {
    const from = ((top + y) * img.width + left) * C;
    out.data.set(img.data.subarray(from, from + width * C), y * width * C);
  }
  return out;
}

function roundHalfEven(v: number): number {
  const f = Math.floor(v);
  const d = v - f;
  if (d > 0.5) return f + 1;
  if (d < 0.5) return f;
  return f % 2 === 0 ? f : f + 1;
}

/** ITU-R BT.601 luma weights, the conversion PIL's convert('L') and OpenCV's RGB2GRAY use. */
const LUMA = [0.299, 0.587, 0.114];

/** Channel order conversion; 1-channel sources are replicated for rgb/bgr, 3-channel ones reduced for gray. */
export function convertChannels(img: RawImage, order: 'rgb' | 'bgr' | 'gray'): RawImage {
  const n = img.height * img.width;
  const C = img.channels;
  const src = img.data;
  if (order === 'gray') {
    if (C === 1) return img;
    const out = rawImage(img.height, img.width, 1);
    for (let i = 0; i < n; i++) out.data[i] = LUMA[0] * src[i * C] + LUMA[1] * src[i * C + 1] + LUMA[2] * src[i * C + 2];
    return out;
  }
  const out = rawImage(img.height, img.width, 3);
  const d = out.data;
  if (C === 1) {
    for (let i = 0; i < n; i++) d[3 * i] = d[3 * i + 1] = d[3 * i + 2] = src[i];
    return out;
  }
  // Sources with 3 or more channels are RGB(A) by convention; extra channels are dropped.
  const [r, b] = order === 'rgb' ? [0, 2] : [2, 0];
  for (let i = 0; i < n; i++) {
    d[3 * i] = src[i * C + r];
    d[3 * i + 1] = src[i * C + 1];
    d[3 * i + 2] = src[i * C + b];
  }
  return out;
}
