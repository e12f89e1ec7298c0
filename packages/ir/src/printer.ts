import type { Attribute } from './attributes';
import { DTYPES } from './dtype';
import type { DType } from './dtype';
import { float16BitsToNumber, numberToFloat16Bits } from './float16';
import type { Dim, Graph, Node, Value, ValueType } from './graph';
import type { QuantAnnotation } from './quant-annotation';
import type { Tensor } from './tensor';

/*
 * The text form of a graph, MLIR-like, one statement per line. The parser
 * (parser.ts) reads back everything printed with full values. Format:
 *
 *   graph NAME(%x : f32[N,1,28,28], %s : ?) {
 *     %w : f32[2,1,3,3] = const <2x1x3x3 values>      (large, values elided)
 *     %b : f32[2] = const [0.5, -1]                    (full values)
 *     %c : f32[N,2,28,28] #one-sided = Conv(%x, %w, %b) {pads=[1,1,1,1], strides=[1,1]}
 *     %a : f32[3], %b2 : f32[3] = Split(%c) {axis=0} @split_0
 *     %y : f32[?] #q<axis=none bits=[4] signed=false range=[0:6.2]> = com.microsoft.Foo(%a, _)
 *     return %y, %b2
 *   }
 *
 * - Initializers come first, then nodes in graph order. Names print bare
 *   when made of [A-Za-z0-9_.-/], else as a quoted string (`%"a:0"`).
 * - Types: dtype short name and dims; `?` unknown type or dim, `[*]` unknown
 *   rank, symbolic dims by name (quoted unless an identifier).
 * - `_` is an omitted optional input, or an omitted output.
 * - A node's name prints as `@name` only when it differs from its first output's.
 * - Attributes sorted by name: int `3`, float `0.5` / `1.0` / `1e-7` / `nan` /
 *   `inf` (always with a `.`, exponent or letter, so it reads back as a float),
 *   string `"x"`, lists `[1,2]` `[0.5,1.0]` `["a","b"]`, empty lists `ints[]`,
 *   `floats[]`, `strings[]`, `tensors[]`; tensors `tensor<f32[2]: 1, 2>`,
 *   empty `tensor<f32[0]>`, elided `tensor<f32[4,4]: <4x4 values>>`; graph
 *   attributes print as `<graph NAME>` and do not read back.
 * - Floats print in the shortest form that rounds back to the same value at
 *   the tensor's precision (float32/float16/float64); float attributes that
 *   are exact float32 values print at float32 precision (ONNX stores them so).
 * - int64 tensors print exactly (bigint); string tensors as quoted UTF-8.
 * - Annotations follow the type: `#q<axis=.. bits=[..] levels=[..] signed=.. range=[lo:hi,..]
 *   scale=[..] zp=[..] src="..">` (fields present in the annotation only,
 *   numbers to 6 significant digits), `#one-sided` (meta.oneSided) and
 *   `#upper-bound=u` (meta.upperBound, exact).
 */

export interface PrintOptions {
  /** 'auto' (default): tensors and annotation arrays longer than maxValues are elided; 'all': everything in full. */
  values?: 'auto' | 'all';
  /** Element count up to which 'auto' prints values in full (default 16). */
  maxValues?: number;
}

const BARE_NAME = /^[A-Za-z0-9_.\-/]+$/;
const IDENT = /^[A-Za-z_][A-Za-z0-9_]*$/;

const ESCAPES: Record<string, string> = { '\\': '\\\\', '"': '\\"', '\n': '\\n', '\r': '\\r', '\t': '\\t' };

function quoteString(s: string): string {
  return `"${s.replace(/[\\"\x00-\x1f\x7f]/g, (c) => ESCAPES[c] ?? `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`)}"`;
}

function formatName(name: string): string {
  return BARE_NAME.test(name) ? name : quoteString(name);
}

const roundTo = (bits: 16 | 32, x: number): number => (bits === 32 ? Math.fround(x) : float16BitsToNumber(numberToFloat16Bits(x)));

/** Shortest decimal that reads back to `x` at the given precision. */
export function formatFloat(x: number, bits: 16 | 32 | 64 = 64): string {
  if (Number.isNaN(x)) return 'nan';
  if (x === Infinity) return 'inf';
  if (x === -Infinity) return '-inf';
  if (Object.is(x, -0)) return '-0';
  if (bits === 64) return String(x);
  for (let p = 1; p < 17; p++) {
    const y = Number(x.toPrecision(p));
    if (roundTo(bits, y) === x) return String(y);
  }
  return String(x);
}

function formatAttrFloat(x: number): string {
  const s = formatFloat(x, Math.fround(x) === x ? 32 : 64);
  return /^-?\d+$/.test(s) ? `${s}.0` : s;
}

function format6(x: number): string {
  return Number.isFinite(x) ? String(Number(x.toPrecision(6))) : formatFloat(x);
}

function formatDim(d: Dim): string {
  if (d === null) return '?';
  if (typeof d === 'number') return String(d);
  return IDENT.test(d) ? d : quoteString(d);
}

export function formatType(t: ValueType | undefined): string {
  if (!t) return '?';
  const short = DTYPES[t.dtype].short;
  return t.shape ? `${short}[${t.shape.map(formatDim).join(',')}]` : `${short}[*]`;
}

function elide(shape: readonly number[]): string {
  return shape.length ? `<${shape.join('x')} values>` : '<scalar>';
}

function showAll(n: number, opts: PrintOptions): boolean {
  return opts.values === 'all' || n <= (opts.maxValues ?? 16);
}

