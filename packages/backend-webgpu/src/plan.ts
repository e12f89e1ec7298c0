import { type Node, NibbleError, type Value } from '@nibble/ir';
import { type CodeValues, expandChannels, roundHalfEven } from '@nibble/quant';

/*
 * A plan: the graph compiled once for one sample's shapes into GPU steps.
 * It makes the decisions of @nibble/backend-wasm's plan, node by node (which
 * kernel, which QuantizeLinear is fused into its producer, which clamp is
 * exact on the grid), because the codes must be the same. What differs is
 * how a real (float64) value is held: WGSL has no float64, so a real value
 * stays on the GPU as the integers it is a function of, and the float64
 * operations of the WebAssembly kernels run on the host, once per plan,
 * over the integers' whole domain:
 *
 *  - 'i32': an int32 per element (a conv's accumulator, a pooled sum), the
 *    value a per-channel function of it;
 *  - 'f32': the network input (float32, exact in float64);
 *  - 'f64': a float64 value itself, two words per element (the general
 *    conv's output, computed with emulated binary64: f64.ts);
 *  - 'codes': integer codes (a dequantized or clipped-off-grid value);
 *  - 'pair': two codes tensors (a residual sum of dequantized codes).
 *
 * A QuantizeLinear of such a value is then a table: for the monotone
 * functions of one int32 or float32, the thresholds at which the code steps
 * up (found by bisection on the host in float64, the very operations of the
 * wasm kernels); for codes, the code each code becomes. The GPU does integer
 * work only, and the codes are those of the wasm backend by construction.
 *
 * The wasm plan also holds some real values as tables: an elementwise
 * function of one codes value, tabulated in float32 as onnxruntime computes
 * it (its kernels/table.ts). Its readers then decide differently (a
 * QuantizeLinear rounds in float32, a Clip clips the table), so such a
 * value is marked with the same table here; it is a 'codes' value too.
 */

export type Base = 'i32' | 'f32' | 'f64' | 'codes' | 'pair';

/** The value of an element that is the real value itself (the float32 network input, a float64 value). */
export const IDENTITY = (_c: number, v: number): number => v;

export interface Buf {
  /** 32-bit words per sample. */
  words: number;
  /** Step that writes it (-1: the input, written before the steps); last step that reads it (Infinity: read back). */
  def: number;
  lastUse: number;
  /** The GPU buffer it lives in, assigned when the plan is finished. */
  slot?: number;
}

/** The grid a fused QuantizeLinear writes. */
export interface OutputGrid {
  channels: number;
  scale: Float64Array;
  zeroPoint: Int32Array;
  lo: Int32Array;
  hi: Int32Array;
}

export interface PlannedValue {
  name: string;
  kind: 'codes' | 'real';
  shape: number[];
  /** Quantization (codes) or value (real) channels, and elements per channel. */
  channels: number;
  inner: number;
  buffer: Buf;
  scale?: Float64Array;
  zeroPoint?: Int32Array;
  lo?: Int32Array;
  hi?: Int32Array;
  container?: 'uint8' | 'uint4';
  asCodes?: boolean;
  /** real: what the buffer holds, and channel c's float64 value of an element v of it. */
  base?: Base;
  value?: (c: number, v: number) => number;
  /** real over codes: the codes read (their bounds are the table's domain). */
  codes?: PlannedValue;
  /** real pair: the two codes and the value of (qa, qb) in channel c. */
  pair?: { a: PlannedValue; b: PlannedValue; value: (c: number, qa: number, qb: number) => number };
  /** real: the wasm plan's table value (an elementwise function of the codes `source`, float32 values per channel and code). */
  table?: CodeValues & { source: PlannedValue };
  /** real: each value is a float32 number (the wasm plan's flag: its float64 ops on it round to float32). */
  f32?: boolean;
  /** real: a pending per-channel clamp (Max/Min before QuantizeLinear), only QuantizeLinear may read it. */
  clamp?: { lo?: Float64Array; hi?: Float64Array; source: PlannedValue };
  /** Softmax over rows of this many values, applied on the host after readback (a graph output only). */
  softmax?: number;
  /** Written by an integer kernel that can write the codes of QuantizeLinear `q` itself; false if it cannot. */
  fuseQuantize?: (q: OutputGrid, into: Buf) => boolean;
}

