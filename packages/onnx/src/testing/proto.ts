import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as protobuf from 'protobufjs';

/** onnx.proto as text; variants of it let tests write the encodings other exporters use. */
export const ONNX_PROTO = readFileSync(join(__dirname, '..', 'onnx.proto'), 'utf8');

/**
 * An independent ONNX codec for tests: protobufjs driven by onnx.proto.
 * `edit` rewrites the schema text first (e.g. unpacked repeated fields, or
 * extra fields a newer ONNX might add).
 */
export function onnxTypes(edit: (proto: string) => string = (s) => s): { Model: protobuf.Type; root: protobuf.Root } {
  const root = protobuf.parse(edit(ONNX_PROTO), { keepCase: true }).root;
  return { Model: root.lookupType('onnx.ModelProto'), root };
}

const standard = onnxTypes();

/** Encode a ModelProto given as a plain object (snake_case field names, as in onnx.proto; int64 as numbers or decimal strings). */
export function encodeModel(obj: Record<string, unknown>, types = standard): Uint8Array {
  // fromObject, not verify(): verify rejects int64 given as decimal strings.
  return types.Model.encode(types.Model.fromObject(obj)).finish();
}

/** Decode with protobufjs into a plain object (int64 as strings, bytes as Uint8Array). */
export function decodeModel(bytes: Uint8Array, types = standard): Record<string, any> {
  const m = types.Model.decode(bytes);
  return types.Model.toObject(m, { longs: String, enums: Number, bytes: Array, defaults: false, arrays: false }) as Record<string, any>;
}

/** A minimal valid model around `graph` (IR 10, opset 21 unless given). */
export function modelObject(graph: Record<string, unknown>, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { ir_version: 10, opset_import: [{ domain: '', version: 21 }], graph: { name: 'g', ...graph }, ...extra };
}

export function tensorType(elemType: number, dims: (number | string | null)[]): Record<string, unknown> {
  return {
    tensor_type: {
      elem_type: elemType,
      shape: { dim: dims.map((d) => (typeof d === 'number' ? { dim_value: String(d) } : typeof d === 'string' ? { dim_param: d } : {})) },
    },
  };
}

export function floatBytes(values: number[]): Uint8Array {
  return new Uint8Array(new Float32Array(values).buffer);
}
