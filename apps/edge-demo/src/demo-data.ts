import { datasetFromArrays, type Dataset, type Model, MODEL_PREPROCESS_KEY, NibbleError } from 'nibble';

/*
 * The page's data: images in memory (no files in a browser), opened as a
 * nibble Dataset with the model's own preprocessing (its nibble.preprocess
 * metadata), exactly as `quantize --data fashion-mnist:calib` would feed it.
 * Shared with the e2e test, which builds the Node reference from the same
 * function and the same bytes.
 */

/** Gray images as bytes, row-major [count, height, width], with their labels. */
export interface ImageSlice {
  count: number;
  height: number;
  width: number;
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

export function sliceDataset(slice: ImageSlice, model: Model, description: string): Dataset {
  if (slice.pixels.length !== slice.count * slice.height * slice.width || slice.labels.length !== slice.count) {
    throw new NibbleError('E_DATA', `${description}: ${slice.pixels.length} pixels and ${slice.labels.length} labels for ${slice.count} images of ${slice.height}x${slice.width}`, {
      hint: 'rebuild the demo (its images are cut at build time)',
    });
  }
  return datasetFromArrays(
    { data: slice.pixels, shape: [slice.count, slice.height, slice.width], labels: Int32Array.from(slice.labels), classNames: FASHION_MNIST_CLASSES, file: description },
    { preprocess: modelPreprocess(model) },
    description,
  );
}
