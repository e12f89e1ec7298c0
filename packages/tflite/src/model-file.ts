import { FlatBuffer, type Table } from './flatbuffer';
import { BUILTIN_CUSTOM, F, OPTIONS_TYPE, builtinName, tensorTypeName, type TensorTypeName } from './schema';

/** A TFLite file decoded into plain objects (buffers stay views into the file). */
export interface TfliteFile {
  version: number;
  description?: string;
  operatorCodes: TfliteOperatorCode[];
  subgraphs: TfliteSubgraph[];
  /** Buffer contents by index; buffer 0 is the empty sentinel. */
  buffers: Uint8Array[];
  metadata: { name: string; buffer: number }[];
  fb: FlatBuffer;
}

export interface TfliteOperatorCode {
  /** BUILTIN name (e.g. CONV_2D), or the custom code of a CUSTOM op. */
  name: string;
  builtinCode: number;
  customCode?: string;
  version: number;
}

export interface TfliteQuantization {
  scale: number[];
  zeroPoint: number[];
  quantizedDimension: number;
}

export interface TfliteTensor {
  index: number;
  name: string;
  shape: number[];
  shapeSignature?: number[];
  type: TensorTypeName | `TYPE_${number}`;
  buffer: number;
  quantization?: TfliteQuantization;
  /** The raw SparsityParameters table, decoded on demand by densify. */
  sparsity: Table | null;
  isVariable: boolean;
}

export interface TfliteOperator {
  index: number;
  code: TfliteOperatorCode;
  inputs: number[];
  outputs: number[];
  /** The builtin options table; its layout depends on the operator. */
  options: Table | null;
  customOptions?: Uint8Array;
}

export interface TfliteSubgraph {
  name?: string;
  tensors: TfliteTensor[];
  inputs: number[];
  outputs: number[];
  operators: TfliteOperator[];
}

const IDENTIFIER = 'TFL3';

/** Decode the structure of a TFLite flatbuffer (no tensor data is copied). */
export function parseTfliteFile(bytes: Uint8Array, file?: string): TfliteFile {
  const fb = new FlatBuffer(bytes, file);
  if (bytes.byteLength < 8) fb.check(0, 8, 'file header');
  const id = fb.identifier();
  if (id !== IDENTIFIER) {
    throw fb.formatError(`not a TFLite model: file identifier is '${printable(id)}', expected '${IDENTIFIER}'`);
  }
  const root = fb.root('model');
  const version = root.u32(F.Model.version);
  if (version !== 3) throw fb.formatError(`TFLite schema version ${version} is not supported (nibble reads version 3)`);

  const operatorCodes = root.tables(F.Model.operatorCodes, (i) => `operator code ${i}`).map(readOperatorCode);
  const buffers = root.tables(F.Model.buffers, (i) => `buffer ${i}`).map((t) => readBuffer(fb, t));
  const subgraphs = root.tables(F.Model.subgraphs, (i) => `subgraph ${i}`).map((t) => readSubgraph(t, operatorCodes));
  const metadata = root.tables(F.Model.metadata, (i) => `metadata ${i}`).map((t) => ({
    name: t.string(F.Metadata.name) ?? '',
    buffer: t.u32(F.Metadata.buffer),
  }));
  if (subgraphs.length === 0) throw fb.formatError('the model has no subgraph');
  return { version, description: root.string(F.Model.description), operatorCodes, subgraphs, buffers, metadata, fb };
}

function printable(s: string): string {
  return s.replace(/[^\x20-\x7e]/g, '?');
}

function readOperatorCode(t: Table): TfliteOperatorCode {
  // Codes past 127 live only in builtin_code; older files fill only the
  // deprecated byte. The larger of the two is the operator.
  const builtinCode = Math.max(t.i8(F.OperatorCode.deprecatedBuiltinCode), t.i32(F.OperatorCode.builtinCode));
  const customCode = t.string(F.OperatorCode.customCode);
  const name = builtinCode === BUILTIN_CUSTOM ? customCode ?? 'CUSTOM' : builtinName(builtinCode);
  return { name, builtinCode, customCode, version: t.i32(F.OperatorCode.version, 1) };
}