export const sizeOf = (shape: readonly number[]): number => shape.reduce((a, b) => a * b, 1);

/** A GPU constant: int32, uint32 or float32 words. */
export type ConstData = Int32Array | Uint32Array | Float32Array;

export type Binding = { buf: Buf } | { data: ConstData } | { write: Buf };

/** One dispatch: a pipeline variant (shape-free), its WGSL, bindings 1.. (0 is the uniform block), parameters and the grid. */
export interface StepSpec {
  key: string;
  wgsl: () => string;
  bindings: Binding[];
  params: number[];
  groups: [number, number];
}

export interface Step {
  node: string;
  kernel: string;
  /** Built when the plan is finished (a later QuantizeLinear may change what a conv writes, or make the step needless: undefined). */
  build: () => StepSpec | undefined;
}

export class CompileContext {
  readonly steps: Step[] = [];
  readonly buffers: Buf[] = [];
  readonly values = new Map<string, PlannedValue>();

  constructor(private readonly staticValue: (v: Value) => boolean, readonly keep: ReadonlySet<string>, readonly dot4: boolean) {}

  fail(node: Node, message: string, hint?: string): never {
    throw new NibbleError('E_UNSUPPORTED_OP', `webgpu backend: ${node.opType} '${node.name}': ${message}`, { node: node.name, op: node.opType, hint: hint ?? 'run this model with --backend wasm or --backend ort' });
  }

  input(node: Node, i: number): PlannedValue {
    const v = node.inputs[i];
    if (!v) this.fail(node, `input ${i} is missing`);
    if (this.staticValue(v)) this.fail(node, `input ${i} ('${v.name}') is a constant; this kernel takes it only as a runtime value`);
    const p = this.values.get(v.name);
    if (!p) this.fail(node, `input '${v.name}' has no planned value`);
    if (p.softmax) this.fail(node, `it reads '${v.name}', a Softmax that this backend computes on the host after readback (graph outputs only)`);
    return this.use(p);
  }

  /** Mark a value (and what it is computed from) read by the step being compiled. */
  use(p: PlannedValue): PlannedValue {
    p.buffer.lastUse = Math.max(p.buffer.lastUse, this.steps.length);
    if (p.clamp) this.use(p.clamp.source);
    if (p.codes) this.use(p.codes);
    if (p.pair) {
      this.use(p.pair.a);
      this.use(p.pair.b);
    }
    return p;
  }

  isStatic(v: Value | undefined): boolean {
    return v !== undefined && this.staticValue(v);
  }

  buffer(words: number): Buf {
    const b: Buf = { words, def: this.steps.length, lastUse: this.steps.length };
    this.buffers.push(b);
    return b;
  }

  define(name: string, init: Omit<PlannedValue, 'name' | 'buffer'> & { buffer?: Buf }): PlannedValue {
    const buffer = init.buffer ?? this.buffer(sizeOf(init.shape));
    const p: PlannedValue = { ...init, name, buffer };
    this.values.set(name, p);
    return p;
  }

  emit(node: Node, kernel: string, build: () => StepSpec | undefined): void {
    this.steps.push({ node: node.name, kernel, build });
  }
}

/** How many codes values can index a table of `v`'s codes: 16 for uint4, else up to its largest code. */
export const codesRange = (v: PlannedValue): number => (v.container === 'uint4' ? 15 : Math.max(...v.hi!)) + 1;

/** Workgroups for n elements of an elementwise kernel (x at most 65535, the rest in y). */
export function elementGroups(n: number, per = 64): [number, number] {
  const g = Math.max(1, Math.ceil(n / per));
  return g <= 65535 ? [g, 1] : [65535, Math.ceil(g / 65535)];
}

