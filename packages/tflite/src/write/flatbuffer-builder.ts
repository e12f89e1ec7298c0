import * as flatbuffers from 'flatbuffers';
import { F, OPTIONS_TYPE, TENSOR_TYPES, builtinName } from '../schema';

/*
 * Serializes a TFLite model description (tensors, operators, options as
 * field lists) into flatbuffer bytes, with the flatbuffers npm package's
 * Builder and the field ids in ../schema: the writer's back end, and the
 * tests' builder of single operators and malformed files. The Builder
 * lays out every table in call order, so the same description gives the
 * same bytes.
 */

export interface TestTensor {
  name: string;
  shape: number[];
  type?: (typeof TENSOR_TYPES)[number];
  /** Constant contents (little-endian bytes of the typed array). */
  data?: Float32Array | Int32Array | Uint16Array | Int8Array | Uint8Array;
  quantization?: { scale: number[]; zeroPoint: number[]; quantizedDimension?: number };
  /** Shape with -1 for dimensions fixed only at run time (the batch). */
  shapeSignature?: number[];
  /** TFLite sparsity: levels in traversal order, dense (a size) or CSR (segments and indices, stored as uint8 or int32). */
  sparsity?: {
    traversalOrder: number[];
    blockMap?: number[];
    levels: ({ size: number } | { segments: number[]; indices: number[]; uint8?: boolean })[];
  };
}

/** An option field: [field id, kind, value]. */
export type OptionField = [number, 'i8' | 'i32' | 'f32' | 'bool', number | boolean] | [number, 'ints', number[]];

export interface TestOperator {
  /** Builtin operator name (e.g. 'CONV_2D'), or a custom code. */
  op: string;
  custom?: boolean;
  inputs: number[];
  outputs: number[];
  options?: OptionField[];
  customOptions?: Uint8Array;
}

export interface TestModel {
  tensors: TestTensor[];
  operators: TestOperator[];
  inputs: number[];
  outputs: number[];
  description?: string;
  /** Model metadata entries (name and bytes, each in a buffer of its own), e.g. nibble's preprocessing. */
  metadata?: { name: string; data: Uint8Array }[];
  /** Operator version by builtin name (default 1): kernels check it against what the file uses. */
  versions?: Readonly<Record<string, number>>;
}

const BUILTIN_CODES = new Map<string, number>();
for (let i = 0; i < 200; i++) BUILTIN_CODES.set(builtinName(i), i);

function intVector(b: flatbuffers.Builder, values: number[]): number {
  b.startVector(4, values.length, 4);
  for (let i = values.length - 1; i >= 0; i--) b.addInt32(values[i]);
  return b.endVector();
}

function floatVector(b: flatbuffers.Builder, values: number[]): number {
  b.startVector(4, values.length, 4);
  for (let i = values.length - 1; i >= 0; i--) b.addFloat32(values[i]);
  return b.endVector();
}

function offsetVector(b: flatbuffers.Builder, offsets: number[]): number {
  b.startVector(4, offsets.length, 4);
  for (let i = offsets.length - 1; i >= 0; i--) b.addOffset(offsets[i]);
  return b.endVector();
}

function byteVector(b: flatbuffers.Builder, bytes: Uint8Array): number {
  b.startVector(1, bytes.length, 16);
  for (let i = bytes.length - 1; i >= 0; i--) b.addInt8(bytes[i]);
  return b.endVector();
}

