import type { Attribute } from './attributes';
import { dtypeFromShort, integerRange } from './dtype';
import type { DType } from './dtype';
import { Graph } from './graph';
import type { Dim, Value, ValueType } from './graph';
import type { QuantAnnotation } from './quant-annotation';
import { Tensor } from './tensor';
import { Scanner } from './text-scanner';

/*
 * Reads the text printer.ts writes (see the format there) back into a Graph.
 * Beyond the printed form it accepts `//` comments, free whitespace and line
 * breaks, and node outputs or graph inputs without a type (`%y = Relu(%x)`).
 * Values must be defined before they are used. Elided values
 * (`<16x3x3x3 values>`) cannot be read: print with { values: 'all' }.
 */

export interface ParseOptions {
  /** Named in error messages (file:line:column). */
  file?: string;
}

interface Decl { name: string; at: number; type?: ValueType; quant?: QuantAnnotation; oneSided: boolean; upperBound?: number }
interface ConstStmt { decl: Decl; tensor: Tensor }
interface NodeStmt {
  at: number;
  outputs: (Decl | null)[];
  opType: string;
  domain: string;
  inputs: ({ name: string; at: number } | null)[];
  attributes: Record<string, Attribute>;
  name?: string;
}

const OP_AT = /[A-Za-z_][A-Za-z0-9_.]*/y;
const FLOAT_DTYPES: DType[] = ['float32', 'float16', 'float64'];

const toNumber = (text: string): number => (text.endsWith('nan') ? NaN : text === 'inf' ? Infinity : text === '-inf' ? -Infinity : Number(text));

function parseDtype(s: Scanner): DType {
  const at = (s.skip(), s.pos);
  const short = s.match(/[a-z][a-z0-9]*/y, 'an element type');
  const d = dtypeFromShort(short);
  if (!d) throw s.error(`unknown element type '${short}'`, at, 'element types: f32, f16, f64, i8, u8, i16, u16, i32, u32, i64, u64, i4, u4, bool, str');
  return d;
}

function parseType(s: Scanner): ValueType | undefined {
  if (s.eat('?')) return undefined;
  const dtype = parseDtype(s);
  s.expect('[');
  if (s.eat('*')) {
    s.expect(']');
    return { dtype };
  }
  const shape: Dim[] = [];
  if (s.eat(']')) return { dtype, shape };
  do {
    const c = s.peek();
    if (s.eat('?')) shape.push(null);
    else if (c === '"') shape.push(s.string());
    else if (/[0-9]/.test(c)) shape.push(s.integer('a dimension'));
    else shape.push(s.ident('a dimension'));
  } while (s.eat(','));
  s.expect(']', "',' or ']'");
  return { dtype, shape };
}

function parseElement(s: Scanner, dtype: DType): number | bigint | string {
  if (dtype === 'string') return s.string();
  if (dtype === 'bool' && (s.eatWord('true') || s.eatWord('false'))) return s.text.slice(s.pos - 4, s.pos) === 'true' ? 1 : 0;
  const n = s.number();
  if (FLOAT_DTYPES.includes(dtype)) return toNumber(n.text);
  if (n.isFloat) throw s.error(`'${n.text}' is not an integer, as ${dtype} requires`, n.at);
  if (dtype === 'int64' || dtype === 'uint64') return BigInt(n.text);
  const v = Number(n.text);
  const [lo, hi] = integerRange(dtype);
  if (v < lo || v > hi) throw s.error(`${v} is outside the ${dtype} range [${lo}, ${hi}]`, n.at);
  return v;
}

function buildTensor(s: Scanner, dtype: DType, shape: number[], values: (number | bigint | string)[], at: number): Tensor {
  const size = shape.reduce((a, b) => a * b, 1);
  if (values.length !== size) throw s.error(`${values.length} values for shape [${shape.join(',')}] (${size} elements)`, at);
  if (dtype === 'string') return new Tensor('string', shape, (values as string[]).map((v) => new TextEncoder().encode(v)));
  return Tensor.from(dtype, shape, values as number[]);
}

const ELIDED_HINT = "values were elided when printing; print with { values: 'all' } to write them out";

function parseConstBody(s: Scanner, type: ValueType | undefined, at: number): Tensor {
  if (!type?.shape || !type.shape.every((d) => typeof d === 'number')) throw s.error('a const needs a type with a static shape', at);
  if (s.peek() === '<') throw s.error('const values are elided', s.pos, ELIDED_HINT);
  const start = (s.skip(), s.pos);
  const values = s.list(() => parseElement(s, type.dtype));
  return buildTensor(s, type.dtype, type.shape as number[], values, start);
}

