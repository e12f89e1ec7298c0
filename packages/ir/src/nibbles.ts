import { NibbleError } from './errors';

/**
 * Packed 4-bit storage as ONNX and TFLite lay it out: two elements per byte,
 * element 2k in the low nibble, 2k+1 in the high nibble, an odd count padded
 * with a zero high nibble.
 */
export function packedByteLength(count: number): number {
  return Math.ceil(count / 2);
}

export function packNibbles(values: ArrayLike<number>, signed: boolean): Uint8Array {
  const [lo, hi] = signed ? [-8, 7] : [0, 15];
  const out = new Uint8Array(packedByteLength(values.length));
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (!Number.isInteger(v) || v < lo || v > hi) {
      throw new NibbleError(
        'E_NUMERIC',
        `packNibbles: element ${i} = ${v} is outside the ${signed ? 'int4' : 'uint4'} range [${lo}, ${hi}]`,
      );
    }
    const nibble = v & 0x0f;
    out[i >> 1] |= i & 1 ? nibble << 4 : nibble;
  }
  return out;
}

export function unpackNibbles(bytes: Uint8Array, count: number, signed: boolean): Int8Array {
  if (bytes.length < packedByteLength(count)) {
    throw new NibbleError(
      'E_TRUNCATED',
      `unpackNibbles: ${count} elements need ${packedByteLength(count)} bytes, got ${bytes.length}`,
    );
  }
  const out = new Int8Array(count);
  for (let i = 0; i < count; i++) {
    const b = bytes[i >> 1];
    const nibble = i & 1 ? b >> 4 : b & 0x0f;
    out[i] = signed && nibble >= 8 ? nibble - 16 : nibble;
  }
  return out;
}
