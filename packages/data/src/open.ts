import { resolve } from 'path';
import { NibbleError } from '@nibble/ir';
import { ArraySource, checkLabelCount, labelsFromArray, type StoredLayout } from './array-source';
import { createDataset, type Dataset, type DatasetOptions } from './dataset';
import { missingFile, type FileOrigin } from './files';
import { ImageFolderSource, scanImageFolder } from './image-folder';
import { readIdxFile } from './idx';
import { readNpyFile } from './npy';
import { registerDefaultRoots, resolveSplit } from './roots';
import { parseDatasetSpec, printDatasetSpec, type DatasetSpec, type FileSpec } from './spec';

export interface OpenDatasetOptions extends DatasetOptions {
  /** Directory that relative paths start from (default: the current directory). */
  cwd?: string;
  /** Layout of rank-4 stored arrays (npy, IDX); inferred when absent. */
  storedLayout?: StoredLayout;
}

/**
 * Opens a dataset from its spec (text or parsed). Named datasets are resolved
 * through the registered roots; files are read at once (IDX, npy) or listed
 * and decoded per batch (image folders).
 */
export async function openDataset(spec: string | DatasetSpec, options: OpenDatasetOptions = {}): Promise<Dataset> {
  registerDefaultRoots();
  const parsed = typeof spec === 'string' ? parseDatasetSpec(spec) : spec;
  const description = typeof spec === 'string' ? spec.trim() : printDatasetSpec(spec);
  if (parsed.kind !== 'named') {
    const cwd = options.cwd ?? process.cwd();
    return openFiles(absolute(parsed, cwd), description, options, {});
  }
  const candidates = resolveSplit(parsed.name, parsed.split);
  const found = candidates.find((c) => c.missing.length === 0);
  if (!found) {
    const [best, ...others] = candidates;
    const err = missingFile(best.missing[0], { provider: best.provider, what: description });
    const also = others.map((c) => `${c.missing[0]} (${c.provider})`);
    throw new NibbleError(err.code, err.message, {
      file: best.missing[0], hint: err.hint + (also.length ? `; also looked for ${also.join(', ')}` : ''),
    });
  }
  return openFiles(found.spec, description, options, { provider: found.provider });
}

function absolute(spec: FileSpec, cwd: string): FileSpec {
  const abs = (p: string) => resolve(cwd, p);
  const labels = spec.labels === undefined ? {} : { labels: abs(spec.labels) };
  switch (spec.kind) {
    case 'idx': return { kind: 'idx', images: abs(spec.images), ...labels };
    case 'images': return { kind: 'images', dir: abs(spec.dir), ...labels };
    case 'npy': return { kind: 'npy', inputs: abs(spec.inputs), ...labels };
  }
}

function openFiles(spec: FileSpec, description: string, options: OpenDatasetOptions, origin: FileOrigin): Dataset {
  switch (spec.kind) {
    case 'idx': {
      const images = readIdxFile(spec.images, { ...origin, what: `${description} images` });
      const labels = spec.labels === undefined ? undefined : (() => {
        const l = readIdxFile(spec.labels, { ...origin, what: `${description} labels` });
        const out = labelsFromArray(l.data, l.dims, spec.labels);
        checkLabelCount(images.dims[0], spec.images, out, spec.labels);
        return out;
      })();
      const source = new ArraySource({ data: images.data, shape: images.dims, layout: options.storedLayout ?? 'nhwc', labels, file: spec.images });
      return createDataset(source, description, options);
    }
    case 'npy': {
      const inputs = readNpyFile(spec.inputs, origin);
      const labels = spec.labels === undefined ? undefined : (() => {
        const l = readNpyFile(spec.labels, origin);
        const out = labelsFromArray(l.data, l.shape, spec.labels);
        checkLabelCount(inputs.shape[0] ?? 0, spec.inputs, out, spec.labels);
        return out;
      })();
      const source = new ArraySource({ data: inputs.data, shape: inputs.shape, layout: options.storedLayout, labels, file: spec.inputs });
      return createDataset(source, description, options);
    }
    case 'images': {
      const listing = scanImageFolder(spec.dir, spec.labels);
      return createDataset(new ImageFolderSource(spec.dir, listing), description, options);
    }
  }
}