export function buildTflite(m: TestModel): Uint8Array {
  const b = new flatbuffers.Builder(1024);
  // Buffer 0 is the empty sentinel; each constant tensor gets its own buffer.
  const bufferData: (Uint8Array | null)[] = [null];
  const tensorBuffer = m.tensors.map((t) => {
    if (!t.data) return 0;
    bufferData.push(new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength));
    return bufferData.length - 1;
  });
  const metadataBuffer = (m.metadata ?? []).map((e) => {
    bufferData.push(e.data);
    return bufferData.length - 1;
  });
  const buffers = bufferData.map((d) => {
    const data = d ? byteVector(b, d) : 0;
    b.startObject(3);
    if (data) b.addFieldOffset(F.Buffer.data, data, 0);
    return b.endObject();
  });

  const indexVector = (values: number[], uint8: boolean): number => {
    let vec: number;
    if (uint8) {
      b.startVector(1, values.length, 4);
      for (let k = values.length - 1; k >= 0; k--) b.addInt8(values[k]);
      vec = b.endVector();
    } else {
      vec = intVector(b, values);
    }
    b.startObject(1);
    b.addFieldOffset(F.IndexVector.values, vec, 0);
    return b.endObject();
  };
  const sparsityOf = (sp: NonNullable<TestTensor['sparsity']>): number => {
    const levels = sp.levels.map((l) => {
      const csr = 'segments' in l ? { seg: indexVector(l.segments, !!l.uint8), idx: indexVector(l.indices, !!l.uint8), kind: l.uint8 ? 3 : 1 } : null;
      b.startObject(6);
      b.addFieldInt8(F.DimensionMetadata.format, csr ? 1 : 0, -1);
      if (!csr) b.addFieldInt32(F.DimensionMetadata.denseSize, (l as { size: number }).size, -1);
      if (csr) {
        b.addFieldInt8(F.DimensionMetadata.arraySegmentsType, csr.kind, -1);
        b.addFieldOffset(F.DimensionMetadata.arraySegments, csr.seg, 0);
        b.addFieldInt8(F.DimensionMetadata.arrayIndicesType, csr.kind, -1);
        b.addFieldOffset(F.DimensionMetadata.arrayIndices, csr.idx, 0);
      }
      return b.endObject();
    });
    const order = intVector(b, sp.traversalOrder);
    const blockMap = sp.blockMap ? intVector(b, sp.blockMap) : 0;
    const dims = offsetVector(b, levels);
    b.startObject(3);
    b.addFieldOffset(F.SparsityParameters.traversalOrder, order, 0);
    if (blockMap) b.addFieldOffset(F.SparsityParameters.blockMap, blockMap, 0);
    b.addFieldOffset(F.SparsityParameters.dimMetadata, dims, 0);
    return b.endObject();
  };

  const tensors = m.tensors.map((t, i) => {
    const sparsity = t.sparsity ? sparsityOf(t.sparsity) : 0;
    const name = b.createString(t.name);
    const shape = intVector(b, t.shape);
    const signature = t.shapeSignature ? intVector(b, t.shapeSignature) : 0;
    let quant = 0;
    if (t.quantization) {
      const scale = floatVector(b, t.quantization.scale);
      b.startVector(8, t.quantization.zeroPoint.length, 8);
      for (let k = t.quantization.zeroPoint.length - 1; k >= 0; k--) b.addInt64(BigInt(t.quantization.zeroPoint[k]));
      const zp = b.endVector();
      b.startObject(7);
      b.addFieldOffset(F.QuantizationParameters.scale, scale, 0);
      b.addFieldOffset(F.QuantizationParameters.zeroPoint, zp, 0);
      if (t.quantization.quantizedDimension) b.addFieldInt32(F.QuantizationParameters.quantizedDimension, t.quantization.quantizedDimension, 0);
      quant = b.endObject();
    }
    b.startObject(10);
    b.addFieldOffset(F.Tensor.shape, shape, 0);
    b.addFieldInt8(F.Tensor.type, TENSOR_TYPES.indexOf(t.type ?? 'FLOAT32'), -1);
    b.addFieldInt32(F.Tensor.buffer, tensorBuffer[i], -1);
    b.addFieldOffset(F.Tensor.name, name, 0);
    if (quant) b.addFieldOffset(F.Tensor.quantization, quant, 0);
    if (sparsity) b.addFieldOffset(F.Tensor.sparsity, sparsity, 0);
    if (signature) b.addFieldOffset(F.Tensor.shapeSignature, signature, 0);
    return b.endObject();
  });

  const codeKeys = [...new Set(m.operators.map((o) => `${o.custom ? 'custom' : 'builtin'}:${o.op}`))];
  const codes = codeKeys.map((k) => {
    const [kind, name] = k.split(/:(.*)/s);
    const custom = kind === 'custom' ? b.createString(name) : 0;
    const code = kind === 'custom' ? 32 : BUILTIN_CODES.get(name);
    if (code === undefined) throw new Error(`unknown builtin ${name}`);
    b.startObject(4);
    b.addFieldInt8(F.OperatorCode.deprecatedBuiltinCode, Math.min(code, 127), -1);
    if (custom) b.addFieldOffset(F.OperatorCode.customCode, custom, 0);
    b.addFieldInt32(F.OperatorCode.version, m.versions?.[name] ?? 1, -1);
    b.addFieldInt32(F.OperatorCode.builtinCode, code, -1);
    return b.endObject();
  });

  const operators = m.operators.map((o) => {
    const inputs = intVector(b, o.inputs);
    const outputs = intVector(b, o.outputs);
    let options = 0;
    if (o.options) {
      const vectors = o.options.map(([, kind, v]) => (kind === 'ints' ? intVector(b, v as number[]) : 0));
      b.startObject(16);
      o.options.forEach(([id, kind, v], k) => {
        if (kind === 'i8') b.addFieldInt8(id, v as number, -1);
        else if (kind === 'bool') b.addFieldInt8(id, v ? 1 : 0, -1);
        else if (kind === 'i32') b.addFieldInt32(id, v as number, -1);
        else if (kind === 'f32') b.addFieldFloat32(id, v as number, -1);
        else b.addFieldOffset(id, vectors[k], 0);
      });
      options = b.endObject();
    }
    const custom = o.customOptions ? byteVector(b, o.customOptions) : 0;
    b.startObject(11);
    b.addFieldInt32(F.Operator.opcodeIndex, codeKeys.indexOf(`${o.custom ? 'custom' : 'builtin'}:${o.op}`), -1);
    b.addFieldOffset(F.Operator.inputs, inputs, 0);
    b.addFieldOffset(F.Operator.outputs, outputs, 0);
    if (options) {
      b.addFieldInt8(F.Operator.builtinOptionsType, OPTIONS_TYPE[o.op] ?? 0, -1);
      b.addFieldOffset(F.Operator.builtinOptions, options, 0);
    }
    if (custom) b.addFieldOffset(F.Operator.customOptions, custom, 0);
    return b.endObject();
  });

  const sgName = b.createString('main');
  const sgTensors = offsetVector(b, tensors);
  const sgInputs = intVector(b, m.inputs);
  const sgOutputs = intVector(b, m.outputs);
  const sgOps = offsetVector(b, operators);
  b.startObject(5);
  b.addFieldOffset(F.SubGraph.tensors, sgTensors, 0);
  b.addFieldOffset(F.SubGraph.inputs, sgInputs, 0);
  b.addFieldOffset(F.SubGraph.outputs, sgOutputs, 0);
  b.addFieldOffset(F.SubGraph.operators, sgOps, 0);
  b.addFieldOffset(F.SubGraph.name, sgName, 0);
  const subgraph = b.endObject();

  const codesVec = offsetVector(b, codes);
  const subgraphsVec = offsetVector(b, [subgraph]);
  const buffersVec = offsetVector(b, buffers);
  const metadata = (m.metadata ?? []).map((e, i) => {
    const name = b.createString(e.name);
    b.startObject(2);
    b.addFieldOffset(F.Metadata.name, name, 0);
    b.addFieldInt32(F.Metadata.buffer, metadataBuffer[i], 0);
    return b.endObject();
  });
  const metadataVec = metadata.length ? offsetVector(b, metadata) : 0;
  const description = b.createString(m.description ?? 'nibble test model');
  b.startObject(8);
  b.addFieldInt32(F.Model.version, 3, -1);
  b.addFieldOffset(F.Model.operatorCodes, codesVec, 0);
  b.addFieldOffset(F.Model.subgraphs, subgraphsVec, 0);
  b.addFieldOffset(F.Model.description, description, 0);
  b.addFieldOffset(F.Model.buffers, buffersVec, 0);
  if (metadataVec) b.addFieldOffset(F.Model.metadata, metadataVec, 0);
  const model = b.endObject();
  b.finish(model, 'TFL3');
  return b.asUint8Array().slice();
}
