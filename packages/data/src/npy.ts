import { NibbleError } from '@nibble/ir';
import { readFileChecked, type FileOrigin } from './files';

/** A .npy array: 1-byte unsigned data stays as bytes, everything else becomes float32. */
export interface NpyArray {
  /** The descr as written, e.g. '<f4', '|u1'. */
  readonly descr: string;
  readonly shape: readonly number[];
  readonly data: Uint8Array | Float32Array;
}

const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // \x93NUMPY

/**
 * Parses NumPy's .npy format (versions 1-3): magic, version, a little-endian
 * header length, a Python-literal dict {'descr', 'fortran_order', 'shape'},
 * then the raw values. Fortran-ordered arrays are transposed to row-major.
 */
export function parseNpy(bytes: Uint8Array, path: string): NpyArray {
  const bad = (why: string) => new NibbleError('E_FILE_FORMAT', `${path}: not a .npy file (${why})`, {
    file: path, hint: 'write it with numpy.save (not savez, pickle or text)',
  });
  if (bytes.length < 10 || MAGIC.some((b, i) => bytes[i] !== b)) throw bad('no \\x93NUMPY magic');
  const major = bytes[6];
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let headerLength: number;
  let offset: number;
  if (major === 1) {
    headerLength = view.getUint16(8, true);
    offset = 10;
  } else if (major === 2 || major === 3) {
    if (bytes.length < 12) throw bad('header cut off');
    headerLength = view.getUint32(8, true);
    offset = 12;
  } else {
    throw bad(`format version ${major}`);
  }
  if (bytes.length < offset + headerLength) {
    throw new NibbleError('E_TRUNCATED', `${path}: .npy header cut off`, { file: path });
  }
  const header = new TextDecoder().decode(bytes.subarray(offset, offset + headerLength));
  const descr = /'descr'\s*:\s*'([^']*)'/.exec(header)?.[1];
  const fortran = /'fortran_order'\s*:\s*(True|False)/.exec(header)?.[1];
  const shapeText = /'shape'\s*:\s*\(([^)]*)\)/.exec(header)?.[1];
  if (descr === undefined || fortran === undefined || shapeText === undefined) throw bad(`unreadable header ${JSON.stringify(header.trim())}`);
  const shape = shapeText.split(',').map((s) => s.trim()).filter((s) => s.length > 0).map(Number);
  if (shape.some((d) => !Number.isInteger(d) || d < 0)) throw bad(`shape (${shapeText})`);
  const m = /^([<>|=])([fiub])(\d+)$/.exec(descr);
  const kind = m ? `${m[2]}${m[3]}` : '';
  const reader = READERS[kind];
  if (!m || !reader) {
    throw new NibbleError('E_UNSUPPORTED', `${path}: .npy element type '${descr}' is not supported`, {
      file: path, hint: 'save float32, float64, or (u)int8/16/32/64 arrays',
    });
  }
  const little = m[1] !== '>';
  const count = shape.reduce((a, b) => a * b, 1);
  const start = offset + headerLength;
  const want = start + count * reader.bytes;
  if (bytes.length < want) {
    throw new NibbleError('E_TRUNCATED', `${path}: .npy of shape (${shape.join(', ')}) '${descr}' needs ${want} bytes, the file has ${bytes.length}`, { file: path });
  }
  let data: Uint8Array | Float32Array;
  if (kind === 'u1' || kind === 'b1') {
    data = bytes.slice(start, want);
  } else {
    const out = new Float32Array(count);
    for (let i = 0; i < count; i++) out[i] = reader.get(view, start + i * reader.bytes, little);
    data = out;
  }
  return { descr, shape, data: fortran === 'True' ? toRowMajor(data, shape) : data };
}

export function readNpyFile(path: string, origin: FileOrigin = {}): NpyArray {
  return parseNpy(readFileChecked(path, origin), path);
}

type Reader = { bytes: number; get: (v: DataView, at: number, little: boolean) => number };
const READERS: Record<string, Reader> = {
  f4: { bytes: 4, get: (v, at, le) => v.getFloat32(at, le) },
  f8: { bytes: 8, get: (v, at, le) => v.getFloat64(at, le) },
  i1: { bytes: 1, get: (v, at) => v.getInt8(at) },
  u1: { bytes: 1, get: (v, at) => v.getUint8(at) },
  b1: { bytes: 1, get: (v, at) => v.getUint8(at) },
  i2: { bytes: 2, get: (v, at, le) => v.getInt16(at, le) },
  u2: { bytes: 2, get: (v, at, le) => v.getUint16(at, le) },
  i4: { bytes: 4, get: (v, at, le) => v.getInt32(at, le) },
  u4: { bytes: 4, get: (v, at, le) => v.getUint32(at, le) },
  i8: { bytes: 8, get: (v, at, le) => Number(v.getBigInt64(at, le)) },
  u8: { bytes: 8, get: (v, at, le) => Number(v.getBigUint64(at, le)) },
};

/** Column-major (Fortran) storage to row-major. */
function toRowMajor<T extends Uint8Array | Float32Array>(data: T, shape: readonly number[]): T {
  const rank = shape.length;
  if (rank < 2) return data;
  const out = new (data.constructor as new (n: number) => T)(data.length);
  const colStride: number[] = [];
  let s = 1;
  for (let d = 0; d < rank; d++) {
    colStride.push(s);
    s *= shape[d];
  }
  const idx = new Array<number>(rank).fill(0);
  for (let i = 0; i < data.length; i++) {
    let src = 0;
    for (let d = 0; d < rank; d++) src += idx[d] * colStride[d];
    out[i] = data[src];
    for (let d = rank - 1; d >= 0; d--) {
      if (++idx[d] < shape[d]) break;
      idx[d] = 0;
    }
  }
  return out;
}

/** Encodes a little-endian .npy (version 1.0, header padded to 64 bytes as NumPy does). */
export function encodeNpy(descr: '<f4' | '|u1' | '<i4' | '<i8', shape: readonly number[], values: ArrayLike<number>): Uint8Array {
  const shapeText = shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(', ')})`;
  let header = `{'descr': '${descr}', 'fortran_order': False, 'shape': ${shapeText}, }`;
  const pad = 64 - ((10 + header.length + 1) % 64);
  header = header + ' '.repeat(pad % 64) + '\n';
  const size = { '<f4': 4, '|u1': 1, '<i4': 4, '<i8': 8 }[descr];
  const out = new Uint8Array(10 + header.length + values.length * size);
  out.set(MAGIC);
  out[6] = 1;
  const view = new DataView(out.buffer);
  view.setUint16(8, header.length, true);
  out.set(new TextEncoder().encode(header), 10);
  const start = 10 + header.length;
  for (let i = 0; i < values.length; i++) {
    const at = start + i * size;
    if (descr === '<f4') view.setFloat32(at, values[i], true);
    else if (descr === '|u1') out[at] = values[i];
    else if (descr === '<i4') view.setInt32(at, values[i], true);
    else view.setBigInt64(at, BigInt(values[i]), true);
  }
  return out;
}
