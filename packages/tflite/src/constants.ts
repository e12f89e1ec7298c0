import { NibbleError, Tensor, float16BitsToNumber, packedByteLength, shapeSize, type DType } from '@nibble/ir';
import type { TfliteFile, TfliteTensor } from './model-file';

const TFLITE_DTYPES: Record<string, { dtype: DType; bytes: number }> = {
  FLOAT32: { dtype: 'float32', bytes: 4 },
  FLOAT16: { dtype: 'float16', bytes: 2 },
  FLOAT64: { dtype: 'float64', bytes: 8 },
  INT32: { dtype: 'int32', bytes: 4 },
  INT64: { dtype: 'int64', bytes: 8 },
  INT16: { dtype: 'int16', bytes: 2 },
  INT8: { dtype: 'int8', bytes: 1 },
  UINT8: { dtype: 'uint8', bytes: 1 },
  UINT16: { dtype: 'uint16', bytes: 2 },
  UINT32: { dtype: 'uint32', bytes: 4 },
  BOOL: { dtype: 'bool', bytes: 1 },
  // Two per byte, element 2i in the low nibble (the schema's INT4; nibble's int4 packing is the same).
  INT4: { dtype: 'int4', bytes: 0.5 },
};

/** The IR dtype of a TFLite tensor type; a typed error for types nibble cannot hold. */
export function irDtype(t: TfliteTensor, file?: string): DType {
  const d = TFLITE_DTYPES[t.type];
  if (!d) {
    throw new NibbleError('E_UNSUPPORTED', `${file ? `${file}: ` : ''}tensor '${t.name}' has type ${t.type}, which nibble does not support`, {
      file,
      value: t.name,
      hint: `supported tensor types: ${Object.keys(TFLITE_DTYPES).join(', ')}`,
    });
  }
  return d.dtype;
}

/** Buffer bytes of a tensor, or null when it has none (an activation). */
export function tensorBytes(model: TfliteFile, t: TfliteTensor): Uint8Array | null {
  if (t.buffer === 0) return null;
  const b = model.buffers[t.buffer];
  if (!b) {
    throw model.fb.formatError(`tensor '${t.name}' names buffer ${t.buffer}, but the model has ${model.buffers.length}`);
  }
  return b.byteLength > 0 ? b : null;
}

/**
 * The contents of a dense constant tensor. Bytes are copied into fresh,
 * aligned storage (buffers in a file need not be aligned for the element type).
 */
export function decodeConstant(model: TfliteFile, t: TfliteTensor): Tensor {
  const bytes = tensorBytes(model, t);
  if (!bytes) throw new NibbleError('E_INTERNAL', `decodeConstant: tensor '${t.name}' has no data`);
  const dtype = irDtype(t, model.fb.file);
  const size = shapeSize(t.shape, `tensor '${t.name}'`);
  const want = dtype === 'int4' ? packedByteLength(size) : size * TFLITE_DTYPES[t.type].bytes;
  if (bytes.byteLength !== want) {
    throw model.fb.formatError(`tensor '${t.name}' (${t.type}[${t.shape.join(',')}]) needs ${want} bytes of data, its buffer has ${bytes.byteLength}`);
  }
  const tensor = new Tensor(dtype, t.shape);
  new Uint8Array((tensor.data as Uint8Array).buffer).set(bytes);
  return tensor;
}

/** float32 values of a float16 tensor (exact: every float16 is a float32). */
export function float16ToFloat32(t: Tensor): Tensor {
  const src = t.data as Uint16Array;
  const out = new Float32Array(src.length);
  // A table of all 65536 values would cost more than the weights of a small model; decode directly.
  for (let i = 0; i < src.length; i++) out[i] = float16BitsToNumber(src[i]);
  return new Tensor('float32', t.shape, out);
}

/** f = scale * (q - zero_point), per tensor or per axis, as TFLite dequantizes. */
export function dequantizeAffine(q: Tensor, t: TfliteTensor, file?: string): Tensor {
  const qp = t.quantization;
  if (!qp) {
    throw new NibbleError('E_FILE_FORMAT', `${file ? `${file}: ` : ''}DEQUANTIZE input '${t.name}' (${t.type}) has no quantization parameters`, { file, value: t.name });
  }
  const values = q.toFloat64();
  const out = new Float32Array(values.length);
  const axis = qp.scale.length > 1 ? qp.quantizedDimension : -1;
  let inner = 1;
  if (axis >= 0) for (let i = axis + 1; i < q.shape.length; i++) inner *= q.shape[i];
  const channels = axis >= 0 ? q.shape[axis] : 1;
  if (axis >= 0 && channels !== qp.scale.length) {
    throw new NibbleError('E_FILE_FORMAT', `tensor '${t.name}': ${qp.scale.length} scales for ${channels} channels of axis ${axis}`, { file, value: t.name });
  }
  for (let i = 0; i < values.length; i++) {
    const c = axis >= 0 ? Math.floor(i / inner) % channels : 0;
    out[i] = qp.scale[c] * (values[i] - (qp.zeroPoint[c] ?? 0));
  }
  return new Tensor('float32', q.shape, out);
}
