import { DType, NibbleError, numberToFloat16Bits, Tensor } from '@nibble/ir';
import type { TensorData } from '@nibble/ir';
import type { Ort } from './ort-module';

type OrtTensor = InstanceType<Ort['Tensor']>;

/** IR dtypes onnxruntime's JS API takes and gives, with the same names. */
const ORT_TYPES: ReadonlySet<DType> = new Set<DType>([
  'float32', 'float64', 'float16', 'int8', 'uint8', 'int16', 'uint16', 'int32', 'uint32', 'int64', 'uint64', 'bool',
]);

function unsupported(dtype: string, name: string): never {
  throw new NibbleError('E_UNSUPPORTED', `value '${name}' is ${dtype}, which nibble does not pass to or from onnxruntime`, {
    value: name,
    hint: `supported types: ${[...ORT_TYPES].join(', ')}`,
  });
}

/**
 * An onnxruntime tensor over the IR tensor's storage (no copy: the IR's
 * storage types are those onnxruntime wants, float16 as its raw bits and
 * bool as one byte per element).
 */
export function toOrtTensor(ort: Ort, t: Tensor, name: string): OrtTensor {
  if (!ORT_TYPES.has(t.dtype)) unsupported(t.dtype, name);
  const data = t.data as Exclude<TensorData, Uint8Array[]>;
  return new ort.Tensor(t.dtype as 'float32', data as Float32Array, [...t.shape]);
}

function copyInto<T extends Exclude<TensorData, Uint8Array[]>>(Ctor: { new (n: number): T }, src: ArrayLike<number> | ArrayLike<bigint>): T {
  const out = new Ctor(src.length);
  (out as unknown as { set(a: ArrayLike<unknown>): void }).set(src);
  return out;
}

/** The typed array each dtype is held in (float16 as raw bits). */
const STORAGE: Partial<Record<DType, Function>> = {
  float32: Float32Array, float64: Float64Array, int8: Int8Array, uint8: Uint8Array, bool: Uint8Array, int16: Int16Array,
  uint16: Uint16Array, int32: Int32Array, uint32: Uint32Array, int64: BigInt64Array, uint64: BigUint64Array, float16: Uint16Array,
};

/**
 * An IR tensor over an onnxruntime output. An IR tensor must own its
 * storage: onnxruntime-web's outputs may be views of its wasm heap, so they
 * are copied; onnxruntime-node hands each output out in an ArrayBuffer of
 * its own (`owned`), which is taken as it is when it holds exactly the
 * tensor (a copy of every fetched activation cost about a third of fetching
 * them, docs/benchmarks.md).
 */
export function fromOrtTensor(o: OrtTensor, name: string, owned = false): Tensor {
  const dtype = o.type as DType;
  if (!ORT_TYPES.has(dtype)) unsupported(o.type, name);
  const shape = [...o.dims];
  const d = o.data as unknown as ArrayLike<number> & ArrayLike<bigint>;
  const view = d as unknown as ArrayBufferView;
  if (owned && d instanceof (STORAGE[dtype] as { new (): object }) && view.byteOffset === 0 && view.buffer.byteLength === view.byteLength) {
    return new Tensor(dtype, shape, d as unknown as Exclude<TensorData, Uint8Array[]>);
  }
  switch (dtype) {
    case 'float32': return new Tensor(dtype, shape, copyInto(Float32Array, d));
    case 'float64': return new Tensor(dtype, shape, copyInto(Float64Array, d));
    case 'int8': return new Tensor(dtype, shape, copyInto(Int8Array, d));
    case 'uint8': case 'bool': return new Tensor(dtype, shape, copyInto(Uint8Array, d));
    case 'int16': return new Tensor(dtype, shape, copyInto(Int16Array, d));
    case 'uint16': return new Tensor(dtype, shape, copyInto(Uint16Array, d));
    case 'int32': return new Tensor(dtype, shape, copyInto(Int32Array, d));
    case 'uint32': return new Tensor(dtype, shape, copyInto(Uint32Array, d));
    case 'int64': return new Tensor(dtype, shape, copyInto(BigInt64Array, d));
    case 'uint64': return new Tensor(dtype, shape, copyInto(BigUint64Array, d));
    case 'float16': {
      // Raw bits (Uint16Array) where the runtime gives them; a Float16Array's numbers are re-encoded.
      if (d instanceof Uint16Array) return new Tensor(dtype, shape, copyInto(Uint16Array, d));
      const bits = new Uint16Array(d.length);
      for (let i = 0; i < d.length; i++) bits[i] = numberToFloat16Bits(Number(d[i]));
      return new Tensor(dtype, shape, bits);
    }
    default: return unsupported(dtype, name);
  }
}
