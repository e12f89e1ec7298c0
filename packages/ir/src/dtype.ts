import { NibbleError } from './errors';

/** Element types. Names follow ONNX's TensorProto.DataType, lower-cased. */
export type DType =
  | 'float32'
  | 'float16'
  | 'float64'
  | 'int8'
  | 'uint8'
  | 'int16'
  | 'uint16'
  | 'int32'
  | 'uint32'
  | 'int64'
  | 'uint64'
  | 'bool'
  | 'int4'
  | 'uint4'
  | 'string';

export interface DTypeInfo {
  /** Short name used by the text printer: f32, i4, ... */
  short: string;
  /** Bits per element in storage (int4/uint4: 4, packed two per byte). */
  bits: number;
  /** ONNX TensorProto.DataType number. */
  onnx: number;
  isFloat: boolean;
  isSigned: boolean;
}

export const DTYPES: Readonly<Record<DType, DTypeInfo>> = {
  float32: { short: 'f32', bits: 32, onnx: 1, isFloat: true, isSigned: true },
  uint8: { short: 'u8', bits: 8, onnx: 2, isFloat: false, isSigned: false },
  int8: { short: 'i8', bits: 8, onnx: 3, isFloat: false, isSigned: true },
  uint16: { short: 'u16', bits: 16, onnx: 4, isFloat: false, isSigned: false },
  int16: { short: 'i16', bits: 16, onnx: 5, isFloat: false, isSigned: true },
  int32: { short: 'i32', bits: 32, onnx: 6, isFloat: false, isSigned: true },
  int64: { short: 'i64', bits: 64, onnx: 7, isFloat: false, isSigned: true },
  string: { short: 'str', bits: 0, onnx: 8, isFloat: false, isSigned: false },
  bool: { short: 'bool', bits: 8, onnx: 9, isFloat: false, isSigned: false },
  float16: { short: 'f16', bits: 16, onnx: 10, isFloat: true, isSigned: true },
  float64: { short: 'f64', bits: 64, onnx: 11, isFloat: true, isSigned: true },
  uint32: { short: 'u32', bits: 32, onnx: 12, isFloat: false, isSigned: false },
  uint64: { short: 'u64', bits: 64, onnx: 13, isFloat: false, isSigned: false },
  uint4: { short: 'u4', bits: 4, onnx: 21, isFloat: false, isSigned: false },
  int4: { short: 'i4', bits: 4, onnx: 22, isFloat: false, isSigned: true },
};

const BY_ONNX = new Map<number, DType>(
  (Object.keys(DTYPES) as DType[]).map((d) => [DTYPES[d].onnx, d]),
);
const BY_SHORT = new Map<string, DType>(
  (Object.keys(DTYPES) as DType[]).map((d) => [DTYPES[d].short, d]),
);

export function dtypeFromOnnx(code: number, where = 'tensor'): DType {
  const d = BY_ONNX.get(code);
  if (!d) {
    throw new NibbleError('E_UNSUPPORTED', `${where}: ONNX data type ${code} is not supported`, {
      hint: `supported ONNX data types: ${[...BY_ONNX.keys()].sort((a, b) => a - b).join(', ')}`,
    });
  }
  return d;
}

export function dtypeFromShort(short: string): DType | undefined {
  return BY_SHORT.get(short);
}

/** Integer range of an integer dtype: [min, max]. */
export function integerRange(dtype: DType): [number, number] {
  switch (dtype) {
    case 'int4': return [-8, 7];
    case 'uint4': return [0, 15];
    case 'int8': return [-128, 127];
    case 'uint8': return [0, 255];
    case 'int16': return [-32768, 32767];
    case 'uint16': return [0, 65535];
    case 'int32': return [-2147483648, 2147483647];
    case 'uint32': return [0, 4294967295];
    case 'bool': return [0, 1];
    default:
      throw new NibbleError('E_INTERNAL', `integerRange: ${dtype} is not a bounded integer type`);
  }
}
