import { NibbleError } from '@nibble/ir';

/**
 * A dataset named on the command line:
 *
 *   spec   := named | idx | images | npy
 *   named  := ROOT ':' SPLIT            e.g. fashion-mnist:test, mnist:train
 *   idx    := 'idx:' PATH [',' PATH]    images IDX file, then labels IDX file
 *   images := 'images:' PATH [',' PATH] folder, then labels CSV
 *   npy    := 'npy:' PATH [',' PATH]    inputs .npy, then labels .npy
 *
 * Only the first ':' separates the kind, so paths may contain ':' (C:\data);
 * ',' separates the two paths, so paths may not contain ','.
 */
export type DatasetSpec = NamedSpec | FileSpec;

export interface NamedSpec {
  kind: 'named';
  /** A registered root, e.g. 'fashion-mnist'. */
  name: string;
  split: string;
}

export type FileSpec =
  | { kind: 'idx'; images: string; labels?: string }
  | { kind: 'images'; dir: string; labels?: string }
  | { kind: 'npy'; inputs: string; labels?: string };

export const FILE_KINDS = ['idx', 'images', 'npy'] as const;

const NAME = /^[a-z][a-z0-9-]*$/;
const SPLIT = /^[A-Za-z0-9_-]+$/;

function badSpec(text: string, why: string): NibbleError {
  return new NibbleError('E_BAD_OPTION', `dataset '${text}': ${why}`, {
    option: 'dataset',
    hint: 'write fashion-mnist:test, mnist:train, idx:<images>[,<labels>], images:<dir>[,<labels.csv>] or npy:<inputs.npy>[,<labels.npy>]',
  });
}

export function parseDatasetSpec(text: string): DatasetSpec {
  const t = text.trim();
  const colon = t.indexOf(':');
  if (colon <= 0) {
    if (NAME.test(t)) {
      throw new NibbleError('E_BAD_OPTION', `dataset '${text}': a named dataset needs a split after a colon, e.g. ${t}:test`, {
        option: 'data', hint: `write ${t}:test or ${t}:train (the bundled Fashion-MNIST also has fashion-mnist:calib); a file needs a prefix: idx:, npy: or images:`,
      });
    }
    throw badSpec(text, 'a dataset is kind:place; a file or folder needs a prefix (idx:<file>, npy:<file>, images:<dir>)');
  }
  const kind = t.slice(0, colon);
  const rest = t.slice(colon + 1).trim();
  if (rest === '') throw badSpec(text, `nothing after '${kind}:'`);
  if ((FILE_KINDS as readonly string[]).includes(kind)) {
    const parts = rest.split(',').map((p) => p.trim());
    if (parts.length > 2 || parts.some((p) => p === '')) {
      throw badSpec(text, `'${kind}:' takes one path, or two separated by one comma (paths cannot contain commas)`);
    }
    const [first, labels] = parts;
    const extra = labels === undefined ? {} : { labels };
    if (kind === 'idx') return { kind, images: first, ...extra };
    if (kind === 'images') return { kind, dir: first, ...extra };
    return { kind: 'npy', inputs: first, ...extra };
  }
  if (!NAME.test(kind)) throw badSpec(text, `'${kind}' is not a dataset name (a path needs an images:, idx: or npy: prefix)`);
  if (!SPLIT.test(rest)) throw badSpec(text, `'${rest}' is not a split name`);
  return { kind: 'named', name: kind, split: rest };
}

/** The canonical text of a spec; parseDatasetSpec(printDatasetSpec(s)) deep-equals s. */
export function printDatasetSpec(spec: DatasetSpec): string {
  const tail = (labels?: string) => (labels === undefined ? '' : `,${labels}`);
  switch (spec.kind) {
    case 'named': return `${spec.name}:${spec.split}`;
    case 'idx': return `idx:${spec.images}${tail(spec.labels)}`;
    case 'images': return `images:${spec.dir}${tail(spec.labels)}`;
    case 'npy': return `npy:${spec.inputs}${tail(spec.labels)}`;
  }
}

/** The files a file spec names, in order (for existence checks). */
export function specFiles(spec: FileSpec): string[] {
  const first = spec.kind === 'idx' ? spec.images : spec.kind === 'images' ? spec.dir : spec.inputs;
  return spec.labels === undefined ? [first] : [first, spec.labels];
}
