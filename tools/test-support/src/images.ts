import { readFileSync } from 'node:fs';
import { applyPreprocess, decodeImage, parsePreprocess } from '@nibble/data';

/**
 * A photo file as an NHWC float32 batch of one, through @nibble/data's own
 * decoding and preprocessing: RGB, bilinear resize to size x size (pixel
 * centres aligned), then value * scale + offset.
 */
export function photoNhwc(path: string, size: number, scale = 1 / 255, offset = 0): Float32Array {
  const steps = parsePreprocess(`rgb,resize=${size}x${size},scale=${scale},normalize=${-offset}/1`);
  return applyPreprocess(steps, decodeImage(readFileSync(path), path)).data;
}
