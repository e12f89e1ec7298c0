import { DTYPES, Tensor } from '@nibble/ir';
import type { TensorData } from '@nibble/ir';
import type { ProtoWriter } from './proto-writer';
import { hostIsLittleEndian, swapBytes } from './wire';

/** TensorProto field numbers (onnx.proto). */
const DIMS = 1;
const DATA_TYPE = 2;
const STRING_DATA = 6;
const NAME = 8;
const RAW_DATA = 9;
const DOC_STRING = 12;

/** The tensor's storage as little-endian bytes (a view when the host is little-endian). */
export function rawBytes(t: Tensor): Uint8Array {
  const data = t.data as Exclude<TensorData, Uint8Array[]>;
  const view = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  if (hostIsLittleEndian || t.dtype === 'int4' || t.dtype === 'uint4') return view;
  const copy = view.slice();
  swapBytes(copy, DTYPES[t.dtype].bits / 8);
  return copy;
}

/**
 * Write a TensorProto body. Numeric data always goes to raw_data (int4/uint4
 * as their packed bytes, first element in the low nibble, which is also the
 * IR's storage); strings go to string_data, as onnx.proto requires.
 * Fields are written in field-number order so the bytes are canonical.
 */
export function writeTensor(w: ProtoWriter, t: Tensor, name?: string, docString?: string): void {
  for (const d of t.shape) w.int64(DIMS, d);
  w.int32(DATA_TYPE, DTYPES[t.dtype].onnx);
  if (t.dtype === 'string') for (const s of t.data as Uint8Array[]) w.bytes(STRING_DATA, s);
  if (name) w.string(NAME, name);
  if (t.dtype !== 'string') w.bytes(RAW_DATA, rawBytes(t));
  if (docString) w.string(DOC_STRING, docString);
}
