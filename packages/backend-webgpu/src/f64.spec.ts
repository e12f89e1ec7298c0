/// <reference types="@webgpu/types" preserve="true" />
import { describeWithWebGpu } from '@nibble/testing';
import { f64OfKey, f64Thresholds, F64_WGSL, keyOfF64, packF64Thresholds } from './f64';
import { requireWebGpu } from './gpu';
import { PARAMS } from './wgsl';
import { THRESHOLD_F64_SHADER } from './wgsl-f64';

/*
 * The WGSL binary64 arithmetic against JavaScript's doubles (IEEE 754, round
 * to nearest even), bit for bit: random bit patterns over every exponent,
 * random doubles of nearby exponents (cancellation, carries), and the edges:
 * ties, subnormal operands and results, overflow, signed zeros, infinities
 * and NaN (any NaN for a NaN: the shader returns one quiet NaN).
 */

const STORAGE = 0x80, COPY_SRC = 0x04, COPY_DST = 0x08, MAP_READ = 0x01;

/** Per case (a, b): a + b, a * b, the double of a's low word as int32, of a's low word as float32 bits, f64Key(a). */
const TEST_SHADER = `
@group(0) @binding(0) var<storage, read> cases: array<u32>;
@group(0) @binding(1) var<storage, read_write> out: array<u32>;
${F64_WGSL}
@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let i = gid.x;
  if (4u * i >= arrayLength(&cases)) { return; }
  let a = vec2<u32>(cases[4u * i], cases[4u * i + 1u]);
  let b = vec2<u32>(cases[4u * i + 2u], cases[4u * i + 3u]);
  let r = array<vec2<u32>, 5>(f64Add(a, b), f64Mul(a, b), f64FromI32(bitcast<i32>(a.x)), f64FromF32Bits(a.x), f64Key(a));
  for (var k = 0u; k < 5u; k++) {
    out[10u * i + 2u * k] = r[k].x;
    out[10u * i + 2u * k + 1u] = r[k].y;
  }
}
`;

/** Runs `code` once per element over the given buffers (bindings 0..) and a fresh output (the last binding); the output's bytes. */
async function compute(code: string, inputs: GPUBuffer[], outBytes: number, invocations: number): Promise<ArrayBuffer> {
  const { device } = await requireWebGpu();
  const output = device.createBuffer({ size: outBytes, usage: STORAGE | COPY_SRC });
  const read = device.createBuffer({ size: outBytes, usage: MAP_READ | COPY_DST });
  const pipeline = device.createComputePipeline({ layout: 'auto', compute: { module: device.createShaderModule({ code }), entryPoint: 'main' } });
  const entries = [...inputs, output].map((buffer, binding) => ({ binding, resource: { buffer } }));
  const enc = device.createCommandEncoder();
  const pass = enc.beginComputePass();
  pass.setPipeline(pipeline);
  pass.setBindGroup(0, device.createBindGroup({ layout: pipeline.getBindGroupLayout(0), entries }));
  pass.dispatchWorkgroups(Math.ceil(invocations / 64));
  pass.end();
  enc.copyBufferToBuffer(output, 0, read, 0, outBytes);
  device.queue.submit([enc.finish()]);
  await read.mapAsync(1);
  const bytes = read.getMappedRange().slice(0);
  for (const b of [...inputs, output, read]) b.destroy();
  return bytes;
}

/** A buffer holding `data`. */
async function upload(data: ArrayBufferView, usage: number): Promise<GPUBuffer> {
  const { device } = await requireWebGpu();
  const b = device.createBuffer({ size: Math.max(16, data.byteLength), usage: usage | COPY_DST });
  device.queue.writeBuffer(b, 0, data.buffer, data.byteOffset, data.byteLength);
  return b;
}