function parseTensorLiteral(s: Scanner): Tensor {
  const at = (s.skip(), s.pos);
  s.expect('tensor<');
  const dtype = parseDtype(s);
  const shape = s.list(() => s.integer('a dimension'));
  const values: (number | bigint | string)[] = [];
  if (s.eat(':')) {
    if (s.peek() === '<') throw s.error('tensor values are elided', s.pos, ELIDED_HINT);
    do values.push(parseElement(s, dtype)); while (s.eat(','));
  }
  s.expect('>', "',' or '>'");
  return buildTensor(s, dtype, shape, values, at);
}

const EMPTY_LISTS: Record<string, Attribute> = {
  'ints[]': { type: 'ints', value: [] },
  'floats[]': { type: 'floats', value: [] },
  'strings[]': { type: 'strings', value: [] },
  'tensors[]': { type: 'tensors', value: [] },
};

function parseAttrValue(s: Scanner): Attribute {
  const c = s.peek();
  const at = s.pos;
  if (c === '"') return { type: 'string', value: s.string() };
  if (s.text.startsWith('tensor<', s.pos)) return { type: 'tensor', value: parseTensorLiteral(s) };
  for (const [word, value] of Object.entries(EMPTY_LISTS)) if (s.eat(word)) return { type: value.type, value: [] } as Attribute;
  if (c === '<') throw s.error('graph attributes cannot be read from text', at);
  if (c !== '[') {
    const n = s.number();
    return n.isFloat ? { type: 'float', value: toNumber(n.text) } : { type: 'int', value: Number(n.text) };
  }
  const items = s.list((): { kind: 'int' | 'float' | 'string' | 'tensor'; value: unknown } => {
    const d = s.peek();
    if (d === '"') return { kind: 'string', value: s.string() };
    if (s.text.startsWith('tensor<', s.pos)) return { kind: 'tensor', value: parseTensorLiteral(s) };
    const n = s.number();
    return { kind: n.isFloat ? 'float' : 'int', value: toNumber(n.text) };
  });
  if (items.length === 0) throw s.error('an empty list needs its kind', at, 'write ints[], floats[], strings[] or tensors[]');
  const kinds = new Set(items.map((i) => (i.kind === 'int' ? 'float' : i.kind)));
  if (kinds.size > 1) throw s.error('a list mixes numbers, strings and tensors', at);
  const values = items.map((i) => i.value);
  if (kinds.has('string')) return { type: 'strings', value: values as string[] };
  if (kinds.has('tensor')) return { type: 'tensors', value: values as Tensor[] };
  return items.some((i) => i.kind === 'float') ? { type: 'floats', value: values as number[] } : { type: 'ints', value: values as number[] };
}

function parseQuant(s: Scanner): QuantAnnotation {
  const q: QuantAnnotation = { axis: null };
  const floats = (): number[] => s.list(() => toNumber(s.number().text));
  while (!s.eat('>')) {
    const at = (s.skip(), s.pos);
    const key = s.ident('an annotation field');
    s.expect('=');
    if (s.peek() === '<') throw s.error(`#q field '${key}' is elided`, s.pos, ELIDED_HINT);
    if (key === 'axis') q.axis = s.eatWord('none') ? null : s.integer('an axis');
    else if (key === 'bits') q.bits = Int32Array.from(s.list(() => s.integer()));
    else if (key === 'levels') q.levels = Int32Array.from(s.list(() => s.integer()));
    else if (key === 'zp') q.zeroPoint = Int32Array.from(s.list(() => s.integer()));
    else if (key === 'scale') q.scale = Float64Array.from(floats());
    else if (key === 'src') q.rangeSource = s.string();
    else if (key === 'signed') {
      if (s.eatWord('true')) q.signed = true;
      else if (s.eatWord('false')) q.signed = false;
      else throw s.error('expected true or false');
    } else if (key === 'range') {
      const pairs = s.list(() => {
        const lo = toNumber(s.number().text);
        s.expect(':');
        return [lo, toNumber(s.number().text)];
      });
      q.range = { lo: Float64Array.from(pairs, (p) => p[0]), hi: Float64Array.from(pairs, (p) => p[1]) };
    } else throw s.error(`unknown #q field '${key}'`, at, 'fields: axis, bits, levels, signed, range, scale, zp, src');
  }
  return q;
}

function parseDecl(s: Scanner): Decl {
  s.expect('%', "'%' and a value name");
  const at = s.pos - 1;
  const decl: Decl = { name: s.name(), at, oneSided: false };
  if (s.eat(':')) decl.type = parseType(s);
  for (;;) {
    if (s.eat('#q<')) decl.quant = parseQuant(s);
    else if (s.eat('#one-sided')) decl.oneSided = true;
    else if (s.eat('#upper-bound=')) decl.upperBound = toNumber(s.number().text);
    else return decl;
  }
}