/**
 * The codes a monotone (non-decreasing) code function takes over an ordered
 * domain of integer keys [min, max] (numbers, or bigints for 64-bit keys), as
 * a base code and the sorted keys where it steps up: code(a) = base +
 * #{t : t <= a}. Each threshold is found by bisection, so the table is exact
 * over the whole domain.
 */
export function stepKeys<K extends number | bigint>(code: (key: K) => number, min: K, max: K, mid: (a: K, b: K) => K, next: (a: K) => K): { base: number; keys: K[] } {
  const base = code(min);
  const top = code(max);
  const keys: K[] = [];
  let from = min;
  for (let k = base + 1; k <= top; k++) {
    let a = from;
    let b = max;
    while (a < b) {
      const m = mid(a, b);
      if (code(m) >= k) b = m;
      else a = next(m);
    }
    keys.push(a);
    from = a;
  }
  return { base, keys };
}

const midNumber = (a: number, b: number): number => Math.floor((a + b) / 2);
const nextNumber = (a: number): number => a + 1;

/** Thresholds of a monotone code function of an int32 (accumulators, pooled sums). */
export function intThresholds(code: (a: number) => number): { base: number; thresholds: number[] } {
  const { base, keys } = stepKeys(code, -2147483648, 2147483647, midNumber, nextNumber);
  return { base, thresholds: keys };
}

const F32 = new Float32Array(1);
const U32 = new Uint32Array(F32.buffer);
/** float32 values in order as keys 0x007fffff (-inf) .. 0xff800000 (+inf), NaNs excluded. */
const fromKey = (k: number): number => {
  U32[0] = k >= 0x80000000 ? k - 0x80000000 : 0xffffffff - k;
  return F32[0];
};

/** The same over the float32 domain (the network input): thresholds are float32 values compared in the shader. */
export function floatThresholds(code: (x: number) => number): { base: number; thresholds: number[] } {
  const { base, keys } = stepKeys((k: number) => code(fromKey(k)), 0x007fffff, 0xff800000, midNumber, nextNumber);
  return { base, thresholds: keys.map(fromKey) };
}

/** Per-channel threshold tables packed for the shaders: meta [base, count] per channel, thresholds [L][TMAX]. */
export function packThresholds(tables: { base: number; thresholds: number[] }[], float: boolean): { meta: Int32Array; thr: Int32Array | Float32Array; tmax: number } {
  const tmax = Math.max(1, ...tables.map((t) => t.thresholds.length));
  const meta = new Int32Array(tables.length * 2);
  const thr = float ? new Float32Array(tables.length * tmax) : new Int32Array(tables.length * tmax);
  tables.forEach((t, l) => {
    meta[2 * l] = t.base;
    meta[2 * l + 1] = t.thresholds.length;
    thr.set(t.thresholds, l * tmax);
  });
  return { meta, thr, tmax };
}

/** The wasm epilogue's rounding: t clamped to +-2^30, then round half to even (assembly/epilogue.ts rounded). */
const LIMIT = 1073741824;
export const roundedClamped = (t: number): number => roundHalfEven(Math.min(LIMIT, Math.max(-LIMIT, t)));

/** The wasm quantize kernel's code of a float64 value: clamp(round_half_even(v / s) + zp, lo, hi). */
export const quantizeCode = (v: number, s: number, zp: number, lo: number, hi: number): number => Math.min(hi, Math.max(lo, roundHalfEven(v / s) + zp));

/** Per-channel parameters of codes expanded to `n` channels (as the wasm plan's channelParams). */
export function channelParams(v: PlannedValue, n: number): { scale: Float64Array; zeroPoint: Int32Array } {
  if (v.kind !== 'codes' || !v.scale || !v.zeroPoint) throw new NibbleError('E_INTERNAL', `'${v.name}' is not codes`);
  const p = expandChannels({ channels: v.channels, inner: v.inner, scale: v.scale, zeroPoint: v.zeroPoint }, n);
  if (!p) throw new NibbleError('E_UNSUPPORTED', `'${v.name}' has ${v.channels} quantization channels, which do not map onto ${n}`);
  return p;
}
