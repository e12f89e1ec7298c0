import { NibbleError } from '@nibble/ir';
import { centerCrop, convertChannels, resizeBilinear, shorterSideSize } from './image-ops';
import type { RawImage } from './raw-image';

export type Layout = 'nchw' | 'nhwc';
export type ChannelOrder = 'rgb' | 'bgr' | 'gray';

/** One preprocessing step; a preprocessing is a list of them, applied in order. */
export type PreprocessStep =
  | { op: 'resize'; height: number; width: number }
  | { op: 'resize-shorter'; size: number }
  | { op: 'center-crop'; height: number; width: number }
  | { op: 'scale'; factor: number }
  | { op: 'normalize'; mean: number[]; std: number[] }
  | { op: 'channels'; order: ChannelOrder }
  | { op: 'layout'; layout: Layout };

/**
 * Named presets; a name may appear in preprocessing text and expands in place.
 * Pixel sources hold 0..255, so presets for [0, 1] models start with a scale.
 */
export const PREPROCESS_PRESETS: Readonly<Record<string, readonly PreprocessStep[]>> = {
  none: [],
  unit: [{ op: 'scale', factor: 1 / 255 }],
  mnist: [{ op: 'channels', order: 'gray' }, { op: 'scale', factor: 1 / 255 }],
  'fashion-mnist': [{ op: 'channels', order: 'gray' }, { op: 'scale', factor: 1 / 255 }],
  imagenet: [
    { op: 'channels', order: 'rgb' },
    { op: 'resize-shorter', size: 256 },
    { op: 'center-crop', height: 224, width: 224 },
    { op: 'scale', factor: 1 / 255 },
    { op: 'normalize', mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225] },
  ],
  'imagenet-caffe': [
    { op: 'channels', order: 'bgr' },
    { op: 'resize-shorter', size: 256 },
    { op: 'center-crop', height: 224, width: 224 },
    { op: 'normalize', mean: [103.939, 116.779, 123.68], std: [1, 1, 1] },
  ],
};

function badStep(text: string, why: string): NibbleError {
  return new NibbleError('E_BAD_OPTION', `preprocessing '${text}': ${why}`, {
    option: 'preprocess',
    hint: `items are resize=HxW|S, center-crop=HxW|S, scale=F|A/B, normalize=M[:M..]/S[:S..], rgb, bgr, gray, nchw, nhwc, or a preset (${Object.keys(PREPROCESS_PRESETS).join(', ')})`,
  });
}

function positiveInt(text: string, item: string): number {
  const v = Number(text);
  if (!/^\d+$/.test(text) || !Number.isSafeInteger(v) || v <= 0) throw badStep(item, `'${text}' is not a positive integer`);
  return v;
}

function finiteNumber(text: string, item: string): number {
  const v = Number(text);
  if (text.trim() === '' || !Number.isFinite(v)) throw badStep(item, `'${text}' is not a number`);
  return v;
}

function size2(text: string, item: string): [number, number] {
  const m = /^(\d+)x(\d+)$/.exec(text);
  if (m) return [positiveInt(m[1], item), positiveInt(m[2], item)];
  const s = positiveInt(text, item);
  return [s, s];
}

/**
 * Parses preprocessing text: comma-separated items, e.g.
 * `rgb,resize=256,center-crop=224,scale=1/255,normalize=0.485:0.456:0.406/0.229:0.224:0.225,nchw`.
 */
export function parsePreprocess(text: string): PreprocessStep[] {
  const steps: PreprocessStep[] = [];
  for (const raw of text.split(',')) {
    const item = raw.trim();
    if (item === '') continue;
    const eq = item.indexOf('=');
    const key = eq < 0 ? item : item.slice(0, eq);
    const value = eq < 0 ? '' : item.slice(eq + 1);
    if (eq < 0) {
      if (key === 'rgb' || key === 'bgr' || key === 'gray') steps.push({ op: 'channels', order: key });
      else if (key === 'nchw' || key === 'nhwc') steps.push({ op: 'layout', layout: key });
      else if (key in PREPROCESS_PRESETS) steps.push(...PREPROCESS_PRESETS[key].map((s) => ({ ...s })));
      else throw badStep(item, `unknown item '${key}'`);
      continue;
    }
    switch (key) {
      case 'resize': {
        if (/^\d+$/.test(value)) steps.push({ op: 'resize-shorter', size: positiveInt(value, item) });
        else {
          const [height, width] = size2(value, item);
          steps.push({ op: 'resize', height, width });
        }
        break;
      }
      case 'center-crop': {
        const [height, width] = size2(value, item);
        steps.push({ op: 'center-crop', height, width });
        break;
      }
      case 'scale': {
        const frac = /^([^/]+)\/([^/]+)$/.exec(value);
        const factor = frac ? finiteNumber(frac[1], item) / finiteNumber(frac[2], item) : finiteNumber(value, item);
        if (!Number.isFinite(factor)) throw badStep(item, 'the factor is not finite');
        steps.push({ op: 'scale', factor });
        break;
      }
      case 'normalize': {
        const parts = value.split('/');
        if (parts.length !== 2) throw badStep(item, 'expected MEAN/STD, each a number or a colon-separated list');
        const mean = parts[0].split(':').map((t) => finiteNumber(t, item));
        const std = parts[1].split(':').map((t) => finiteNumber(t, item));
        if (std.some((s) => s === 0)) throw badStep(item, 'a standard deviation is zero');
        steps.push({ op: 'normalize', mean, std });
        break;
      }
      default:
        throw badStep(item, `unknown item '${key}'`);
    }
  }
  return steps;
}

