import { type DType, type GraphBuilder, NibbleError, Tensor } from '@nibble/ir';
import type { Lowered, TfDim } from './lowered';
import { foldConstantOp } from './const-eval';
import { GRAPH_OPS, PASS_THROUGH, supportedGraphOps } from './graph-ops';

/** A TensorFlow NodeDef as the TF.js converter writes it (JSON form of the protobuf). */
export interface TfNode {
  name: string;
  op: string;
  input?: string[];
  attr?: Record<string, TfAttr>;
}

export interface TfAttr {
  s?: string;
  i?: string | number;
  f?: number;
  b?: boolean;
  type?: string;
  shape?: { dim?: { size?: string | number }[]; unknownRank?: boolean };
  list?: { s?: string[]; i?: (string | number)[]; f?: number[]; b?: boolean[] };
  tensor?: { dtype?: string; tensorShape?: { dim?: { size?: string | number }[] }; floatVal?: number[]; intVal?: number[]; tensorContent?: string };
}

/** What a graph op lowering sees. */
export interface GraphOpContext {
  em: GraphBuilder;
  node: TfNode;
  name: string;
  /** Data inputs (control inputs dropped). */
  inputCount: number;
  input(i: number): Lowered;
  /** Contents of input i when a Const produces it. */
  constant(i: number): Tensor | null;
  requireConstant(i: number, role: string): Tensor;
  str(attr: string, fallback?: string): string;
  int(attr: string, fallback?: number): number;
  float(attr: string, fallback?: number): number;
  bool(attr: string, fallback?: boolean): boolean;
  ints(attr: string): number[];
  strs(attr: string): string[];
  /** A type attribute (DT_FLOAT, DT_INT32, ...) as an IR dtype. */
  dtype(attr: string, fallback: DType): DType;
  error(message: string, hint?: string): NibbleError;
}

/** One Lowered per output the op has (a plain Lowered: the op's only output). */
export type GraphOpLowering = (ctx: GraphOpContext) => Lowered | Lowered[];

const TF_DTYPES: Record<string, DType> = {
  DT_FLOAT: 'float32', DT_INT32: 'int32', DT_INT64: 'int64', DT_BOOL: 'bool', DT_UINT8: 'uint8', DT_INT8: 'int8',
};

/** Control flow (while loops, conditionals, TensorArray / TensorList): out of scope. */
const CONTROL_FLOW = /^(Enter|Exit|Merge|Switch|LoopCond|NextIteration|While|StatelessWhile|If|StatelessIf|TensorList.*|TensorArray.*)$/;

const decodeB64 = (s: string): string => Buffer.from(s, 'base64').toString('utf8');

function tfShape(s: TfAttr['shape']): TfDim[] | null {
  if (!s || s.unknownRank) return null;
  return (s.dim ?? []).map((d) => {
    const n = Number(d.size ?? -1);
    return n < 0 ? null : n;
  });
}

/** A Const whose value the converter left inline (small tensors, older converters). */
function inlineConstant(node: TfNode): Tensor | null {
  const t = node.attr?.value?.tensor;
  if (!t) return null;
  const shape = (t.tensorShape?.dim ?? []).map((d) => Number(d.size ?? 0));
  const size = shape.reduce((a, b) => a * b, 1);
  const dtype = t.dtype === 'DT_INT32' ? 'int32' : t.dtype === 'DT_FLOAT' ? 'float32' : null;
  if (!dtype) return null;
  if (t.tensorContent) {
    const b = Buffer.from(t.tensorContent, 'base64');
    const out = new Tensor(dtype, shape);
    new Uint8Array((out.data as Uint8Array).buffer).set(b.subarray(0, size * 4));
    return out;
  }
  const vals = dtype === 'int32' ? t.intVal ?? [] : t.floatVal ?? [];
  // TensorProto repeats the last value to fill the shape when fewer are given.
  const filled = Array.from({ length: size }, (_, i) => Number(vals[Math.min(i, vals.length - 1)] ?? 0));
  return Tensor.from(dtype, shape, filled);
}

export interface GraphIO {
  inputs: { name: string; shape: TfDim[]; dtype: string }[];
  outputs: Lowered[];
  outputNames: string[];
}

