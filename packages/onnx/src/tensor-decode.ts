import { DType, dtypeFromOnnx, DTYPES, NibbleError, packedByteLength, shapeSize, Tensor } from '@nibble/ir';
import type { TensorData } from '@nibble/ir';
import type { TensorMsg } from './proto-decode';
import { copyFixed, countFixed, countVarints, eachVarint, hostIsLittleEndian, ProtoReader, Span, swapBytes } from './wire';

const TWO_32 = 4294967296;

/** Bytes per element in raw_data (int4/uint4 are handled apart: two per byte). */
function elementBytes(dtype: DType): number {
  return DTYPES[dtype].bits / 8;
}

function allocate(dtype: DType, size: number): Exclude<TensorData, Uint8Array[]> {
  const t = new Tensor(dtype, [size]);
  return t.data as Exclude<TensorData, Uint8Array[]>;
}

function bytesOf(data: Exclude<TensorData, Uint8Array[]>): Uint8Array {
  return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
}

/** Which typed field holds each dtype when raw_data is absent, per onnx.proto. */
function typedField(dtype: DType): 'float_data' | 'double_data' | 'int64_data' | 'uint64_data' | 'string_data' | 'int32_data' {
  switch (dtype) {
    case 'float32': return 'float_data';
    case 'float64': return 'double_data';
    case 'int64': return 'int64_data';
    case 'uint32': case 'uint64': return 'uint64_data';
    case 'string': return 'string_data';
    default: return 'int32_data';
  }
}

/**
 * An IR tensor from a TensorProto. The shape is checked (and its element
 * count bounded) before anything is allocated, and the data's length must
 * match the shape exactly: no silent zero-fill, no truncation.
 */
export function tensorFromProto(r: ProtoReader, m: TensorMsg, what: string): Tensor {
  const label = `${what}${m.name ? ` '${m.name}'` : ''}`;
  const bad = (message: string): never => {
    throw new NibbleError('E_FILE_FORMAT', `${label}: ${message}`, {
      value: m.name || undefined,
      hint: 'the file is corrupt or was written by a faulty exporter',
    });
  };
  if (m.dataLocation === 1 || m.externalData.length > 0) {
    const location = m.externalData.find(([k]) => k === 'location')?.[1];
    throw new NibbleError('E_UNSUPPORTED', `${label} keeps its data in an external file${location ? ` ('${location}')` : ''}; nibble reads only self-contained models`, {
      value: m.name || undefined,
      hint: 'save the model with all tensors inside the .onnx file (in the onnx Python package: onnx.save_model(model, path, save_as_external_data=False)); models over 2 GB cannot be stored that way',
    });
  }
  if (m.hasSegment) {
    throw new NibbleError('E_UNSUPPORTED', `${label} is split into segments, which nibble does not read`, {
      value: m.name || undefined,
      hint: 'save the model with whole tensors',
    });
  }
  if (m.dataType === 0) bad('has no data type');
  let dtype: DType;
  try {
    dtype = dtypeFromOnnx(m.dataType, label);
  } catch (e) {
    const ne = e as NibbleError;
    throw new NibbleError(ne.code, ne.message, { value: m.name || undefined, hint: ne.hint });
  }
  for (const d of m.dims) if (!Number.isInteger(d) || d < 0) bad(`dimension ${d} in [${m.dims.join(',')}] is not a non-negative integer`);
  const size = shapeSize(m.dims, label);
  const packed = dtype === 'int4' || dtype === 'uint4';

  if (m.rawData !== undefined) {
    if (dtype === 'string') bad('string tensors must use string_data, not raw_data');
    const want = packed ? packedByteLength(size) : size * elementBytes(dtype);
    if (m.rawData.length !== want) {
      bad(`shape [${m.dims.join(',')}] of ${dtype} needs ${want} bytes of raw_data, the file holds ${m.rawData.length}`);
    }
    const data = allocate(dtype, size);
    const out = bytesOf(data);
    out.set(m.rawData);
    if (!hostIsLittleEndian && !packed) swapBytes(out, elementBytes(dtype));
    return new Tensor(dtype, m.dims, data);
  }

  const field = typedField(dtype);
  const fieldSpans: Record<string, Span[]> = {
    float_data: m.floatData, double_data: m.doubleData, int64_data: m.int64Data, uint64_data: m.uint64Data, int32_data: m.int32Data,
  };
  // A field other than the one the dtype calls for is a malformed file, not data to guess at.
  for (const [name, spans] of Object.entries(fieldSpans)) {
    if (name !== field && spans.some((s) => s.end > s.start)) bad(`${dtype} data is stored in ${name}, which onnx.proto does not allow for ${dtype}`);
  }
  if (field !== 'string_data' && m.stringData.length > 0) bad(`${dtype} data is stored in string_data`);

  const wantCount = packed ? packedByteLength(size) : size;
  const mismatch = (count: number): never =>
    bad(`shape [${m.dims.join(',')}] needs ${wantCount} entries of ${field}${packed ? ' (two int4 elements per entry)' : ''}, the file holds ${count}`);

  if (field === 'string_data') {
    if (m.stringData.length !== size) mismatch(m.stringData.length);
    return new Tensor('string', m.dims, m.stringData.map((s) => s.slice()));
  }
  const spans = fieldSpans[field];
  if (field === 'float_data' || field === 'double_data') {
    const width = field === 'float_data' ? 4 : 8;
    const count = countFixed(r, spans, width, field);
    if (count !== size) mismatch(count);
    const data = allocate(dtype, size);
    copyFixed(r, spans, bytesOf(data), width);
    return new Tensor(dtype, m.dims, data);
  }
  const count = countVarints(r, spans, field);
  if (count !== wantCount) mismatch(count);
  const data = allocate(dtype, size);
  if (field === 'int64_data' || dtype === 'uint64') {
    // Write both 32-bit halves straight into the 64-bit storage: no BigInt per element.
    const halves = new Uint32Array(data.buffer, data.byteOffset, size * 2);
    const [loAt, hiAt] = hostIsLittleEndian ? [0, 1] : [1, 0];
    eachVarint(r, spans, (lo, hi, i) => {
      halves[2 * i + loAt] = lo;
      halves[2 * i + hiAt] = hi;
    });
  } else if (dtype === 'uint32') {
    const out = data as Uint32Array;
    eachVarint(r, spans, (lo, hi, i) => {
      if (hi !== 0) bad(`uint32 element ${i} = ${hi * TWO_32 + lo} is out of range`);
      out[i] = lo;
    });
  } else if (dtype === 'bool') {
    const out = data as Uint8Array;
    eachVarint(r, spans, (lo, hi, i) => { out[i] = lo !== 0 || hi !== 0 ? 1 : 0; });
  } else {
    // int32_data: one element per entry (float16 as its bits), or one packed byte for int4/uint4.
    // Narrower types keep the low bits, as a C++ static_cast would.
    const out = data as Int32Array;
    eachVarint(r, spans, (lo, _hi, i) => { out[i] = lo | 0; });
  }
  return new Tensor(dtype, m.dims, data);
}
