import { Attribute, dtypeFromOnnx, Graph, Model, NibbleError, Value, ValueType } from '@nibble/ir';
import { orderNodes } from './graph-order';
import type { AttributeMsg, GraphMsg, ModelMsg, NodeMsg, TypeMsg } from './proto-decode';
import { tensorFromProto } from './tensor-decode';
import type { ProtoReader } from './wire';

export const MIN_IR_VERSION = 3;
export const MAX_IR_VERSION = 10;
export const MIN_OPSET = 7;
export const MAX_OPSET = 21;

const utf8 = new TextDecoder('utf-8');

/** The default ONNX domain has two spellings; the IR uses ''. */
export function normalizeDomain(domain: string): string {
  return domain === 'ai.onnx' ? '' : domain;
}

function formatError(message: string): never {
  throw new NibbleError('E_FILE_FORMAT', message, { hint: 'the file is corrupt or was written by a faulty exporter' });
}

/**
 * A value type from a TypeProto. Non-tensor types (sequences, maps) have no
 * place in nibble's IR: an error on a graph input or output, dropped on
 * intermediate value_info, where they only inform.
 */
function typeFromMsg(t: TypeMsg | undefined, what: string, strict: boolean): ValueType | undefined {
  if (!t || t.kind === 'none') return undefined;
  if (!t.tensor) {
    if (!strict) return undefined;
    throw new NibbleError('E_UNSUPPORTED', `${what} is a ${t.kind}; nibble handles only tensor values`, {
      hint: 'export the model so that its inputs and outputs are plain tensors',
    });
  }
  if (t.tensor.elemType === 0) return undefined;
  const dtype = dtypeFromOnnx(t.tensor.elemType, what);
  const shape = t.tensor.shape?.map((d) => (d.value !== undefined && d.value >= 0 ? d.value : d.param ? d.param : null));
  return shape ? { dtype, shape } : { dtype };
}

/** Which attribute kind an old (IR < 2 style) attribute without a type field holds. */
function inferAttributeType(a: AttributeMsg): number {
  if (a.floats.length) return 6;
  if (a.ints.length) return 7;
  if (a.strings.length) return 8;
  if (a.tensors.length) return 9;
  if (a.graphs.length) return 10;
  if (a.f !== undefined) return 1;
  if (a.i !== undefined) return 2;
  if (a.s !== undefined) return 3;
  if (a.t !== undefined) return 4;
  if (a.g !== undefined) return 5;
  return 0;
}

type Lookup = (name: string) => Value | undefined;

interface Ctx {
  r: ProtoReader;
  memo: Map<GraphMsg, Set<string>>;
}

function attributeFromMsg(ctx: Ctx, a: AttributeMsg, n: NodeMsg, g: Graph, outer: Lookup): Attribute {
  const where = `attribute '${a.name}' of node '${n.name}' (${n.opType})`;
  const unsupported = (what: string): never => {
    throw new NibbleError('E_UNSUPPORTED', `${where} is a ${what}, which nibble does not support`, {
      node: n.name || undefined,
      op: n.opType,
      hint: 'nibble supports float, int, string, tensor and graph attributes and lists of them',
    });
  };
  if (a.refAttrName) unsupported('reference to a function attribute');
  if (a.unsupportedKind) unsupported(a.unsupportedKind);
  const sub = (gm: GraphMsg, i?: number): Graph =>
    buildGraph(ctx, gm, (name) => g.value(name) ?? outer(name), `subgraph '${a.name}${i === undefined ? '' : `[${i}]`}' of node '${n.name}'`);
  const type = a.type || inferAttributeType(a);
  switch (type) {
    case 1: return { type: 'float', value: a.f ?? 0 };
    case 2: return { type: 'int', value: a.i ?? 0 };
    case 3: return { type: 'string', value: utf8.decode(a.s ?? new Uint8Array(0)) };
    case 4: return a.t ? { type: 'tensor', value: tensorFromProto(ctx.r, a.t, where) } : formatError(`${where} is a tensor attribute without a tensor`);
    case 5: return a.g ? { type: 'graph', value: sub(a.g) } : formatError(`${where} is a graph attribute without a graph`);
    case 6: return { type: 'floats', value: a.floats };
    case 7: return { type: 'ints', value: a.ints };
    case 8: return { type: 'strings', value: a.strings.map((s) => utf8.decode(s)) };
    case 9: return { type: 'tensors', value: a.tensors.map((t, i) => tensorFromProto(ctx.r, t, `${where}[${i}]`)) };
    case 10: return { type: 'graphs', value: a.graphs.map((gm, i) => sub(gm, i)) };
    case 11: case 12: return unsupported('sparse tensor');
    case 13: case 14: return unsupported('type proto');
    default: return formatError(`${where} has unknown attribute type ${type}`);
  }
}

