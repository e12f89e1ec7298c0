import { datasetFromArrays, type Dataset, type Model, MODEL_PREPROCESS_KEY, NibbleError } from 'nibble';

/*
 * The page's data: images in memory (no files in a browser), opened as a
 * nibble Dataset with the model's own preprocessing (its nibble.preprocess
 * metadata), exactly as `quantize --data fashion-mnist:calib` would feed it.
 * Shared with the e2e test, which builds the Node reference from the same
 * function and the same bytes.
 */

/** Images as bytes, row-major [count, height, width] (gray) or [count, height, width, 3] (RGB), with their labels (-1: none). */
export interface ImageSlice {
  count: number;
  height: number;
  width: number;
  /** 1 (gray, the default) or 3 (RGB). */
  channels?: 1 | 3;
  pixels: Uint8Array;
  labels: number[];
}

export const FASHION_MNIST_CLASSES = ['T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal', 'Shirt', 'Sneaker', 'Bag', 'Ankle boot'] as const;

/** The preprocessing the model declares; a model without it cannot be fed correctly, so it is refused. */
export function modelPreprocess(model: Model): string {
  const text = model.metadata.get(MODEL_PREPROCESS_KEY);
  if (text === undefined) {
    throw new NibbleError('E_DATA', `the model declares no preprocessing ('${MODEL_PREPROCESS_KEY}' metadata)`, { hint: 'the demo runs the zoo models, which carry it' });
  }
  return text;
}

export function sliceDataset(slice: ImageSlice, model: Model, description: string, classNames: readonly string[] = FASHION_MNIST_CLASSES): Dataset {
  const channels = slice.channels ?? 1;
  if (slice.pixels.length !== slice.count * slice.height * slice.width * channels || slice.labels.length !== slice.count) {
    throw new NibbleError('E_DATA', `${description}: ${slice.pixels.length} bytes and ${slice.labels.length} labels for ${slice.count} images of ${slice.height}x${slice.width}x${channels}`, {
      hint: 'rebuild the demo (its images are cut at build time)',
    });
  }
  const shape = channels === 1 ? [slice.count, slice.height, slice.width] : [slice.count, slice.height, slice.width, channels];
  return datasetFromArrays(
    { data: slice.pixels, shape, layout: 'nhwc', labels: Int32Array.from(slice.labels), classNames, file: description },
    { preprocess: modelPreprocess(model) },
    description,
  );
}
