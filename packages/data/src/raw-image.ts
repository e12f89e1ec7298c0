/**
 * One sample between decoding and the batch: float32 values, interleaved
 * channels (HWC), in the source's value range (0..255 for 8-bit images).
 * Preprocessing steps map RawImage to RawImage; the batch writer applies the
 * final layout.
 */
export interface RawImage {
  readonly height: number;
  readonly width: number;
  readonly channels: number;
  readonly data: Float32Array;
}

export function rawImage(height: number, width: number, channels: number, data?: Float32Array): RawImage {
  return { height, width, channels, data: data ?? new Float32Array(height * width * channels) };
}