/**
 * An IR graph from a GraphProto. `outer` finds values of enclosing graphs:
 * a subgraph that reads one gets a local stand-in value of the same name,
 * marked `meta.outerScope`, which the writer emits as a plain name reference.
 */
export function buildGraph(ctx: Ctx, gm: GraphMsg, outer: Lookup, label: string): Graph {
  const g = new Graph(gm.name || 'main');
  if (gm.docString) g.docString = gm.docString;
  if (gm.sparseInitializers > 0) {
    throw new NibbleError('E_UNSUPPORTED', `${label} has ${gm.sparseInitializers} sparse initializer(s), which nibble does not read`, {
      hint: 'store the weights as dense initializers',
    });
  }
  const local = new Set<string>();
  const define = (name: string, what: string): void => {
    if (!name) formatError(`${label}: ${what} has no name`);
    if (local.has(name)) {
      throw new NibbleError('E_INVALID_GRAPH', `${label}: value '${name}' is defined twice (again as ${what})`, { value: name });
    }
    local.add(name);
  };
  gm.initializer.forEach((t, i) => {
    define(t.name, `initializer ${i}`);
    const v = g.addInitializer(t.name, tensorFromProto(ctx.r, t, `initializer`));
    if (t.docString) v.docString = t.docString;
  });
  for (const vi of gm.input) {
    const init = vi.name ? g.value(vi.name) : undefined;
    if (init?.isInitializer) {
      // IR < 4 lists every initializer as an input too; later IRs use it to mark overridable weights.
      init.meta.initializerIsInput = true;
      continue;
    }
    define(vi.name, 'a graph input');
    const v = g.addInput(vi.name, typeFromMsg(vi.type, `${label} input '${vi.name}'`, true));
    if (vi.docString) v.docString = vi.docString;
  }

  const resolve = (name: string): Value => {
    const v = g.value(name);
    if (v) return v;
    const o = outer(name);
    if (!o) throw new NibbleError('E_INTERNAL', `${label}: '${name}' vanished after ordering`);
    const stand = g.createValue(name, o.type && { dtype: o.type.dtype, shape: o.type.shape && [...o.type.shape] });
    stand.meta.outerScope = true;
    return stand;
  };

  const order = orderNodes(gm, { local, outer: (name) => outer(name) !== undefined, graphLabel: label, memo: ctx.memo });
  for (const n of order) {
    if (!n.opType) formatError(`${label}: node '${n.name}' has no op_type`);
    const attributes: Record<string, Attribute> = {};
    for (const a of n.attribute) {
      if (!a.name) formatError(`${label}: node '${n.name}' (${n.opType}) has an attribute without a name`);
      if (Object.prototype.hasOwnProperty.call(attributes, a.name)) formatError(`${label}: node '${n.name}' (${n.opType}) has attribute '${a.name}' twice`);
      attributes[a.name] = attributeFromMsg(ctx, a, n, g, outer);
    }
    g.addNode({
      opType: n.opType,
      domain: normalizeDomain(n.domain),
      name: n.name || undefined,
      inputs: n.input.map((name) => (name === '' ? null : resolve(name))),
      outputs: n.output,
      attributes,
      docString: n.docString,
    });
  }

  for (const vi of gm.valueInfo) {
    const v = g.value(vi.name);
    if (!v || v.isInitializer || v.meta.outerScope) continue;
    const t = typeFromMsg(vi.type, `${label} value '${vi.name}'`, false);
    if (t && (v.producer || !v.type)) v.type = t;
    if (vi.docString) v.docString = vi.docString;
  }
  for (const vi of gm.output) {
    if (!vi.name) formatError(`${label}: a graph output has no name`);
    const v = g.value(vi.name) ?? (outer(vi.name) ? resolve(vi.name) : undefined);
    if (!v) {
      throw new NibbleError('E_UNDEFINED_VALUE', `${label}: graph output '${vi.name}' is not defined by any node, input or initializer`, {
        value: vi.name,
        hint: 'the file is malformed: an output names a value nothing produces',
      });
    }
    const t = typeFromMsg(vi.type, `${label} output '${vi.name}'`, true);
    if (t && !v.isInitializer) v.type = t;
    if (vi.docString) v.docString = vi.docString;
    g.addOutput(v);
  }
  return g;
}

