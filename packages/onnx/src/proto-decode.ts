import {
  ProtoReader,
  readSpan,
  Span,
  WIRE_BYTES,
  WIRE_FIXED32,
  WIRE_FIXED64,
  WIRE_VARINT,
} from './wire';

/**
 * Decoded ONNX messages (the schema of onnx.proto in this folder). Fields
 * nibble does not use are skipped; numeric arrays of tensors stay as byte
 * ranges of the source buffer until tensor-decode.ts checks their length.
 */
export interface TensorMsg {
  dims: number[];
  dataType: number;
  hasSegment: boolean;
  floatData: Span[];
  int32Data: Span[];
  stringData: Uint8Array[];
  int64Data: Span[];
  name: string;
  docString?: string;
  rawData?: Uint8Array;
  externalData: [string, string][];
  dataLocation: number;
  doubleData: Span[];
  uint64Data: Span[];
}

export interface DimMsg {
  value?: number;
  param?: string;
}

export interface TypeMsg {
  /** Set for tensor types; other kinds (sequence, map, optional) are named in `kind`. */
  tensor?: { elemType: number; shape?: DimMsg[] };
  kind: 'tensor' | 'sequence' | 'map' | 'sparse_tensor' | 'optional' | 'none';
}

export interface ValueInfoMsg {
  name: string;
  type?: TypeMsg;
  docString?: string;
}

export interface AttributeMsg {
  name: string;
  refAttrName?: string;
  docString?: string;
  type: number;
  f?: number;
  i?: number;
  s?: Uint8Array;
  t?: TensorMsg;
  g?: GraphMsg;
  floats: number[];
  ints: number[];
  strings: Uint8Array[];
  tensors: TensorMsg[];
  graphs: GraphMsg[];
  /** Fields of kinds nibble has no IR for: sparse tensors and type protos. */
  unsupportedKind?: string;
}

export interface NodeMsg {
  input: string[];
  output: string[];
  name: string;
  opType: string;
  domain: string;
  attribute: AttributeMsg[];
  docString?: string;
}

export interface GraphMsg {
  node: NodeMsg[];
  name: string;
  initializer: TensorMsg[];
  sparseInitializers: number;
  docString?: string;
  input: ValueInfoMsg[];
  output: ValueInfoMsg[];
  valueInfo: ValueInfoMsg[];
}

export interface ModelMsg {
  irVersion?: number;
  opsetImport: { domain: string; version: number }[];
  producerName?: string;
  producerVersion?: string;
  domain?: string;
  modelVersion?: number;
  docString?: string;
  graph?: GraphMsg;
  metadataProps: [string, string][];
}

/** The fields of ModelProto and their wire types, to recognise an ONNX file by its first bytes. */
export const MODEL_FIELDS: ReadonlyMap<number, number> = new Map([
  [1, WIRE_VARINT], [2, WIRE_BYTES], [3, WIRE_BYTES], [4, WIRE_BYTES], [5, WIRE_VARINT],
  [6, WIRE_BYTES], [7, WIRE_BYTES], [8, WIRE_BYTES], [14, WIRE_BYTES], [20, WIRE_BYTES], [25, WIRE_BYTES],
]);

function scalarOrPacked(r: ProtoReader, wire: number, elementWire: number, field: string, read: () => number, into: number[]): void {
  if (wire === WIRE_BYTES) {
    const len = r.length();
    const end = r.pos + len;
    const outer = r.limit;
    r.limit = end;
    while (r.pos < end) into.push(read());
    r.limit = outer;
    return;
  }
  r.expect(wire, elementWire, field);
  into.push(read());
}

function decodeEntry(r: ProtoReader): [string, string] {
  let key = '';
  let value = '';
  for (let t = r.tag(); t; t = r.tag()) {
    if (t.field === 1) { r.expect(t.wire, WIRE_BYTES, 'key'); key = r.string(); }
    else if (t.field === 2) { r.expect(t.wire, WIRE_BYTES, 'value'); value = r.string(); }
    else r.skip(t.wire, t.field);
  }
  return [key, value];
}

