import { NibbleError, Tensor } from '@nibble/ir';
import {
  applyPreprocess, outputLayout, preprocessedSize, resolvePreprocess,
  type ImageSize, type Layout, type PreprocessStep,
} from './preprocess';
import { sampleOrder, type OrderOptions } from './prng';
import type { RawImage } from './raw-image';

/** Where samples come from, before preprocessing: IDX arrays, npy arrays, image files. */
export interface SampleSource {
  readonly length: number;
  /** Class names by label, when labels come from names (subfolders, CSV). */
  readonly classNames?: readonly string[];
  /** Whether labels exist (otherwise every label is -1). */
  readonly hasLabels: boolean;
  /** Every sample's size when known without decoding (arrays); undefined for files. */
  readonly fixedSize?: ImageSize;
  /** True when samples are stored as floats (float npy, float IDX) rather than 0..255 pixels. */
  readonly floatData?: boolean;
  /** Sample i as a fresh RawImage (HWC float32) that the caller may modify. */
  raw(i: number): RawImage;
  label(i: number): number;
  /** The file (and index inside it) of sample i, for error messages. */
  where(i: number): string;
}

/** One sample: input of shape [1, ...sampleShape]. */
export interface Sample {
  readonly index: number;
  readonly input: Tensor;
  readonly label: number;
}

/** A batch: inputs [N, C, H, W] (or [N, H, W, C]), labels (-1 when unlabeled), and which samples. */
export interface Batch {
  readonly inputs: Tensor;
  readonly labels: Int32Array;
  readonly indices: Int32Array;
}

export interface BatchOptions extends OrderOptions {
  /** Samples per batch (default 32). */
  batchSize?: number;
  /** Drop a last batch smaller than batchSize (default false). */
  dropLast?: boolean;
}

/** A dataset of (input, label) pairs with a stable, seeded order. */
export interface Dataset {
  /** The spec it was opened from (e.g. 'fashion-mnist:test') or a description. */
  readonly description: string;
  readonly length: number;
  /** Shape of one preprocessed sample: [C, H, W] (nchw) or [H, W, C] (nhwc). */
  readonly sampleShape: readonly number[];
  readonly layout: Layout;
  readonly hasLabels: boolean;
  readonly classNames?: readonly string[];
  /** The preprocessing applied to every sample. */
  readonly preprocess: readonly PreprocessStep[];
  /** Steps of the requested preprocessing left out: scale steps, for float data when scaleFloatData is false. */
  readonly skippedSteps: readonly PreprocessStep[];
  /** All labels, in index order (-1 when unlabeled). */
  labels(): Int32Array;
  /** The sample indices a pass with these options visits, in order. */
  order(options?: OrderOptions): Int32Array;
  get(index: number): Promise<Sample>;
  batch(indices: ArrayLike<number>): Promise<Batch>;
  batches(options?: BatchOptions): AsyncGenerator<Batch, void, undefined>;
}

export interface DatasetOptions {
  /** Steps as data, or text such as 'mnist' or 'rgb,resize=256,center-crop=224,unit' (default: none). */
  preprocess?: string | readonly PreprocessStep[];
  /**
   * Whether `scale` steps apply to float data (float npy or IDX), which is
   * usually scaled already (default true: steps apply as given). A caller
   * whose preprocessing was not asked for by the user (a model's metadata, a
   * dataset preset, both written for 0..255 pixels) passes false, so float
   * data in [0, 1] is never divided by 255 a second time.
   */
  scaleFloatData?: boolean;
}

/** A Dataset over any SampleSource: preprocessing, shape checks, batching. */
export class SourceDataset implements Dataset {
  readonly description: string;
  readonly length: number;
  readonly sampleShape: readonly number[];
  readonly layout: Layout;
  readonly hasLabels: boolean;
  readonly classNames?: readonly string[];
  readonly preprocess: readonly PreprocessStep[];
  readonly skippedSteps: readonly PreprocessStep[];
  private readonly size: ImageSize;

