import { existsSync, readdirSync, statSync } from 'fs';
import { join } from 'path';
import { NibbleError } from '@nibble/ir';
import type { SampleSource } from './dataset';
import { missingFile, readFileChecked } from './files';
import { decodeImage } from './image-decode';
import type { RawImage } from './raw-image';

const IMAGE_EXTENSIONS = /\.(png|jpe?g)$/i;

/** Code-point order: the same on every machine and locale. */
const byCodePoint = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/** Image files under `dir`, recursively, as '/'-separated paths relative to it, sorted. Hidden entries are skipped. */
function listImages(dir: string, prefix = ''): string[] {
  const out: string[] = [];
  for (const name of readdirSync(join(dir, prefix)).sort(byCodePoint)) {
    if (name.startsWith('.')) continue;
    const rel = prefix ? `${prefix}/${name}` : name;
    const st = statSync(join(dir, rel));
    if (st.isDirectory()) out.push(...listImages(dir, rel));
    else if (IMAGE_EXTENSIONS.test(name)) out.push(rel);
  }
  return out.sort(byCodePoint);
}

export interface FolderListing {
  /** Paths relative to the folder, '/'-separated, in dataset order. */
  files: string[];
  labels?: Int32Array;
  classNames?: string[];
}

/**
 * Lists a folder of images and their labels:
 * - with a labels CSV: every image under the folder (recursively), each named by exactly one row;
 * - else, if the folder itself holds images: every image under it, unlabeled;
 * - else: each subfolder is a class (sorted by name; label = position), holding images at any depth.
 */
export function scanImageFolder(dir: string, labelsCsv?: string): FolderListing {
  if (!existsSync(dir)) throw missingFile(dir, { what: 'image folder' });
  if (!statSync(dir).isDirectory()) {
    throw new NibbleError('E_BAD_OPTION', `${dir} is not a folder`, {
      file: dir, option: 'dataset', hint: 'images:<dir> names a folder; use idx:<file> or npy:<file> for single files',
    });
  }
  if (labelsCsv !== undefined) return withCsvLabels(dir, labelsCsv);
  const entries = readdirSync(dir).filter((n) => !n.startsWith('.')).sort(byCodePoint);
  const direct = entries.filter((n) => IMAGE_EXTENSIONS.test(n) && statSync(join(dir, n)).isFile());
  if (direct.length > 0) return { files: listImages(dir) };
  const classes = entries.filter((n) => statSync(join(dir, n)).isDirectory());
  if (classes.length === 0) {
    throw new NibbleError('E_DATA', `${dir}: no PNG or JPEG images and no class subfolders`, {
      file: dir, hint: 'put images in the folder, or one subfolder per class',
    });
  }
  const files: string[] = [];
  const labels: number[] = [];
  classes.forEach((name, label) => {
    const inside = listImages(dir, name);
    if (inside.length === 0) {
      throw new NibbleError('E_DATA', `${join(dir, name)}: class folder holds no PNG or JPEG images`, {
        file: join(dir, name), hint: 'remove the empty class folder or add its images',
      });
    }
    for (const f of inside) {
      files.push(f);
      labels.push(label);
    }
  });
  return { files, labels: Int32Array.from(labels), classNames: classes };
}

/** Splits one CSV line: comma-separated, fields optionally in double quotes ("" is a quote). */
function csvFields(line: string): string[] {
  const out: string[] = [];
  let i = 0;
  for (;;) {
    let v = '';
    if (line[i] === '"') {
      i++;
      while (i < line.length) {
        if (line[i] === '"') {
          if (line[i + 1] !== '"') {
            i++;
            break;
          }
          i++;
        }
        v += line[i++];
      }
    }
    const end = line.indexOf(',', i);
    out.push(v + line.slice(i, end < 0 ? line.length : end).trim());
    if (end < 0) return out;
    i = end + 1;
  }
}

const HEADER_NAMES = new Set(['file', 'filename', 'path', 'image', 'name']);

function withCsvLabels(dir: string, csvPath: string): FolderListing {
  const text = new TextDecoder().decode(readFileChecked(csvPath, { what: 'labels CSV' }));
  const rows = new Map<string, string>();
  text.split(/\r?\n/).forEach((line, n) => {
    if (line.trim() === '') return;
    const fields = csvFields(line);
    if (n === 0 && HEADER_NAMES.has(fields[0].toLowerCase())) return;
    if (fields.length < 2 || fields[0] === '' || fields[1] === '') {
      throw new NibbleError('E_DATA', `${csvPath}:${n + 1}: expected 'file,label', got ${JSON.stringify(line)}`, { file: csvPath });
    }
    const file = fields[0].replace(/\\/g, '/').replace(/^\.\//, '');
    if (rows.has(file)) throw new NibbleError('E_DATA', `${csvPath}:${n + 1}: ${file} is labelled twice`, { file: csvPath });
    rows.set(file, fields[1]);
  });
  const files = listImages(dir);
  for (const f of rows.keys()) {
    if (!existsSync(join(dir, f))) {
      throw new NibbleError('E_FILE_NOT_FOUND', `${csvPath} labels ${f}, but ${join(dir, f)} does not exist`, {
        file: join(dir, f), hint: 'CSV paths are relative to the image folder',
      });
    }
  }
  const unlisted = files.filter((f) => !rows.has(f));
  if (rows.size !== files.length || unlisted.length > 0) {
    throw new NibbleError('E_DATA', `${csvPath}: ${rows.size} labels for the ${files.length} images in ${dir}` +
      (unlisted.length > 0 ? ` (not labelled: ${unlisted.slice(0, 3).join(', ')}${unlisted.length > 3 ? ', ...' : ''})` : ''), {
      file: csvPath, hint: 'the CSV must name every image of the folder exactly once',
    });
  }
  const values = files.map((f) => rows.get(f)!);
  if (values.every((v) => /^-?\d+$/.test(v))) return { files, labels: Int32Array.from(values.map(Number)) };
  const classNames = [...new Set(values)].sort(byCodePoint);
  const index = new Map(classNames.map((c, i) => [c, i]));
  return { files, labels: Int32Array.from(values.map((v) => index.get(v)!)), classNames };
}

/** Images decoded from files on demand (one file per sample). */
export class ImageFolderSource implements SampleSource {
  readonly length: number;
  readonly hasLabels: boolean;
  readonly classNames?: readonly string[];

  constructor(private readonly dir: string, private readonly listing: FolderListing) {
    this.length = listing.files.length;
    this.hasLabels = listing.labels !== undefined;
    this.classNames = listing.classNames;
  }

  raw(i: number): RawImage {
    const path = this.where(i);
    return decodeImage(readFileChecked(path), path);
  }

  label(i: number): number {
    return this.listing.labels ? this.listing.labels[i] : -1;
  }

  where(i: number): string {
    return join(this.dir, this.listing.files[i]);
  }
}