/** Canonical text of a preprocessing; parsePreprocess(printPreprocess(s)) deep-equals s. */
export function printPreprocess(steps: readonly PreprocessStep[]): string {
  return steps.map((s) => {
    switch (s.op) {
      case 'resize': return `resize=${s.height}x${s.width}`;
      case 'resize-shorter': return `resize=${s.size}`;
      case 'center-crop': return `center-crop=${s.height}x${s.width}`;
      case 'scale': return `scale=${s.factor}`;
      case 'normalize': return `normalize=${s.mean.join(':')}/${s.std.join(':')}`;
      case 'channels': return s.order;
      case 'layout': return s.layout;
    }
  }).join(',');
}

/** Accepts steps as data or as text (and preset names). */
export function resolvePreprocess(p: string | readonly PreprocessStep[] | undefined): PreprocessStep[] {
  if (p === undefined) return [];
  return typeof p === 'string' ? parsePreprocess(p) : p.map((s) => ({ ...s }));
}

/** The output layout: the last layout step, else NCHW. */
export function outputLayout(steps: readonly PreprocessStep[]): Layout {
  let layout: Layout = 'nchw';
  for (const s of steps) if (s.op === 'layout') layout = s.layout;
  return layout;
}

export interface ImageSize {
  height: number;
  width: number;
  channels: number;
}

/** What the steps make of an image of `size`; a typed error naming `where` if a step cannot apply. */
export function preprocessedSize(steps: readonly PreprocessStep[], size: ImageSize, where: string): ImageSize {
  let { height, width, channels } = size;
  for (const s of steps) {
    switch (s.op) {
      case 'resize':
        [height, width] = [s.height, s.width];
        break;
      case 'resize-shorter':
        [height, width] = shorterSideSize(height, width, s.size);
        break;
      case 'center-crop':
        if (s.height > height || s.width > width) {
          throw new NibbleError('E_SHAPE', `${where}: a ${s.height}x${s.width} crop does not fit a ${height}x${width} image`, {
            file: where, hint: 'resize before cropping (e.g. resize=256,center-crop=224)',
          });
        }
        [height, width] = [s.height, s.width];
        break;
      case 'channels':
        if (channels !== 1 && channels !== 3 && channels !== 4) {
          throw new NibbleError('E_SHAPE', `${where}: cannot convert ${channels} channels to ${s.order}`, { file: where });
        }
        channels = s.order === 'gray' ? 1 : 3;
        break;
      case 'normalize':
        for (const [name, list] of [['mean', s.mean], ['std', s.std]] as const) {
          if (list.length !== 1 && list.length !== channels) {
            throw new NibbleError('E_BAD_OPTION', `${where}: normalize ${name} has ${list.length} values for ${channels} channels`, {
              option: 'preprocess', hint: 'give one value, or one per channel (after any rgb/bgr/gray step)',
            });
          }
        }
        break;
      default:
        break;
    }
  }
  return { height, width, channels };
}

/**
 * Applies the steps to one image (the layout is applied when the batch is
 * written). With inPlace, pointwise steps may overwrite img.data.
 */
export function applyPreprocess(steps: readonly PreprocessStep[], img: RawImage, options: { inPlace?: boolean } = {}): RawImage {
  const source = options.inPlace ? undefined : img;
  let out = img;
  for (const s of steps) {
    switch (s.op) {
      case 'resize':
        out = resizeBilinear(out, s.height, s.width);
        break;
      case 'resize-shorter': {
        const [h, w] = shorterSideSize(out.height, out.width, s.size);
        out = resizeBilinear(out, h, w);
        break;
      }
      case 'center-crop':
        out = centerCrop(out, s.height, s.width);
        break;
      case 'channels':
        out = convertChannels(out, s.order);
        break;
      case 'scale': {
        out = writable(out, source);
        const d = out.data;
        for (let i = 0; i < d.length; i++) d[i] *= s.factor;
        break;
      }
      case 'normalize': {
        out = writable(out, source);
        const C = out.channels;
        const d = out.data;
        for (let c = 0; c < C; c++) {
          const m = s.mean.length === 1 ? s.mean[0] : s.mean[c];
          const sd = s.std.length === 1 ? s.std[0] : s.std[c];
          for (let i = c; i < d.length; i += C) d[i] = (d[i] - m) / sd;
        }
        break;
      }
      case 'layout':
        break;
    }
  }
  return out;
}

/** In-place steps must not write into the source's storage. */
function writable(img: RawImage, source: RawImage | undefined): RawImage {
  return source && img.data === source.data ? { ...img, data: img.data.slice() } : img;
}
