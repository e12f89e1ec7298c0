import type { Node } from '@nibble/ir';
import { codesRange, type CompileContext, elementGroups, floatThresholds, intThresholds, packThresholds, type PlannedValue, quantizeCode, sizeOf } from '../plan';
import { f64Thresholds, packF64Thresholds } from '../f64';
import { MAP_SHADER, PAIR_SHADER, thresholdShader } from '../wgsl';
import { THRESHOLD_F64_SHADER } from '../wgsl-f64';

/** The float64 value of code q in channel c: (q - zp) * s, as the wasm dequantize kernel computes it (exact). */
export const dequantizedValue = (x: PlannedValue) => (c: number, q: number): number => (q - x.zeroPoint![x.channels === 1 ? 0 : c]) * x.scale![x.channels === 1 ? 0 : c];

/** Codes read as a real value (the wasm plan's dequantize step): a view, no GPU work. */
export function realOfCodes(x: PlannedValue): PlannedValue {
  return { name: `${x.name}#real`, kind: 'real', shape: x.shape, channels: x.channels, inner: x.inner, buffer: x.buffer, base: 'codes', codes: x, value: dequantizedValue(x) };
}

export interface Quantizer {
  channels: number;
  scale: Float64Array;
  zeroPoint: Int32Array;
  lo: Int32Array;
  hi: Int32Array;
}

/** Largest pair table (entries) before the plan gives up: 4 M words (16 MiB). */
export const PAIR_LIMIT = 1 << 22;

/**
 * The wasm quantize kernel on real value `src` into codes `y`, as a table:
 * thresholds over the int32, float32 or float64 the value is a function of, or the
 * code of each code (pair of codes). Exact: each entry is the wasm kernel's
 * float64 operations on that input.
 */
export function emitQuantizeReal(ctx: CompileContext, node: Node, src: PlannedValue, q: Quantizer, y: PlannedValue): void {
  const n = sizeOf(src.shape);
  const L = Math.max(src.channels, q.channels);
  if ((q.channels !== 1 && q.channels !== L) || (src.channels !== 1 && src.channels !== L) || n % L !== 0 || (src.channels === L && L > 1 && src.inner !== n / L)) {
    return ctx.fail(node, `the value's ${src.channels} channels and the quantizer's ${q.channels} do not line up`);
  }
  const inner = n / L;
  const code = (l: number) => {
    const cs = src.channels === 1 ? 0 : l;
    const cq = q.channels === 1 ? 0 : l;
    const value = src.value!;
    return (v: number): number => quantizeCode(value(cs, v), q.scale[cq], q.zeroPoint[cq], q.lo[cq], q.hi[cq]);
  };
  const params = [n, inner, L];
  if (src.base === 'i32' || src.base === 'f32') {
    const float = src.base === 'f32';
    const tables = Array.from({ length: L }, (_, l) => (float ? floatThresholds(code(l)) : intThresholds(code(l))));
    const { meta, thr, tmax } = packThresholds(tables, float);
    ctx.emit(node, float ? 'quantizeInput' : 'requantize', () => ({
      key: `threshold/${src.base}`, wgsl: () => thresholdShader(float ? 'f32' : 'i32'),
      bindings: [{ buf: src.buffer }, { data: meta }, { data: thr }, { write: y.buffer }], params: [...params, tmax], groups: elementGroups(n),
    }));
    return;
  }
  if (src.base === 'f64') {
    const { meta, thr, tmax } = packF64Thresholds(Array.from({ length: L }, (_, l) => f64Thresholds(code(l))));
    ctx.emit(node, 'requantizeF64', () => ({
      key: 'threshold/f64', wgsl: () => THRESHOLD_F64_SHADER,
      bindings: [{ buf: src.buffer }, { data: meta }, { data: thr }, { write: y.buffer }], params: [...params, tmax], groups: elementGroups(n),
    }));
    return;
  }
  if (src.base === 'codes') {
    const lut = new Uint32Array(L * 256);
    for (let l = 0; l < L; l++) {
      const f = code(l);
      for (let v = 0; v < 256; v++) lut[l * 256 + v] = f(v);
    }
    ctx.emit(node, 'mapCodes', () => ({ key: 'map', wgsl: () => MAP_SHADER, bindings: [{ buf: src.codes!.buffer }, { data: lut }, { write: y.buffer }], params, groups: elementGroups(n) }));
    return;
  }
  const { a, b, value } = src.pair!;
  const na = codesRange(a);
  const nb = codesRange(b);
  if (L * na * nb > PAIR_LIMIT) return ctx.fail(node, `a table of ${L} x ${na} x ${nb} codes is too large`, 'quantize the residual sums per tensor (--target wasm)');
  const lut = new Uint32Array(L * na * nb);
  for (let l = 0; l < L; l++) {
    const cs = src.channels === 1 ? 0 : l;
    const cq = q.channels === 1 ? 0 : l;
    for (let qa = 0; qa < na; qa++) for (let qb = 0; qb < nb; qb++) {
      lut[(l * na + qa) * nb + qb] = quantizeCode(value(cs, qa, qb), q.scale[cq], q.zeroPoint[cq], q.lo[cq], q.hi[cq]);
    }
  }
  emitPair(ctx, node, a, b, lut, [n, inner, L, na, nb], y);
}

export function emitPair(ctx: CompileContext, node: Node, a: PlannedValue, b: PlannedValue, lut: Uint32Array, params: number[], y: PlannedValue): void {
  ctx.emit(node, 'addCodes', () => ({ key: 'pair', wgsl: () => PAIR_SHADER, bindings: [{ buf: a.buffer }, { buf: b.buffer }, { data: lut }, { write: y.buffer }], params, groups: elementGroups(params[0]) }));
}

/**
 * A real value with f applied after its own value (a clip, an elementwise op with constants): no
 * GPU work until a QuantizeLinear tabulates it. f gets the value and channel c of `layout` (by
 * default the value's own channels; the value must then have one channel or those).
 */
export function mapReal(x: PlannedValue, f: (v: number, c: number) => number, layout = { channels: x.channels, inner: x.inner }): Omit<PlannedValue, 'name'> {
  const from = (c: number): number => (x.channels === 1 ? 0 : c);
  const mapped = { ...x, ...layout, fuseQuantize: undefined, table: undefined };
  if (x.pair) {
    const { a, b, value } = x.pair;
    return { ...mapped, pair: { a, b, value: (c, qa, qb) => f(value(from(c), qa, qb), c) } };
  }
  const value = x.value!;
  return { ...mapped, value: (c, v) => f(value(from(c), v), c) };
}