export function decodeTensor(r: ProtoReader): TensorMsg {
  const m: TensorMsg = {
    dims: [], dataType: 0, hasSegment: false, floatData: [], int32Data: [], stringData: [], int64Data: [],
    name: '', externalData: [], dataLocation: 0, doubleData: [], uint64Data: [],
  };
  for (let t = r.tag(); t; t = r.tag()) {
    switch (t.field) {
      case 1: scalarOrPacked(r, t.wire, WIRE_VARINT, 'dims', () => r.int64(), m.dims); break;
      case 2: r.expect(t.wire, WIRE_VARINT, 'data_type'); m.dataType = r.int32(); break;
      case 3: r.expect(t.wire, WIRE_BYTES, 'segment'); r.skip(t.wire, t.field); m.hasSegment = true; break;
      case 4: m.floatData.push(readSpan(r, t.wire, WIRE_FIXED32, 'float_data')); break;
      case 5: m.int32Data.push(readSpan(r, t.wire, WIRE_VARINT, 'int32_data')); break;
      case 6: r.expect(t.wire, WIRE_BYTES, 'string_data'); m.stringData.push(r.bytes()); break;
      case 7: m.int64Data.push(readSpan(r, t.wire, WIRE_VARINT, 'int64_data')); break;
      case 8: r.expect(t.wire, WIRE_BYTES, 'name'); m.name = r.string(); break;
      case 9: r.expect(t.wire, WIRE_BYTES, 'raw_data'); m.rawData = r.bytes(); break;
      case 10: m.doubleData.push(readSpan(r, t.wire, WIRE_FIXED64, 'double_data')); break;
      case 11: m.uint64Data.push(readSpan(r, t.wire, WIRE_VARINT, 'uint64_data')); break;
      case 12: r.expect(t.wire, WIRE_BYTES, 'doc_string'); m.docString = r.string(); break;
      case 13: r.expect(t.wire, WIRE_BYTES, 'external_data'); m.externalData.push(r.nested('external_data', () => decodeEntry(r))); break;
      case 14: r.expect(t.wire, WIRE_VARINT, 'data_location'); m.dataLocation = r.int32(); break;
      default: r.skip(t.wire, t.field);
    }
  }
  return m;
}

function decodeShape(r: ProtoReader): DimMsg[] {
  const dims: DimMsg[] = [];
  for (let t = r.tag(); t; t = r.tag()) {
    if (t.field !== 1) { r.skip(t.wire, t.field); continue; }
    r.expect(t.wire, WIRE_BYTES, 'dim');
    dims.push(r.nested(`dim[${dims.length}]`, () => {
      const d: DimMsg = {};
      for (let u = r.tag(); u; u = r.tag()) {
        if (u.field === 1) { r.expect(u.wire, WIRE_VARINT, 'dim_value'); d.value = r.int64(); }
        else if (u.field === 2) { r.expect(u.wire, WIRE_BYTES, 'dim_param'); d.param = r.string(); }
        else r.skip(u.wire, u.field);
      }
      return d;
    }));
  }
  return dims;
}

const TYPE_KINDS: Record<number, TypeMsg['kind']> = { 4: 'sequence', 5: 'map', 8: 'sparse_tensor', 9: 'optional' };

function decodeType(r: ProtoReader): TypeMsg {
  const m: TypeMsg = { kind: 'none' };
  for (let t = r.tag(); t; t = r.tag()) {
    if (t.field === 1) {
      r.expect(t.wire, WIRE_BYTES, 'tensor_type');
      m.kind = 'tensor';
      m.tensor = r.nested('tensor_type', () => {
        const tt: { elemType: number; shape?: DimMsg[] } = { elemType: 0 };
        for (let u = r.tag(); u; u = r.tag()) {
          if (u.field === 1) { r.expect(u.wire, WIRE_VARINT, 'elem_type'); tt.elemType = r.int32(); }
          else if (u.field === 2) { r.expect(u.wire, WIRE_BYTES, 'shape'); tt.shape = r.nested('shape', () => decodeShape(r)); }
          else r.skip(u.wire, u.field);
        }
        return tt;
      });
    } else {
      if (TYPE_KINDS[t.field] && t.wire === WIRE_BYTES) m.kind = TYPE_KINDS[t.field];
      r.skip(t.wire, t.field);
    }
  }
  return m;
}