/** Element values of a tensor as text, in row-major order. */
function tensorValueStrings(t: Tensor): string[] {
  const d = t.data;
  const floatBits: Partial<Record<DType, 16 | 32 | 64>> = { float32: 32, float16: 16, float64: 64 };
  const bits = floatBits[t.dtype];
  if (t.dtype === 'string') {
    const dec = new TextDecoder();
    return (d as Uint8Array[]).map((b) => quoteString(dec.decode(b)));
  }
  if (t.dtype === 'int64' || t.dtype === 'uint64') return Array.from(d as BigInt64Array, (v) => v.toString());
  if (bits) return Array.from(t.toFloat64(), (v) => formatFloat(v, bits));
  return t.toNumbers().map(String);
}

function formatTensorAttr(t: Tensor, opts: PrintOptions): string {
  const head = `${DTYPES[t.dtype].short}[${t.shape.join(',')}]`;
  if (t.size === 0) return `tensor<${head}>`;
  return `tensor<${head}: ${showAll(t.size, opts) ? tensorValueStrings(t).join(', ') : elide(t.shape)}>`;
}

export function formatAttribute(a: Attribute, opts: PrintOptions = {}): string {
  switch (a.type) {
    case 'int': return String(a.value);
    case 'float': return formatAttrFloat(a.value);
    case 'string': return quoteString(a.value);
    case 'tensor': return formatTensorAttr(a.value, opts);
    case 'graph': return `<graph ${formatName(a.value.name)}>`;
    case 'ints': return a.value.length ? `[${a.value.join(',')}]` : 'ints[]';
    case 'floats': return a.value.length ? `[${a.value.map(formatAttrFloat).join(',')}]` : 'floats[]';
    case 'strings': return a.value.length ? `[${a.value.map(quoteString).join(',')}]` : 'strings[]';
    case 'tensors': return a.value.length ? `[${a.value.map((t) => formatTensorAttr(t, opts)).join(',')}]` : 'tensors[]';
    case 'graphs': return a.value.length ? `[${a.value.map((g) => `<graph ${formatName(g.name)}>`).join(',')}]` : 'graphs[]';
  }
}

function quantArray(values: ArrayLike<number>, fmt: (x: number) => string, opts: PrintOptions): string {
  return showAll(values.length, opts) ? `[${Array.from(values, fmt).join(',')}]` : `<${values.length} values>`;
}

export function formatQuantAnnotation(q: QuantAnnotation, opts: PrintOptions = {}): string {
  const parts = [`axis=${q.axis ?? 'none'}`];
  if (q.bits) parts.push(`bits=${quantArray(q.bits, String, opts)}`);
  if (q.levels) parts.push(`levels=${quantArray(q.levels, String, opts)}`);
  if (q.signed !== undefined) parts.push(`signed=${q.signed}`);
  if (q.range) {
    const { lo, hi } = q.range;
    parts.push(`range=${showAll(lo.length, opts) ? `[${Array.from(lo, (l, i) => `${format6(l)}:${format6(hi[i])}`).join(',')}]` : `<${lo.length} values>`}`);
  }
  if (q.scale) parts.push(`scale=${quantArray(q.scale, format6, opts)}`);
  if (q.zeroPoint) parts.push(`zp=${quantArray(q.zeroPoint, String, opts)}`);
  if (q.rangeSource !== undefined) parts.push(`src=${quoteString(q.rangeSource)}`);
  return `#q<${parts.join(' ')}>`;
}

function annotations(v: Value, opts: PrintOptions): string {
  let s = '';
  if (v.quant) s += ` ${formatQuantAnnotation(v.quant, opts)}`;
  if (v.meta.oneSided === true) s += ' #one-sided';
  // Shortest round-tripping decimal: the bound is compared exactly against ranges.
  if (typeof v.meta.upperBound === 'number') s += ` #upper-bound=${String(v.meta.upperBound)}`;
  return s;
}

const ref = (v: Value | null): string => (v ? `%${formatName(v.name)}` : '_');

function declare(v: Value, type: ValueType | undefined, opts: PrintOptions): string {
  return `%${formatName(v.name)} : ${formatType(type)}${annotations(v, opts)}`;
}

function formatConst(v: Value, opts: PrintOptions): string {
  const t = v.const!;
  const body = showAll(t.size, opts) ? `[${tensorValueStrings(t).join(', ')}]` : elide(t.shape);
  return `${declare(v, { dtype: t.dtype, shape: [...t.shape] }, opts)} = const ${body}`;
}

export function formatNode(node: Node, opts: PrintOptions = {}): string {
  const outs = node.outputs.map((v) => (v.meta.omittedOutput ? '_' : declare(v, v.type, opts))).join(', ');
  const op = node.domain ? `${node.domain}.${node.opType}` : node.opType;
  const attrs = [...node.attributes].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  const attrText = attrs.length ? ` {${attrs.map(([k, a]) => `${IDENT.test(k) ? k : quoteString(k)}=${formatAttribute(a, opts)}`).join(', ')}}` : '';
  const first = node.outputs[0];
  const named = first && !first.meta.omittedOutput && first.name === node.name ? '' : ` @${formatName(node.name)}`;
  return `${outs}${outs ? ' ' : ''}= ${op}(${node.inputs.map(ref).join(', ')})${attrText}${named}`;
}

/** The graph as text (see the format above); ends with a newline. */
export function printGraph(graph: Graph, opts: PrintOptions = {}): string {
  const lines = [`graph ${formatName(graph.name)}(${graph.inputs.map((v) => declare(v, v.type, opts)).join(', ')}) {`];
  for (const v of graph.initializers) lines.push(`  ${formatConst(v, opts)}`);
  for (const n of graph.nodes) lines.push(`  ${formatNode(n, opts)}`);
  lines.push(graph.outputs.length ? `  return ${graph.outputs.map(ref).join(', ')}` : '  return');
  lines.push('}');
  return `${lines.join('\n')}\n`;
}