/** Lower a TF.js graph model (GraphDef nodes) to IR nodes. */
export function lowerGraphModel(
  em: GraphBuilder,
  json: Record<string, unknown>,
  weights: Map<string, Tensor>,
  addInput: (name: string, shape: TfDim[], dtype: string) => Lowered,
  file?: string,
  inputShapes: Record<string, TfDim[]> = {},
): GraphIO {
  const where = file ? `${file}: ` : '';
  const topology = json.modelTopology as { node?: TfNode[] };
  const nodes = topology?.node;
  if (!Array.isArray(nodes)) throw new NibbleError('E_FILE_FORMAT', `${where}graph model has no node list`, { file, hint: 'the model.json is corrupt' });
  const byName = new Map(nodes.map((n) => [n.name, n]));
  const lowered = new Map<string, Lowered>();
  /** Constant tensors by output reference `node:index`: Const nodes and ops folded on constant inputs. */
  const constants = new Map<string, Tensor>();
  const inputs: GraphIO['inputs'] = [];

  const parseRef = (ref: string): [string, number] => {
    const m = /^(.*?)(?::(\d+))?$/.exec(ref)!;
    return [m[1], Number(m[2] ?? 0)];
  };
  const dataInputs = (n: TfNode): string[] => (n.input ?? []).filter((r) => !r.startsWith('^'));

  for (const n of nodes) {
    if (n.op === 'Const') {
      const c = weights.get(n.name) ?? inlineConstant(n);
      if (!c) throw new NibbleError('E_FILE_FORMAT', `${where}Const '${n.name}' has no value in the weights manifest`, { file, node: n.name, hint: 'a weights shard or manifest entry is missing' });
      constants.set(`${n.name}:0`, c);
    } else if (n.op === 'Placeholder') {
      const shape = inputShapes[n.name] ?? tfShape(n.attr?.shape?.shape);
      if (!shape) {
        throw new NibbleError('E_UNSUPPORTED', `${where}input '${n.name}' has an unknown rank`, {
          file,
          node: n.name,
          op: n.op,
          hint: `give it a shape in TensorFlow's NHWC order: --shape ${n.name}=1,224,224,3 (readTfjsModel's inputShapes option), or convert the model with a fixed input rank`,
        });
      }
      const dtype = n.attr?.dtype?.type === 'DT_INT32' ? 'int32' : 'float32';
      lowered.set(`${n.name}:0`, addInput(n.name, shape, dtype));
      inputs.push({ name: n.name, shape, dtype });
    }
  }

  // Visit nodes in dependency order (the file's order need not be one).
  const state = new Map<string, 1 | 2>();
  const visit = (start: string): void => {
    const stack: { name: string; next: number }[] = [{ name: start, next: 0 }];
    while (stack.length) {
      const top = stack[stack.length - 1];
      const n = byName.get(top.name);
      if (!n) throw new NibbleError('E_FILE_FORMAT', `${where}a node reads '${top.name}', which the graph does not define`, { file, node: top.name, hint: 'the model.json is corrupt' });
      if (state.get(n.name) === 2) { stack.pop(); continue; }
      state.set(n.name, 1);
      const deps = dataInputs(n);
      if (top.next < deps.length) {
        const dep = parseRef(deps[top.next++])[0];
        if (state.get(dep) === 1) throw new NibbleError('E_CYCLE', `${where}the graph has a cycle through '${dep}'`, { file, node: dep, hint: 'control flow (loops) is not supported' });
        if (state.get(dep) !== 2) stack.push({ name: dep, next: 0 });
        continue;
      }
      stack.pop();
      state.set(n.name, 2);
      if (n.op !== 'Const' && n.op !== 'Placeholder') lowerNode(n);
    }
  };

  const lowerNode = (n: TfNode): void => {
    const refs = dataInputs(n);
    if (PASS_THROUGH.has(n.op)) {
      const [src, idx] = parseRef(refs[0]);
      const c = constants.get(`${src}:${idx}`);
      if (c) constants.set(`${n.name}:0`, c);
      else lowered.set(`${n.name}:0`, ctx(n, refs).input(0));
      return;
    }
    const lower = GRAPH_OPS[n.op];
    if (!lower && CONTROL_FLOW.test(n.op)) {
      throw new NibbleError('E_UNSUPPORTED_OP', `${where}node '${n.name}' uses TensorFlow control-flow op ${n.op} (a while loop, conditional or TensorArray), which nibble does not import`, {
        file,
        node: n.name,
        op: n.op,
        hint: 'control flow is out of scope: export the model without the loop (e.g. the per-image network alone, with pre/post-processing outside the graph)',
      });
    }
    if (!lower) {
      throw new NibbleError('E_UNSUPPORTED_OP', `${where}node '${n.name}' uses TensorFlow op ${n.op}, which nibble does not support`, {
        file,
        node: n.name,
        op: n.op,
        hint: `supported graph-model ops: ${supportedGraphOps().join(', ')}`,
      });
    }
    const c = ctx(n, refs);
    // Shape arithmetic and other ops on constants are evaluated here, so ops that need a constant (Reshape's shape) see one.
    const folded = refs.length > 0 && refs.every((_, i) => c.constant(i)) ? foldConstantOp(c) : null;
    if (folded) {
      folded.forEach((t, i) => constants.set(`${n.name}:${i}`, t));
      return;
    }
    const out = lower(c);
    (Array.isArray(out) ? out : [out]).forEach((l, i) => lowered.set(`${n.name}:${i}`, l));
  };

  const ctx = (n: TfNode, refs: string[]): GraphOpContext => {
    const a = n.attr ?? {};
    const error = (message: string, hint?: string): NibbleError =>
      new NibbleError('E_UNSUPPORTED', `${where}node '${n.name}' (${n.op}): ${message}`, { file, node: n.name, op: n.op, hint });
    const c: GraphOpContext = {
      em,
      node: n,
      name: n.name,
      inputCount: refs.length,
      input(i) {
        if (i >= refs.length) throw error(`has no input ${i}`);
        const [src, idx] = parseRef(refs[i]);
        const have = lowered.get(`${src}:${idx}`);
        if (have) return have;
        const k = constants.get(`${src}:${idx}`);
        if (k) {
          const l: Lowered = { value: em.constant(src, k), layout: 'plain', shape: [...k.shape] };
          lowered.set(`${src}:${idx}`, l);
          return l;
        }
        throw error(`reads output ${idx} of '${src}', which nibble does not produce`, 'the op that produces it was not lowered with that many outputs');
      },
      constant(i) {
        if (i >= refs.length) return null;
        const [src, idx] = parseRef(refs[i]);
        // A Const node, or a value the importer folded (shape arithmetic on known shapes).
        return constants.get(`${src}:${idx}`) ?? lowered.get(`${src}:${idx}`)?.value.const ?? null;
      },
      requireConstant(i, role) {
        const k = c.constant(i);
        if (!k) throw error(`its ${role} is computed at run time; nibble needs it constant`);
        return k;
      },
      str: (name, fallback = '') => (a[name]?.s !== undefined ? decodeB64(a[name].s!) : fallback),
      int: (name, fallback = 0) => (a[name]?.i !== undefined ? Number(a[name].i) : fallback),
      float: (name, fallback = 0) => (a[name]?.f !== undefined ? Number(a[name].f) : fallback),
      bool: (name, fallback = false) => a[name]?.b ?? fallback,
      ints: (name) => (a[name]?.list?.i ?? []).map(Number),
      strs: (name) => (a[name]?.list?.s ?? []).map(decodeB64),
      dtype: (name, fallback) => {
        const t = a[name]?.type;
        if (t === undefined) return fallback;
        const d = TF_DTYPES[t];
        if (!d) throw error(`type ${t} is not supported`, `supported types: ${Object.keys(TF_DTYPES).join(', ')}`);
        return d;
      },
      error,
    };
    return c;
  };

  const signature = (json.userDefinedMetadata as { signature?: { outputs?: Record<string, { name?: string }> } } | undefined)?.signature;
  let outputRefs = Object.values(signature?.outputs ?? {}).map((o) => o.name ?? '').filter(Boolean);
  if (outputRefs.length === 0) {
    const consumed = new Set(nodes.flatMap((n) => dataInputs(n).map((r) => parseRef(r)[0])));
    outputRefs = nodes.filter((n) => !consumed.has(n.name) && !['Const', 'Placeholder', 'NoOp'].includes(n.op)).map((n) => n.name);
  }
  for (const r of outputRefs) visit(parseRef(r)[0]);
  const outputs = outputRefs.map((r) => {
    const [src, idx] = parseRef(r);
    const k = constants.get(`${src}:${idx}`);
    const l = lowered.get(`${src}:${idx}`) ?? (k ? { value: em.constant(src, k), layout: 'plain' as const, shape: [...k.shape] } : undefined);
    if (!l) throw new NibbleError('E_FILE_FORMAT', `${where}output '${r}' is not produced by the graph`, { file, node: src });
    return l;
  });
  return { inputs, outputs, outputNames: outputRefs.map((r) => parseRef(r)[0]) };
}