function decodeValueInfo(r: ProtoReader): ValueInfoMsg {
  const m: ValueInfoMsg = { name: '' };
  for (let t = r.tag(); t; t = r.tag()) {
    if (t.field === 1) { r.expect(t.wire, WIRE_BYTES, 'name'); m.name = r.string(); }
    else if (t.field === 2) { r.expect(t.wire, WIRE_BYTES, 'type'); m.type = r.nested('type', () => decodeType(r)); }
    else if (t.field === 3) { r.expect(t.wire, WIRE_BYTES, 'doc_string'); m.docString = r.string(); }
    else r.skip(t.wire, t.field);
  }
  return m;
}

const UNSUPPORTED_ATTRIBUTE_FIELDS: Record<number, string> = { 14: 'type proto', 15: 'type protos', 22: 'sparse tensor', 23: 'sparse tensors' };

function decodeAttribute(r: ProtoReader): AttributeMsg {
  const m: AttributeMsg = { name: '', type: 0, floats: [], ints: [], strings: [], tensors: [], graphs: [] };
  for (let t = r.tag(); t; t = r.tag()) {
    switch (t.field) {
      case 1: r.expect(t.wire, WIRE_BYTES, 'name'); m.name = r.string(); break;
      case 2: r.expect(t.wire, WIRE_FIXED32, 'f'); m.f = r.float(); break;
      case 3: r.expect(t.wire, WIRE_VARINT, 'i'); m.i = r.int64(); break;
      case 4: r.expect(t.wire, WIRE_BYTES, 's'); m.s = r.bytes(); break;
      case 5: r.expect(t.wire, WIRE_BYTES, 't'); m.t = r.nested('t', () => decodeTensor(r)); break;
      case 6: r.expect(t.wire, WIRE_BYTES, 'g'); m.g = r.nested('g', () => decodeGraph(r)); break;
      case 7: scalarOrPacked(r, t.wire, WIRE_FIXED32, 'floats', () => r.float(), m.floats); break;
      case 8: scalarOrPacked(r, t.wire, WIRE_VARINT, 'ints', () => r.int64(), m.ints); break;
      case 9: r.expect(t.wire, WIRE_BYTES, 'strings'); m.strings.push(r.bytes()); break;
      case 10: r.expect(t.wire, WIRE_BYTES, 'tensors'); m.tensors.push(r.nested(`tensors[${m.tensors.length}]`, () => decodeTensor(r))); break;
      case 11: r.expect(t.wire, WIRE_BYTES, 'graphs'); m.graphs.push(r.nested(`graphs[${m.graphs.length}]`, () => decodeGraph(r))); break;
      case 13: r.expect(t.wire, WIRE_BYTES, 'doc_string'); m.docString = r.string(); break;
      case 20: r.expect(t.wire, WIRE_VARINT, 'type'); m.type = r.int32(); break;
      case 21: r.expect(t.wire, WIRE_BYTES, 'ref_attr_name'); m.refAttrName = r.string(); break;
      default:
        if (UNSUPPORTED_ATTRIBUTE_FIELDS[t.field]) m.unsupportedKind = UNSUPPORTED_ATTRIBUTE_FIELDS[t.field];
        r.skip(t.wire, t.field);
    }
  }
  return m;
}

function decodeNode(r: ProtoReader): NodeMsg {
  const m: NodeMsg = { input: [], output: [], name: '', opType: '', domain: '', attribute: [] };
  for (let t = r.tag(); t; t = r.tag()) {
    switch (t.field) {
      case 1: r.expect(t.wire, WIRE_BYTES, 'input'); m.input.push(r.string()); break;
      case 2: r.expect(t.wire, WIRE_BYTES, 'output'); m.output.push(r.string()); break;
      case 3: r.expect(t.wire, WIRE_BYTES, 'name'); m.name = r.string(); break;
      case 4: r.expect(t.wire, WIRE_BYTES, 'op_type'); m.opType = r.string(); break;
      case 5:
        r.expect(t.wire, WIRE_BYTES, 'attribute');
        m.attribute.push(r.nested(`attribute[${m.attribute.length}]`, () => decodeAttribute(r)));
        break;
      case 6: r.expect(t.wire, WIRE_BYTES, 'doc_string'); m.docString = r.string(); break;
      case 7: r.expect(t.wire, WIRE_BYTES, 'domain'); m.domain = r.string(); break;
      default: r.skip(t.wire, t.field);
    }
  }
  return m;
}

