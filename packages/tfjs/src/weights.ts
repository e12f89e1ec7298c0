import { NibbleError, Tensor, float16BitsToNumber, shapeSize } from '@nibble/ir';

/** One weight of a TF.js weights manifest. */
export interface WeightSpec {
  name: string;
  shape: number[];
  dtype: string;
  quantization?: { dtype: string; min?: number; scale?: number };
}

export interface WeightGroup {
  paths: string[];
  weights: WeightSpec[];
}

/** Where shard bytes come from: a directory, or buffers handed over in memory. */
export type ShardLoader = (path: string) => Promise<Uint8Array>;

const STORED_BYTES: Record<string, number> = { float32: 4, int32: 4, bool: 1, uint8: 1, uint16: 2, float16: 2 };

function fail(file: string | undefined, message: string, hint: string, code: 'E_FILE_FORMAT' | 'E_TRUNCATED' | 'E_UNSUPPORTED' = 'E_FILE_FORMAT'): NibbleError {
  return new NibbleError(code, `${file ? `${file}: ` : ''}${message}`, { file, hint });
}

/** Check the manifest's structure before any shard is read. */
export function parseManifest(raw: unknown, file?: string): WeightGroup[] {
  if (raw === undefined || raw === null) return [];
  if (!Array.isArray(raw)) throw fail(file, 'weightsManifest is not a list of weight groups', 'the model.json is corrupt');
  return raw.map((g, gi) => {
    const group = g as Partial<WeightGroup>;
    if (!Array.isArray(group.paths) || !Array.isArray(group.weights) || group.paths.some((p) => typeof p !== 'string')) {
      throw fail(file, `weightsManifest group ${gi} needs 'paths' and 'weights' lists`, 'the model.json is corrupt');
    }
    for (const w of group.weights) {
      if (typeof w?.name !== 'string' || !Array.isArray(w.shape) || typeof w.dtype !== 'string') {
        throw fail(file, `weightsManifest group ${gi} holds a weight without name, shape and dtype`, 'the model.json is corrupt');
      }
    }
    return group as WeightGroup;
  });
}

/**
 * Decode every weight of the manifest. Shards of a group are concatenated in
 * order and the group's weights read from them one after another; quantized
 * weights are dequantized as TF.js does (value = q * scale + min, computed in
 * double precision and stored as float32; float16 decoded exactly).
 */
export async function loadWeights(groups: WeightGroup[], source: ShardLoader | Uint8Array | null, file?: string): Promise<Map<string, Tensor>> {
  const out = new Map<string, Tensor>();
  if (groups.some((g) => g.weights.length > 0) && source === null) {
    throw new NibbleError('E_FILE_NOT_FOUND', `${file ?? 'model'}: the weights manifest names ${groups.flatMap((g) => g.paths).join(', ')} but no weights were given`, {
      file,
      hint: 'pass the weight shards with the model.json',
    });
  }
  if (source instanceof Uint8Array) {
    // One buffer for every group, as TF.js's ModelArtifacts.weightData holds them.
    let offset = 0;
    for (const [gi, group] of groups.entries()) {
      for (const spec of group.weights) {
        const { tensor, byteLength } = decodeWeight(spec, source, offset, file, `the weights buffer (group ${gi})`);
        out.set(spec.name, tensor);
        offset += byteLength;
      }
    }
    return out;
  }
  for (const [gi, group] of groups.entries()) {
    const shards = await Promise.all(group.paths.map((p) => source!(p)));
    const total = shards.reduce((n, s) => n + s.byteLength, 0);
    const bytes = new Uint8Array(total);
    let at = 0;
    for (const s of shards) {
      bytes.set(s, at);
      at += s.byteLength;
    }
    let offset = 0;
    for (const spec of group.weights) {
      const { tensor, byteLength } = decodeWeight(spec, bytes, offset, file, `group ${gi} (${group.paths.join(', ')})`);
      out.set(spec.name, tensor);
      offset += byteLength;
    }
  }
  return out;
}

function decodeWeight(spec: WeightSpec, bytes: Uint8Array, offset: number, file: string | undefined, where: string): { tensor: Tensor; byteLength: number } {
  const size = shapeSize(spec.shape, `weight '${spec.name}'`);
  if (spec.dtype === 'string') {
    // Strings are length-prefixed; step over them so the weights after stay aligned.
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    let p = offset;
    for (let i = 0; i < size; i++) {
      if (p + 4 > bytes.byteLength) throw fail(file, `weight '${spec.name}' runs past the end of ${where}`, 'a shard is missing or cut short', 'E_TRUNCATED');
      p += 4 + view.getUint32(p, true);
    }
    return { tensor: new Tensor('string', spec.shape), byteLength: p - offset };
  }
  const q = spec.quantization;
  const stored = q ? q.dtype : spec.dtype;
  const per = STORED_BYTES[stored];
  if (!per || (!q && (stored === 'uint8' || stored === 'uint16' || stored === 'float16'))) {
    throw fail(file, `weight '${spec.name}' has dtype ${spec.dtype}${q ? ` quantized as ${q.dtype}` : ''}, which nibble does not read`,
      'supported: float32, int32 and bool weights, quantized as uint8, uint16 or float16', 'E_UNSUPPORTED');
  }
  const byteLength = size * per;
  if (offset + byteLength > bytes.byteLength) {
    throw fail(file, `weight '${spec.name}' needs bytes ${offset}..${offset + byteLength} but ${where} holds ${bytes.byteLength}`,
      'a shard is missing or cut short; copy the model again', 'E_TRUNCATED');
  }
  const raw = bytes.slice(offset, offset + byteLength);
  if (!q) {
    const dtype = spec.dtype === 'bool' ? 'bool' : spec.dtype === 'int32' ? 'int32' : 'float32';
    if (spec.dtype !== dtype) throw fail(file, `weight '${spec.name}' has dtype ${spec.dtype}`, 'supported: float32, int32, bool', 'E_UNSUPPORTED');
    const t = new Tensor(dtype, spec.shape);
    new Uint8Array((t.data as Uint8Array).buffer).set(raw);
    return { tensor: t, byteLength };
  }
  const values = q.dtype === 'uint8' ? raw : new Uint16Array(raw.buffer);
  if (q.dtype === 'float16') {
    if (spec.dtype !== 'float32') throw fail(file, `weight '${spec.name}': float16 quantization of ${spec.dtype}`, 'float16 applies to float32 weights only', 'E_UNSUPPORTED');
    const f = new Float32Array(size);
    for (let i = 0; i < size; i++) f[i] = float16BitsToNumber(values[i]);
    return { tensor: new Tensor('float32', spec.shape, f), byteLength };
  }
  if (typeof q.min !== 'number' || typeof q.scale !== 'number') {
    throw fail(file, `weight '${spec.name}' is quantized as ${q.dtype} without min and scale`, 'the model.json is corrupt');
  }
  if (spec.dtype === 'int32') {
    const t = new Int32Array(size);
    for (let i = 0; i < size; i++) t[i] = Math.round(values[i] * q.scale + q.min);
    return { tensor: new Tensor('int32', spec.shape, t), byteLength };
  }
  const f = new Float32Array(size);
  for (let i = 0; i < size; i++) f[i] = values[i] * q.scale + q.min;
  return { tensor: new Tensor('float32', spec.shape, f), byteLength };
}
