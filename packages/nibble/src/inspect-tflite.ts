import { readFileSync } from 'node:fs';
import { NibbleError } from '@nibble/ir';
import { decodeConstant, parseTfliteFile, type TfliteFile, type TfliteTensor } from '@nibble/tflite';

/*
 * What a quantized .tflite holds, tensor by tensor: type, shape, scales and
 * zero points, and the bits its levels use. The IR reader takes float
 * TFLite models only (it lowers them to ONNX ops); a file the tflite
 * targets wrote is shown from its flatbuffer as it is.
 */

export interface TfliteTensorReport {
  name: string;
  type: string;
  shape: number[];
  /** 'weight' (constant) or 'activation'. */
  kind: 'weight' | 'activation';
  scales: number;
  /** First scale and zero point (per tensor: the only ones). */
  scale: number | null;
  zeroPoint: number | null;
  quantizedDimension: number | null;
  /** Bits the levels span: a filter's widest level, an activation's grid (MINIMUM/MAXIMUM bounds after its op), else the type's width. */
  bits: number | null;
}

export interface TfliteReport {
  description: string;
  ops: Record<string, number>;
  tensors: TfliteTensorReport[];
  bytes: number;
}

const WIDTH: Record<string, number> = { INT4: 4, INT8: 8, UINT8: 8, INT16: 16, INT32: 32 };

function weightBits(file: TfliteFile, t: TfliteTensor): number | null {
  if (t.type !== 'INT8' && t.type !== 'INT4') return WIDTH[t.type] ?? null;
  const values = decodeConstant(file, t).toFloat64();
  let widest = 0;
  for (const v of values) widest = Math.max(widest, v < 0 ? -v - 1 : v);
  return Math.max(1, Math.ceil(Math.log2(widest + 1)) + 1);
}

/** Whether the file holds integer (quantized) tensors: then it is shown by inspectTflite rather than read into the IR. */
export function isQuantizedTflite(path: string): boolean {
  if (!path.toLowerCase().endsWith('.tflite')) return false;
  try {
    const file = parseTfliteFile(new Uint8Array(readFileSync(path)), path);
    return file.subgraphs[0].tensors.some((t) => t.quantization && (t.type === 'INT8' || t.type === 'UINT8' || t.type === 'INT4'));
  } catch {
    return false;
  }
}

export function inspectTflite(path: string): TfliteReport {
  let bytes: Buffer;
  try {
    bytes = readFileSync(path);
  } catch (e) {
    throw new NibbleError('E_FILE_NOT_FOUND', `${path}: cannot be read`, { file: path, cause: e });
  }
  const file = parseTfliteFile(new Uint8Array(bytes), path);
  const sg = file.subgraphs[0];
  const ops: Record<string, number> = {};
  // An activation's grid narrower than int8 ends at the constant of the MINIMUM (MAXIMUM) that writes it.
  const bounds = new Map<number, { lo: number; hi: number }>();
  for (const op of sg.operators) {
    ops[op.code.name] = (ops[op.code.name] ?? 0) + 1;
    if (op.code.name !== 'MINIMUM' && op.code.name !== 'MAXIMUM') continue;
    const c = sg.tensors[op.inputs[1]];
    if (!c || c.buffer === 0 || c.type !== 'INT8') continue;
    const level = decodeConstant(file, c).toFloat64()[0];
    const before = bounds.get(op.inputs[0]) ?? { lo: -128, hi: 127 };
    bounds.set(op.outputs[0], op.code.name === 'MINIMUM' ? { ...before, hi: level } : { ...before, lo: level });
  }
  const tensors = sg.tensors.map((t): TfliteTensorReport => {
    const weight = file.buffers[t.buffer]?.byteLength > 0;
    const q = t.quantization;
    const b = bounds.get(t.index);
    return {
      name: t.name, type: t.type, shape: t.shape, kind: weight ? 'weight' : 'activation',
      scales: q?.scale.length ?? 0, scale: q?.scale[0] ?? null, zeroPoint: q?.zeroPoint[0] ?? null,
      quantizedDimension: q && q.scale.length > 1 ? q.quantizedDimension : null,
      bits: weight ? weightBits(file, t) : b ? Math.log2(b.hi - b.lo + 1) : WIDTH[t.type] ?? null,
    };
  });
  return { description: file.description ?? '', ops, tensors, bytes: bytes.byteLength };
}
