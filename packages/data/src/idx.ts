import { NibbleError } from '@nibble/ir';
import { gunzipIfNeeded, readFileChecked, type FileOrigin } from './files';

/** Element types of the IDX format (LeCun's MNIST files), by their code in byte 2. */
const IDX_TYPES: Record<number, { name: IdxType; bytes: number }> = {
  0x08: { name: 'uint8', bytes: 1 },
  0x09: { name: 'int8', bytes: 1 },
  0x0b: { name: 'int16', bytes: 2 },
  0x0c: { name: 'int32', bytes: 4 },
  0x0d: { name: 'float32', bytes: 4 },
  0x0e: { name: 'float64', bytes: 8 },
};

export type IdxType = 'uint8' | 'int8' | 'int16' | 'int32' | 'float32' | 'float64';

/** An IDX array: uint8 data stays as bytes (converted per batch), other types become float32. */
export interface IdxArray {
  readonly type: IdxType;
  readonly dims: readonly number[];
  readonly data: Uint8Array | Float32Array;
}

/**
 * Parses IDX bytes (already gunzipped): 0x00 0x00, a type code, the number of
 * dimensions, then each dimension as a big-endian uint32, then the values,
 * big-endian, row-major.
 */
export function parseIdx(bytes: Uint8Array, path: string): IdxArray {
  const corrupt = (why: string) =>
    new NibbleError('E_FILE_FORMAT', `${path}: not an IDX file (${why})`, {
      file: path, hint: 'IDX files start with 0x00 0x00, a type code (0x08 for ubyte) and a dimension count',
    });
  if (bytes.length < 4) throw corrupt(`only ${bytes.length} bytes`);
  if (bytes[0] !== 0 || bytes[1] !== 0) throw corrupt(`magic bytes ${hex(bytes[0])} ${hex(bytes[1])}, expected 0x00 0x00`);
  const type = IDX_TYPES[bytes[2]];
  if (!type) throw corrupt(`unknown type code ${hex(bytes[2])}`);
  const rank = bytes[3];
  if (rank === 0) throw corrupt('zero dimensions');
  const headerLength = 4 + 4 * rank;
  if (bytes.length < headerLength) {
    throw new NibbleError('E_TRUNCATED', `${path}: IDX header of ${rank} dimensions is cut off`, { file: path });
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const dims: number[] = [];
  let count = 1;
  for (let i = 0; i < rank; i++) {
    const d = view.getUint32(4 + 4 * i, false);
    dims.push(d);
    count *= d;
  }
  const want = headerLength + count * type.bytes;
  if (bytes.length < want) {
    throw new NibbleError('E_TRUNCATED', `${path}: IDX header says [${dims.join(',')}] ${type.name} (${want} bytes), the file has ${bytes.length}`, {
      file: path, hint: 'the file is cut off or its header is corrupt; fetch it again',
    });
  }
  if (bytes.length > want) {
    throw corrupt(`header says [${dims.join(',')}] ${type.name} (${want} bytes) but the file has ${bytes.length}`);
  }
  if (type.name === 'uint8') return { type: type.name, dims, data: bytes.subarray(headerLength, want) };
  const out = new Float32Array(count);
  for (let i = 0; i < count; i++) {
    const at = headerLength + i * type.bytes;
    switch (type.name) {
      case 'int8': out[i] = view.getInt8(at); break;
      case 'int16': out[i] = view.getInt16(at, false); break;
      case 'int32': out[i] = view.getInt32(at, false); break;
      case 'float32': out[i] = view.getFloat32(at, false); break;
      case 'float64': out[i] = view.getFloat64(at, false); break;
    }
  }
  return { type: type.name, dims, data: out };
}

/** Reads an IDX file, plain or gzip-compressed (detected by content, not by name). */
export function readIdxFile(path: string, origin: FileOrigin = {}): IdxArray {
  return parseIdx(gunzipIfNeeded(readFileChecked(path, origin), path), path);
}

/** Encodes an IDX file (big-endian), for fixtures and exported subsets. */
export function encodeIdx(type: 'uint8' | 'int32' | 'float32', dims: readonly number[], values: ArrayLike<number>): Uint8Array {
  const code = { uint8: 0x08, int32: 0x0c, float32: 0x0d }[type];
  const size = { uint8: 1, int32: 4, float32: 4 }[type];
  const header = 4 + 4 * dims.length;
  const out = new Uint8Array(header + values.length * size);
  const view = new DataView(out.buffer);
  out[2] = code;
  out[3] = dims.length;
  dims.forEach((d, i) => view.setUint32(4 + 4 * i, d, false));
  for (let i = 0; i < values.length; i++) {
    if (type === 'uint8') out[header + i] = values[i];
    else if (type === 'int32') view.setInt32(header + 4 * i, values[i], false);
    else view.setFloat32(header + 4 * i, values[i], false);
  }
  return out;
}

function hex(b: number): string {
  return `0x${b.toString(16).padStart(2, '0')}`;
}
