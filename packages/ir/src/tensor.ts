import { DType, DTYPES } from './dtype';
import { NibbleError } from './errors';
import { float16BitsToNumber, numberToFloat16Bits } from './float16';
import { packedByteLength, packNibbles, unpackNibbles } from './nibbles';

/**
 * Storage of each dtype. float16 keeps raw bits (Uint16Array) so files round
 * trip bit for bit; int4/uint4 keep the packed bytes; strings keep raw bytes.
 */
export type TensorData =
  | Float32Array
  | Float64Array
  | Int8Array
  | Uint8Array
  | Int16Array
  | Uint16Array
  | Int32Array
  | Uint32Array
  | BigInt64Array
  | BigUint64Array
  | Uint8Array[];

/** The largest element count nibble will allocate for one tensor (2^31 - 1). */
export const MAX_TENSOR_ELEMENTS = 0x7fffffff;

export type Shape = readonly number[];

/** Element count of a static shape; a typed error when it cannot be held. */
export function shapeSize(shape: Shape, where = 'tensor'): number {
  let n = 1;
  for (const d of shape) {
    if (!Number.isInteger(d) || d < 0) {
      throw new NibbleError('E_SHAPE', `${where}: dimension ${d} in [${shape.join(',')}] is not a non-negative integer`);
    }
    n *= d;
    if (n > MAX_TENSOR_ELEMENTS) {
      throw new NibbleError(
        'E_TOO_LARGE',
        `${where}: shape [${shape.join(',')}] has more than ${MAX_TENSOR_ELEMENTS} elements`,
        { hint: 'the file is corrupt or the model is too large for nibble' },
      );
    }
  }
  return n;
}

function storageLength(dtype: DType, size: number): number {
  return dtype === 'int4' || dtype === 'uint4' ? packedByteLength(size) : size;
}

function allocate(dtype: DType, size: number): TensorData {
  switch (dtype) {
    case 'float32': return new Float32Array(size);
    case 'float64': return new Float64Array(size);
    case 'float16': return new Uint16Array(size);
    case 'int8': return new Int8Array(size);
    case 'uint8': case 'bool': return new Uint8Array(size);
    case 'int16': return new Int16Array(size);
    case 'uint16': return new Uint16Array(size);
    case 'int32': return new Int32Array(size);
    case 'uint32': return new Uint32Array(size);
    case 'int64': return new BigInt64Array(size);
    case 'uint64': return new BigUint64Array(size);
    case 'int4': case 'uint4': return new Uint8Array(packedByteLength(size));
    case 'string': return Array.from({ length: size }, () => new Uint8Array(0));
  }
}

const STORAGE_CTOR: Partial<Record<DType, { name: string }>> = {
  float32: Float32Array, float64: Float64Array, float16: Uint16Array, int8: Int8Array,
  uint8: Uint8Array, bool: Uint8Array, int16: Int16Array, uint16: Uint16Array,
  int32: Int32Array, uint32: Uint32Array, int64: BigInt64Array, uint64: BigUint64Array,
  int4: Uint8Array, uint4: Uint8Array,
};

/** An immutable-by-convention dense tensor. */
export class Tensor {
  readonly dtype: DType;
  readonly shape: Shape;
  readonly data: TensorData;
  readonly size: number;

  constructor(dtype: DType, shape: Shape, data?: TensorData) {
    this.dtype = dtype;
    this.shape = Object.freeze([...shape]);
    this.size = shapeSize(shape);
    if (data === undefined) {
      this.data = allocate(dtype, this.size);
      return;
    }
    const want = storageLength(dtype, this.size);
    const ctor = STORAGE_CTOR[dtype];
    const ok = dtype === 'string' ? Array.isArray(data) : ctor !== undefined && data.constructor.name === ctor.name;
    if (!ok) {
      throw new NibbleError('E_INTERNAL', `Tensor(${dtype}): storage must be ${ctor?.name ?? 'Uint8Array[]'}, got ${data.constructor.name}`);
    }
    if (data.length !== want) {
      throw new NibbleError('E_SHAPE', `Tensor(${dtype}, [${shape.join(',')}]): needs ${want} storage elements, got ${data.length}`);
    }
    this.data = data;
  }