async function runShader(a: Float64Array, b: Float64Array): Promise<Float64Array> {
  const cases = new Float64Array(2 * a.length);
  for (let i = 0; i < a.length; i++) {
    cases[2 * i] = a[i];
    cases[2 * i + 1] = b[i];
  }
  return new Float64Array(await compute(TEST_SHADER, [await upload(cases, STORAGE)], a.length * 5 * 8, a.length));
}

const bitsOf = (v: number): string => {
  const f = new Float64Array([v]);
  const u = new Uint32Array(f.buffer);
  return `${u[1].toString(16).padStart(8, '0')}${u[0].toString(16).padStart(8, '0')}`;
};
const same = (x: number, y: number): boolean => (Number.isNaN(x) && Number.isNaN(y)) || bitsOf(x) === bitsOf(y);

/** A deterministic generator (xorshift32) for the random cases. */
function generator(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s;
  };
}

function doubleOfWords(lo: number, hi: number): number {
  const u = new Uint32Array([lo, hi]);
  return new Float64Array(u.buffer)[0];
}

const MIN_SUB = 2 ** -1074;
const MIN_NORMAL = 2 ** -1022;
const MAX = Number.MAX_VALUE;
const EDGES = [
  0, -0, 1, -1, 1.5, 2, 3, 0.1, 0.2, 0.3, 1 / 3, 2 ** -53, 1 + 2 ** -52, 1 - 2 ** -53, 3 * 2 ** -53, 2 ** 52, 2 ** 53, 2 ** 53 + 2,
  MIN_SUB, -MIN_SUB, 3 * MIN_SUB, MIN_NORMAL, -MIN_NORMAL, MIN_NORMAL - MIN_SUB, MIN_NORMAL / 3, 2 ** -1023 + MIN_SUB, 0.5 + 2 ** -54,
  MAX, -MAX, MAX / 2, 2 ** 1023, Infinity, -Infinity, NaN, 2147483647, -2147483648, 1e-300, 1e300, 0.0009765625, 16777217,
];