export function modelFromMsg(r: ProtoReader, m: ModelMsg): Model {
  if (m.irVersion === undefined) formatError('the model has no ir_version');
  if (!m.graph) formatError('the model has no graph');
  const ir = m.irVersion;
  if (ir < MIN_IR_VERSION || ir > MAX_IR_VERSION) {
    throw new NibbleError('E_UNSUPPORTED', `ONNX IR version ${ir} is not supported (nibble reads IR ${MIN_IR_VERSION} to ${MAX_IR_VERSION})`, {
      hint: ir > MAX_IR_VERSION ? 'export with an older IR version (e.g. set model.ir_version = 10 if the model uses no newer features)' : 're-export the model with a current exporter',
    });
  }
  const opsetImports = new Map<string, number>();
  for (const o of m.opsetImport) {
    const domain = normalizeDomain(o.domain);
    if (opsetImports.has(domain)) formatError(`opset_import names domain '${o.domain || 'ai.onnx'}' twice`);
    if (!Number.isInteger(o.version) || o.version < 1) formatError(`opset_import of domain '${o.domain || 'ai.onnx'}' has version ${o.version}`);
    opsetImports.set(domain, o.version);
  }
  const opset = opsetImports.get('');
  if (opset === undefined) {
    throw new NibbleError('E_UNSUPPORTED', 'the model imports no version of the default ONNX operator set', {
      hint: 'nibble reads models built from standard ONNX operators',
    });
  }
  if (opset < MIN_OPSET || opset > MAX_OPSET) {
    throw new NibbleError('E_UNSUPPORTED', `ONNX opset ${opset} is not supported (nibble reads opsets ${MIN_OPSET} to ${MAX_OPSET})`, {
      hint: 'convert the model to a supported opset (in the onnx Python package: onnx.version_converter.convert_version(model, 17))',
    });
  }
  const graph = buildGraph({ r, memo: new Map() }, m.graph, () => undefined, 'graph');
  const model: Model = { graph, irVersion: ir, opsetImports, metadata: new Map() };
  if (m.producerName !== undefined) model.producerName = m.producerName;
  if (m.producerVersion !== undefined) model.producerVersion = m.producerVersion;
  if (m.domain !== undefined) model.domain = m.domain;
  if (m.modelVersion !== undefined) model.modelVersion = m.modelVersion;
  if (m.docString !== undefined) model.docString = m.docString;
  for (const [k, v] of m.metadataProps) {
    if (model.metadata.has(k)) formatError(`metadata_props has key '${k}' twice`);
    model.metadata.set(k, v);
  }
  return model;
}
