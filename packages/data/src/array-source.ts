import { NibbleError } from '@nibble/ir';
import { createDataset, type Dataset, type DatasetOptions, type SampleSource } from './dataset';
import type { ImageSize } from './preprocess';
import type { RawImage } from './raw-image';

/** Layout of a stored array of images: [N, H, W, C] or [N, C, H, W] ([N, H, W] is gray). */
export type StoredLayout = 'nhwc' | 'nchw';

export interface ArrayInit {
  /** All samples, row-major. uint8 stays as bytes and is converted per batch. */
  data: Uint8Array | Float32Array;
  shape: readonly number[];
  /** For rank-4 arrays; inferred when absent (see `inferStoredLayout`). */
  layout?: StoredLayout;
  labels?: Int32Array;
  classNames?: readonly string[];
  /** The file the array came from, for error messages. */
  file: string;
}

/**
 * Rank-4 arrays are NHWC unless dimension 1 looks like channels (1, 3 or 4)
 * and dimension 3 does not, the usual shape of a PyTorch NCHW dump.
 */
export function inferStoredLayout(shape: readonly number[]): StoredLayout {
  if (shape.length !== 4) return 'nhwc';
  const isChannels = (d: number) => d === 1 || d === 3 || d === 4;
  return isChannels(shape[1]) && !isChannels(shape[3]) ? 'nchw' : 'nhwc';
}

/** A SampleSource over one array of images (IDX, npy, or in memory). */
export class ArraySource implements SampleSource {
  readonly length: number;
  readonly fixedSize: ImageSize;
  readonly hasLabels: boolean;
  readonly floatData: boolean;
  readonly classNames?: readonly string[];
  private readonly layout: StoredLayout;
  private readonly per: number;

  constructor(private readonly init: ArrayInit) {
    const { shape, file } = init;
    if (shape.length !== 3 && shape.length !== 4) {
      throw new NibbleError('E_UNSUPPORTED', `${file}: an array of shape [${shape.join(',')}] is not a set of images`, {
        file, hint: 'image arrays are [N, H, W] (gray), [N, H, W, C] or [N, C, H, W]',
      });
    }
    this.layout = init.layout ?? inferStoredLayout(shape);
    const [n, a, b, c] = shape;
    this.fixedSize = shape.length === 3
      ? { height: a, width: b, channels: 1 }
      : this.layout === 'nhwc' ? { height: a, width: b, channels: c } : { height: b, width: c, channels: a };
    this.length = n;
    this.per = this.fixedSize.height * this.fixedSize.width * this.fixedSize.channels;
    this.hasLabels = init.labels !== undefined;
    this.floatData = !(init.data instanceof Uint8Array);
    this.classNames = init.classNames;
    if (init.labels && init.labels.length !== n) {
      throw new NibbleError('E_DATA', `${file}: ${n} samples but ${init.labels.length} labels`, { file });
    }
  }

  raw(i: number): RawImage {
    const { height, width, channels } = this.fixedSize;
    const slice = this.init.data.subarray(i * this.per, (i + 1) * this.per);
    // The typed-array constructor converts (and copies) natively: the fast path of IDX batches.
    const data = new Float32Array(slice);
    if (this.layout === 'nhwc' || channels === 1) return { height, width, channels, data };
    const out = new Float32Array(this.per);
    const plane = height * width;
    for (let c = 0; c < channels; c++) {
      for (let p = 0; p < plane; p++) out[p * channels + c] = data[c * plane + p];
    }
    return { height, width, channels, data: out };
  }

  label(i: number): number {
    return this.init.labels ? this.init.labels[i] : -1;
  }

  where(i: number): string {
    return `${this.init.file} (sample ${i})`;
  }
}

/** Integer labels from a stored array ([N] or [N, 1]); a typed error naming the file otherwise. */
export function labelsFromArray(data: Uint8Array | Float32Array, shape: readonly number[], file: string): Int32Array {
  if (!(shape.length === 1 || (shape.length === 2 && shape[1] === 1))) {
    throw new NibbleError('E_DATA', `${file}: labels must be a vector, got shape [${shape.join(',')}]`, { file });
  }
  const out = new Int32Array(shape[0]);
  for (let i = 0; i < out.length; i++) {
    const v = data[i];
    if (!Number.isInteger(v) || v < -1 || v > 0x7fffffff) {
      throw new NibbleError('E_DATA', `${file}: label ${i} is ${v}, not a class index`, { file });
    }
    out[i] = v;
  }
  return out;
}

/** Checks that inputs and labels describe the same number of samples. */
export function checkLabelCount(samples: number, inputsFile: string, labels: Int32Array, labelsFile: string): void {
  if (labels.length !== samples) {
    throw new NibbleError('E_DATA', `${labelsFile}: ${labels.length} labels for the ${samples} samples of ${inputsFile}`, {
      file: labelsFile, hint: 'the labels file belongs to another split or another dataset',
    });
  }
}

/** A dataset over arrays already in memory. */
export function datasetFromArrays(init: ArrayInit, options: DatasetOptions = {}, description = init.file): Dataset {
  return createDataset(new ArraySource(init), description, options);
}