function readBuffer(fb: FlatBuffer, t: Table): Uint8Array {
  const data = t.bytes(F.Buffer.data);
  if (data && data.byteLength > 0) return data;
  // Files over 2 GB keep buffers after the flatbuffer; offset 0 and 1 mean "none".
  const offset = t.u64(F.Buffer.offset);
  const size = t.u64(F.Buffer.size);
  if (offset > 1) {
    fb.check(offset, size, `${t.what} (stored outside the flatbuffer)`);
    return fb.bytes.subarray(offset, offset + size);
  }
  return new Uint8Array(0);
}

function readSubgraph(t: Table, codes: TfliteOperatorCode[]): TfliteSubgraph {
  const sg = t.what;
  const tensors = t.tables(F.SubGraph.tensors, (i) => `${sg} tensor ${i}`).map((tt, index) => readTensor(tt, index));
  const operators = t.tables(F.SubGraph.operators, (i) => `${sg} operator ${i}`).map((ot, index) => {
    const opcode = ot.u32(F.Operator.opcodeIndex);
    const code = codes[opcode];
    if (!code) throw t.fb.formatError(`${ot.what} uses operator code ${opcode}, but the model lists ${codes.length}`);
    const customOptions = ot.bytes(F.Operator.customOptions) ?? undefined;
    // Options of another union member than the operator's own count as absent, as in TFLite.
    const optionsType = ot.u8(F.Operator.builtinOptionsType);
    const options = optionsType !== 0 && optionsType === OPTIONS_TYPE[code.name]
      ? ot.table(F.Operator.builtinOptions, `${ot.what} (${code.name}) options`)
      : null;
    return {
      index,
      code,
      inputs: ot.numbers(F.Operator.inputs, 'i32'),
      outputs: ot.numbers(F.Operator.outputs, 'i32'),
      options,
      customOptions,
    };
  });
  const inputs = t.numbers(F.SubGraph.inputs, 'i32');
  const outputs = t.numbers(F.SubGraph.outputs, 'i32');
  // -1 marks an omitted optional operator input; every other reference must name a tensor.
  const check = (i: number, where: string, optional = false): void => {
    if (i < (optional ? -1 : 0) || i >= tensors.length) throw t.fb.formatError(`${where} names tensor ${i}, but ${sg} has ${tensors.length}`);
  };
  for (const i of [...inputs, ...outputs]) check(i, `${sg} inputs/outputs`);
  for (const op of operators) {
    const where = `${sg} operator ${op.index} (${op.code.name})`;
    op.inputs.forEach((i) => check(i, where, true));
    op.outputs.forEach((i) => check(i, `${where} output`));
  }
  return { name: t.string(F.SubGraph.name), tensors, inputs, outputs, operators };
}

function readTensor(t: Table, index: number): TfliteTensor {
  const q = t.table(F.Tensor.quantization, `${t.what} quantization`);
  let quantization: TfliteQuantization | undefined;
  if (q) {
    const scale = q.numbers(F.QuantizationParameters.scale, 'f32');
    if (scale.length > 0) {
      quantization = {
        scale,
        zeroPoint: q.numbers(F.QuantizationParameters.zeroPoint, 'i64'),
        quantizedDimension: q.i32(F.QuantizationParameters.quantizedDimension),
      };
    }
  }
  const signature = t.numbers(F.Tensor.shapeSignature, 'i32');
  return {
    index,
    name: t.string(F.Tensor.name) ?? `tensor_${index}`,
    shape: t.numbers(F.Tensor.shape, 'i32'),
    shapeSignature: signature.length ? signature : undefined,
    type: tensorTypeName(t.i8(F.Tensor.type)),
    buffer: t.u32(F.Tensor.buffer),
    quantization,
    sparsity: t.table(F.Tensor.sparsity, `${t.what} sparsity`),
    isVariable: t.bool(F.Tensor.isVariable),
  };
}