  /** A tensor of `dtype` holding `values` (numbers; int4/uint4 are packed, float16 encoded). */
  static from(dtype: DType, shape: Shape, values: ArrayLike<number> | ArrayLike<bigint>): Tensor {
    const size = shapeSize(shape);
    if (values.length !== size) {
      throw new NibbleError('E_SHAPE', `Tensor.from(${dtype}, [${shape.join(',')}]): ${values.length} values for ${size} elements`);
    }
    if (dtype === 'int4' || dtype === 'uint4') {
      return new Tensor(dtype, shape, packNibbles(values as ArrayLike<number>, dtype === 'int4'));
    }
    const t = new Tensor(dtype, shape);
    const d = t.data;
    if (dtype === 'float16') {
      for (let i = 0; i < size; i++) (d as Uint16Array)[i] = numberToFloat16Bits(Number(values[i]));
    } else if (dtype === 'int64' || dtype === 'uint64') {
      for (let i = 0; i < size; i++) (d as BigInt64Array)[i] = BigInt(values[i] as number);
    } else if (dtype === 'string') {
      throw new NibbleError('E_INTERNAL', 'Tensor.from: use the constructor for string tensors');
    } else {
      for (let i = 0; i < size; i++) (d as Float32Array)[i] = Number(values[i]);
    }
    return t;
  }

  static scalar(dtype: DType, value: number): Tensor {
    return Tensor.from(dtype, [], [value]);
  }

  get rank(): number {
    return this.shape.length;
  }

  /** Bytes of storage as a file would hold them. */
  get byteLength(): number {
    if (this.dtype === 'string') return (this.data as Uint8Array[]).reduce((n, s) => n + s.length, 0);
    return (this.data as Exclude<TensorData, Uint8Array[]>).byteLength;
  }

  /** Element values as float64 numbers (float16 decoded, int4 unpacked, int64 converted). */
  toFloat64(): Float64Array {
    const out = new Float64Array(this.size);
    const d = this.data;
    switch (this.dtype) {
      case 'string':
        throw new NibbleError('E_UNSUPPORTED', 'string tensors have no numeric values');
      case 'float16':
        for (let i = 0; i < this.size; i++) out[i] = float16BitsToNumber((d as Uint16Array)[i]);
        return out;
      case 'int4':
      case 'uint4':
        out.set(unpackNibbles(d as Uint8Array, this.size, this.dtype === 'int4'));
        return out;
      case 'int64':
      case 'uint64':
        for (let i = 0; i < this.size; i++) out[i] = Number((d as BigInt64Array)[i]);
        return out;
      default:
        out.set(d as Float32Array);
        return out;
    }
  }

  toFloat32(): Float32Array {
    if (this.dtype === 'float32') return (this.data as Float32Array).slice();
    return Float32Array.from(this.toFloat64());
  }

  /** Element values as plain numbers (for shapes, axes and small integer tensors). */
  toNumbers(): number[] {
    return Array.from(this.toFloat64());
  }

  /** Unpacked integer values of an int4/uint4 tensor. */
  nibbles(): Int8Array {
    if (this.dtype !== 'int4' && this.dtype !== 'uint4') {
      throw new NibbleError('E_INTERNAL', `nibbles(): tensor is ${this.dtype}, not int4/uint4`);
    }
    return unpackNibbles(this.data as Uint8Array, this.size, this.dtype === 'int4');
  }

  /** Same data, another shape with the same element count. */
  reshape(shape: Shape): Tensor {
    if (shapeSize(shape) !== this.size) {
      throw new NibbleError('E_SHAPE', `reshape: [${this.shape.join(',')}] to [${shape.join(',')}] changes the element count`);
    }
    return new Tensor(this.dtype, shape, this.data);
  }

  describe(): string {
    return `${DTYPES[this.dtype].short}[${this.shape.join(',')}]`;
  }
}