  constructor(private readonly source: SampleSource, description: string, options: DatasetOptions = {}) {
    this.description = description;
    this.length = source.length;
    this.hasLabels = source.hasLabels;
    this.classNames = source.classNames;
    const steps = resolvePreprocess(options.preprocess);
    const skip = source.floatData === true && options.scaleFloatData === false;
    this.preprocess = skip ? steps.filter((st) => st.op !== 'scale') : steps;
    this.skippedSteps = skip ? steps.filter((st) => st.op === 'scale') : [];
    this.layout = outputLayout(this.preprocess);
    if (source.length === 0) {
      throw new NibbleError('E_DATA', `${description}: the dataset has no samples`, { hint: 'check the path and the file contents' });
    }
    // Files are sized by decoding the first one: this also fails early on a bad first file.
    const first = source.fixedSize ?? sizeOf(source.raw(0));
    this.size = preprocessedSize(this.preprocess, first, source.where(0));
    const { height: h, width: w, channels: c } = this.size;
    this.sampleShape = this.layout === 'nchw' ? [c, h, w] : [h, w, c];
  }

  labels(): Int32Array {
    const out = new Int32Array(this.length);
    for (let i = 0; i < this.length; i++) out[i] = this.source.label(i);
    return out;
  }

  order(options: OrderOptions = {}): Int32Array {
    return sampleOrder(this.length, options);
  }

  async get(index: number): Promise<Sample> {
    const b = await this.batch([index]);
    return { index, input: b.inputs, label: b.labels[0] };
  }

  async batch(indices: ArrayLike<number>): Promise<Batch> {
    const n = indices.length;
    const { height: H, width: W, channels: C } = this.size;
    const per = H * W * C;
    const out = new Float32Array(n * per);
    const labels = new Int32Array(n);
    const idx = Int32Array.from(indices);
    for (let k = 0; k < n; k++) {
      const i = idx[k];
      if (!Number.isInteger(i) || i < 0 || i >= this.length) {
        throw new NibbleError('E_BAD_OPTION', `${this.description}: sample index ${i} is outside [0, ${this.length})`, { option: 'index' });
      }
      const img = applyPreprocess(this.preprocess, this.source.raw(i), { inPlace: true });
      if (img.height !== H || img.width !== W || img.channels !== C) {
        const where = this.source.where(i);
        throw new NibbleError('E_SHAPE', `${where}: preprocessed to ${img.height}x${img.width}x${img.channels}, the dataset's samples are ${H}x${W}x${C}`, {
          file: where, hint: 'images of different sizes need a resize step, e.g. --preprocess resize=224x224',
        });
      }
      writeSample(img, out, k * per, this.layout);
      labels[k] = this.source.label(i);
    }
    return { inputs: new Tensor('float32', [n, ...this.sampleShape], out), labels, indices: idx };
  }

  async *batches(options: BatchOptions = {}): AsyncGenerator<Batch, void, undefined> {
    const size = options.batchSize ?? 32;
    if (!Number.isInteger(size) || size <= 0) {
      throw new NibbleError('E_BAD_OPTION', `batch size ${size} is not a positive integer`, { option: 'batchSize' });
    }
    const order = this.order(options);
    for (let start = 0; start < order.length; start += size) {
      const part = order.subarray(start, Math.min(order.length, start + size));
      if (part.length < size && options.dropLast) return;
      yield await this.batch(part);
    }
  }
}

function sizeOf(img: RawImage): ImageSize {
  return { height: img.height, width: img.width, channels: img.channels };
}

function writeSample(img: RawImage, out: Float32Array, offset: number, layout: Layout): void {
  const { height, width, channels: C, data } = img;
  if (layout === 'nhwc' || C === 1) {
    out.set(data, offset);
    return;
  }
  const plane = height * width;
  for (let c = 0; c < C; c++) {
    const base = offset + c * plane;
    for (let p = 0; p < plane; p++) out[base + p] = data[p * C + c];
  }
}

/** A dataset over a custom source (bundled fixtures, in-memory arrays in a browser). */
export function createDataset(source: SampleSource, description: string, options: DatasetOptions = {}): Dataset {
  return new SourceDataset(source, description, options);
}