export function decodeGraph(r: ProtoReader): GraphMsg {
  const m: GraphMsg = { node: [], name: '', initializer: [], sparseInitializers: 0, input: [], output: [], valueInfo: [] };
  for (let t = r.tag(); t; t = r.tag()) {
    switch (t.field) {
      case 1: r.expect(t.wire, WIRE_BYTES, 'node'); m.node.push(r.nested(`node[${m.node.length}]`, () => decodeNode(r))); break;
      case 2: r.expect(t.wire, WIRE_BYTES, 'name'); m.name = r.string(); break;
      case 5:
        r.expect(t.wire, WIRE_BYTES, 'initializer');
        m.initializer.push(r.nested(`initializer[${m.initializer.length}]`, () => decodeTensor(r)));
        break;
      case 10: r.expect(t.wire, WIRE_BYTES, 'doc_string'); m.docString = r.string(); break;
      case 11: r.expect(t.wire, WIRE_BYTES, 'input'); m.input.push(r.nested(`input[${m.input.length}]`, () => decodeValueInfo(r))); break;
      case 12: r.expect(t.wire, WIRE_BYTES, 'output'); m.output.push(r.nested(`output[${m.output.length}]`, () => decodeValueInfo(r))); break;
      case 13:
        r.expect(t.wire, WIRE_BYTES, 'value_info');
        m.valueInfo.push(r.nested(`value_info[${m.valueInfo.length}]`, () => decodeValueInfo(r)));
        break;
      case 15: m.sparseInitializers++; r.skip(t.wire, t.field); break;
      default: r.skip(t.wire, t.field);
    }
  }
  return m;
}

/**
 * Decode a ModelProto. The first field must be one ModelProto defines, with
 * its wire type: most non-ONNX files fail there and get E_FILE_FORMAT
 * rather than a misleading E_TRUNCATED further in.
 */
export function decodeModel(r: ProtoReader): ModelMsg {
  const m: ModelMsg = { opsetImport: [], metadataProps: [] };
  const first = r.tag();
  if (!first || MODEL_FIELDS.get(first.field) !== first.wire) {
    r.fail(first ? `starts with field ${first.field} (wire type ${first.wire}), which an ONNX ModelProto does not have` : 'empty', 0);
  }
  for (let t: { field: number; wire: number } | null = first; t; t = r.tag()) {
    switch (t.field) {
      case 1: r.expect(t.wire, WIRE_VARINT, 'ir_version'); m.irVersion = r.int64(); break;
      case 2: r.expect(t.wire, WIRE_BYTES, 'producer_name'); m.producerName = r.string(); break;
      case 3: r.expect(t.wire, WIRE_BYTES, 'producer_version'); m.producerVersion = r.string(); break;
      case 4: r.expect(t.wire, WIRE_BYTES, 'domain'); m.domain = r.string(); break;
      case 5: r.expect(t.wire, WIRE_VARINT, 'model_version'); m.modelVersion = r.int64(); break;
      case 6: r.expect(t.wire, WIRE_BYTES, 'doc_string'); m.docString = r.string(); break;
      case 7: r.expect(t.wire, WIRE_BYTES, 'graph'); m.graph = r.nested('graph', () => decodeGraph(r)); break;
      case 8:
        r.expect(t.wire, WIRE_BYTES, 'opset_import');
        m.opsetImport.push(r.nested(`opset_import[${m.opsetImport.length}]`, () => {
          const o = { domain: '', version: 0 };
          for (let u = r.tag(); u; u = r.tag()) {
            if (u.field === 1) { r.expect(u.wire, WIRE_BYTES, 'domain'); o.domain = r.string(); }
            else if (u.field === 2) { r.expect(u.wire, WIRE_VARINT, 'version'); o.version = r.int64(); }
            else r.skip(u.wire, u.field);
          }
          return o;
        }));
        break;
      case 14: r.expect(t.wire, WIRE_BYTES, 'metadata_props'); m.metadataProps.push(r.nested('metadata_props', () => decodeEntry(r))); break;
      default: r.skip(t.wire, t.field);
    }
  }
  return m;
}