function parseNode(s: Scanner, outputs: (Decl | null)[], at: number): NodeStmt {
  const opAt = (s.skip(), s.pos);
  const full = s.match(OP_AT, 'an operator name or const');
  const dot = full.lastIndexOf('.');
  const node: NodeStmt = { at, outputs, opType: full.slice(dot + 1), domain: dot < 0 ? '' : full.slice(0, dot), inputs: [], attributes: {} };
  if (!node.opType) throw s.error(`'${full}' has no operator name after the domain`, opAt);
  s.expect('(');
  if (!s.eat(')')) {
    do {
      if (s.eat('_')) node.inputs.push(null);
      else {
        s.expect('%', "'%' and a value name, or '_'");
        node.inputs.push({ at: s.pos - 1, name: s.name() });
      }
    } while (s.eat(','));
    s.expect(')', "',' or ')'");
  }
  if (s.eat('{')) {
    do {
      const kAt = (s.skip(), s.pos);
      const key = s.peek() === '"' ? s.string() : s.ident('an attribute name');
      if (key in node.attributes) throw s.error(`attribute '${key}' is given twice`, kAt);
      s.expect('=');
      node.attributes[key] = parseAttrValue(s);
    } while (s.eat(','));
    s.expect('}', "',' or '}'");
  }
  if (s.eat('@')) node.name = s.name();
  return node;
}

function annotate(v: Value, d: Decl): void {
  if (d.quant) v.quant = d.quant;
  if (d.oneSided) v.meta.oneSided = true;
  if (d.upperBound !== undefined) v.meta.upperBound = d.upperBound;
}

/** Build a Graph from its text form (see printer.ts). Errors are E_FILE_FORMAT with line:column. */
export function parseGraph(text: string, opts: ParseOptions = {}): Graph {
  const s = new Scanner(text, opts.file);
  if (!s.eatWord('graph')) throw s.error(`expected 'graph', found ${s.describeHere()}`);
  const g = new Graph(s.name());
  s.expect('(');
  const inputs: Decl[] = [];
  if (!s.eat(')')) {
    do inputs.push(parseDecl(s)); while (s.eat(','));
    s.expect(')', "',' or ')'");
  }
  s.expect('{');
  const consts: ConstStmt[] = [];
  const nodes: NodeStmt[] = [];
  while (!s.eatWord('return')) {
    const at = (s.skip(), s.pos);
    if (at >= text.length) throw s.error("expected a statement or 'return'");
    const outputs: (Decl | null)[] = [];
    if (s.peek() !== '=') {
      do outputs.push(s.eat('_') ? null : parseDecl(s)); while (s.eat(','));
    }
    s.expect('=', "'=' or ','");
    if (s.eatWord('const')) {
      if (outputs.length !== 1 || !outputs[0]) throw s.error('a const defines exactly one named value', at);
      consts.push({ decl: outputs[0], tensor: parseConstBody(s, outputs[0].type, at) });
    } else nodes.push(parseNode(s, outputs, at));
  }
  const returns: { name: string; at: number }[] = [];
  if (s.peek() === '%') {
    do {
      s.expect('%');
      returns.push({ at: s.pos - 1, name: s.name() });
    } while (s.eat(','));
  }
  s.expect('}', "',' or '}'");
  if (s.peek() !== '') throw s.error(`unexpected ${s.describeHere()} after the graph`);

  const define = (d: Decl): void => {
    if (g.value(d.name)) throw s.error(`value '%${d.name}' is defined twice`, d.at);
  };
  const use = (r: { name: string; at: number }): Value => {
    const v = g.value(r.name);
    if (!v) throw s.error(`value '%${r.name}' is used before it is defined`, r.at, 'define every value (graph input, const or node output) above its first use');
    return v;
  };
  for (const c of consts) {
    define(c.decl);
    annotate(g.addInitializer(c.decl.name, c.tensor), c.decl);
  }
  for (const d of inputs) {
    const init = g.initializers.find((v) => v.name === d.name);
    if (g.inputs.some((v) => v.name === d.name)) throw s.error(`graph input '%${d.name}' is declared twice`, d.at);
    if (init) g.inputs.push(init);
    else {
      define(d);
      annotate(g.addInput(d.name, d.type), d);
    }
  }
  for (const n of nodes) {
    const ins = n.inputs.map((r) => (r ? use(r) : null));
    n.outputs.forEach((d, i) => {
      if (!d) return;
      define(d);
      if (n.outputs.slice(0, i).some((e) => e?.name === d.name)) throw s.error(`value '%${d.name}' is defined twice`, d.at);
    });
    const name = n.name ?? n.outputs[0]?.name;
    if (name !== undefined && g.node(name)) throw s.error(`node name '${name}' is taken by an earlier node`, n.at);
    const node = g.addNode({ opType: n.opType, domain: n.domain, name, inputs: ins, outputs: n.outputs.map((d) => d?.name ?? ''), attributes: n.attributes });
    n.outputs.forEach((d, i) => {
      if (!d) return;
      node.outputs[i].type = d.type;
      annotate(node.outputs[i], d);
    });
  }
  for (const r of returns) g.addOutput(use(r));
  return g;
}