describeWithWebGpu('binary64 in WGSL (f64.ts)', () => {
  it('adds and multiplies as JavaScript does, and converts int32 and float32 exactly', async () => {
    const next = generator(20261207);
    const a: number[] = [];
    const b: number[] = [];
    // Every pair of the edge values.
    for (const x of EDGES) for (const y of EDGES) {
      a.push(x);
      b.push(y);
    }
    // Random bit patterns: every exponent, subnormals, infinities and NaNs included.
    for (let i = 0; i < 3000; i++) {
      a.push(doubleOfWords(next(), next()));
      b.push(doubleOfWords(next(), next()));
    }
    // Random doubles of nearby exponents, both signs (carries, cancellation, ties in the last bits).
    for (let i = 0; i < 3000; i++) {
      const e = (next() % 60) - 30;
      const x = (next() / 2 ** 32 + 1) * 2 ** e * (next() & 1 ? -1 : 1);
      const y = (next() / 2 ** 32 + 1) * 2 ** (e + (next() % 7) - 3) * (next() & 1 ? -1 : 1);
      a.push(x);
      b.push(next() % 5 === 0 ? -x + y * 2 ** -40 : y);
    }
    // Near the subnormal range: products and sums that land on it, round into it or out of it.
    for (let i = 0; i < 1500; i++) {
      const x = (next() / 2 ** 32 + 0.5) * 2 ** (-(next() % 60) - 990);
      const y = (next() / 2 ** 32 + 0.5) * 2 ** -(next() % 80);
      a.push(next() & 1 ? x : -x);
      b.push(next() % 3 === 0 ? -x * (1 + 2 ** -50) : y);
    }
    const r = await runShader(Float64Array.from(a), Float64Array.from(b));
    const bad: string[] = [];
    const f32 = new Float32Array(1);
    const u32 = new Uint32Array(f32.buffer);
    const i32 = new Int32Array(u32.buffer);
    for (let i = 0; i < a.length; i++) {
      const lo = new Uint32Array(Float64Array.of(a[i]).buffer)[0];
      u32[0] = lo;
      const expect = [a[i] + b[i], a[i] * b[i], i32[0], f32[0]];
      for (let k = 0; k < 4; k++) {
        if (!same(r[5 * i + k], expect[k])) bad.push(`${['add', 'mul', 'i32', 'f32'][k]}(${a[i]}, ${b[i]}): ${r[5 * i + k]} (${bitsOf(r[5 * i + k])}) != ${expect[k]}`);
      }
    }
    expect(bad.slice(0, 10)).toEqual([]);
    expect(a.length).toBeGreaterThan(9000);
  });

  it('orders doubles by keys as they compare, and tabulates a code function exactly', async () => {
    const values = [-Infinity, -MAX, -1, -MIN_SUB, -0, 0, MIN_SUB, 1, MAX, Infinity];
    const keys = values.map(keyOfF64);
    for (let i = 1; i < keys.length; i++) expect(keys[i] > keys[i - 1]).toBe(true);
    for (const v of values) expect(Object.is(f64OfKey(keyOfF64(v)), v)).toBe(true);
    // The shader's key is the host's.
    const r = await runShader(Float64Array.from(values), new Float64Array(values.length));
    const words = new Uint32Array(r.buffer);
    values.forEach((v, i) => expect((BigInt(words[10 * i + 9]) << 32n) | BigInt(words[10 * i + 8])).toBe(keyOfF64(v)));
    // A code function (Math.round of v / 0.1, clamped to 0..15): each threshold is the first double of its code.
    const code = (v: number): number => Math.min(15, Math.max(0, Math.round(v / 0.1)));
    const t = f64Thresholds(code);
    expect(t.base).toBe(0);
    expect(t.thresholds).toHaveLength(15);
    for (const k of t.thresholds) {
      const v = f64OfKey(k);
      const below = f64OfKey(k - 1n);
      expect(code(v)).toBeGreaterThan(code(below));
    }
  });

  it('requantizes float64 values by their thresholds in the shader: at each threshold the next code, just below it the last', async () => {
    // Two channels of the wasm quantize kernel's code, clamp(round_half_even(v / s) + zp, lo, hi).
    const rhe = (x: number): number => (Math.abs(x % 1) === 0.5 ? 2 * Math.round(x / 2) : Math.round(x));
    const grids = [{ s: 0.1, zp: 3, lo: 0, hi: 15 }, { s: 0.0371, zp: 128, lo: 0, hi: 255 }];
    const codeOf = (l: number) => (v: number): number => Math.min(grids[l].hi, Math.max(grids[l].lo, rhe(v / grids[l].s) + grids[l].zp));
    const tables = grids.map((_, l) => f64Thresholds(codeOf(l)));
    const { meta, thr, tmax } = packF64Thresholds(tables);
    const inner = 2 * tables[1].thresholds.length + 4;
    const values = new Float64Array(2 * inner);
    for (let l = 0; l < 2; l++) {
      const row = values.subarray(l * inner, (l + 1) * inner);
      const t = tables[l].thresholds;
      t.forEach((k, i) => {
        row[2 * i] = f64OfKey(k);
        row[2 * i + 1] = f64OfKey(k - 1n);
      });
      row.set([-Infinity, Infinity, -0, 1e300], 2 * t.length);
    }
    const params = new Int32Array(PARAMS);
    params.set([values.length, inner, 2, tmax]);
    const bound = [await upload(params, 0x40), await upload(values, STORAGE), await upload(meta, STORAGE), await upload(thr, STORAGE)];
    const got = Array.from(new Uint32Array(await compute(THRESHOLD_F64_SHADER, bound, values.length * 4, values.length)));
    expect(got).toEqual(Array.from(values, (v, i) => codeOf(Math.floor(i / inner))(v)));
    // Every code of each grid is reached.
    expect(new Set(got.slice(inner, 2 * inner)).size).toBe(256);
  });
});
