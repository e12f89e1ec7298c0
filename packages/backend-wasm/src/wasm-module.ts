import { NibbleError } from '@nibble/ir';
import { KERNELS_WASM_BASE64 } from './generated/kernels-wasm';

/** The kernel exports of assembly/index.ts (pointers are byte offsets into the module's memory). */
export interface KernelExports {
  memory: WebAssembly.Memory;
  heapBase(): number;
  convCodes(...args: number[]): void;
  convReal(...args: number[]): void;
  convGemm(x2: number, r: number, p: number, w: number, o: number, ep: number, y: number, codes: number): void;
  pairRows(x: number, ldx: number, r: number, p: number, x2: number): void;
  unpackPairTiles(packed: number, offs: number, o4: number, r2: number, out: number): void;
  unpackTaps(packed: number, offs: number, c: number, kk: number, out: number): void;
  pairTaps(...args: number[]): void;
  tapPlaneWidth(kw: number, sw: number, dw: number, ow: number): number;
  padPlanesCodes(...args: number[]): void;
  convDepthwise(...args: number[]): void;
  depthwisePadBytes(kh: number, kw: number, sh: number, sw: number, oh: number, ow: number): number;
  quantize(y: number, q: number, c: number, hw: number, s: number, zp: number, lo: number, hi: number): void;
  dequantize(q: number, y: number, c: number, hw: number, s: number, zp: number): void;
  clampCodes(q: number, out: number, c: number, hw: number, lo: number, hi: number): void;
  mapCodes(x: number, y: number, l: number, inner: number, lut: number, small: number): void;
  addReal(a: number, b: number, out: number, n: number): void;
  addCodes(a: number, za: number, sa: number, b: number, zb: number, sb: number, n: number, y: number, codes: number, zo: number, lo: number, hi: number): void;
  clipReal(x: number, out: number, n: number, lo: number, hi: number): void;
  maxPoolCodes(...args: number[]): void;
  maxPoolReal(...args: number[]): void;
  globalAvgPoolCodes(x: number, c: number, hw: number, s: number, zp: number, y: number): void;
  globalAvgPoolReal(x: number, c: number, hw: number, y: number): void;
  padPlanes(...args: number[]): void;
  softmaxReal(x: number, rows: number, n: number, y: number): void;
  lookupReal(x: number, y: number, l: number, inner: number, table: number): void;
  channelOpReal(x: number, y: number, c: number, hw: number, op: number, a: number, b: number, f32: number): void;
  resizeNearest(x: number, c: number, h: number, w: number, oh: number, ow: number, iy: number, ix: number, size: number, y: number): void;
  depthToSpace(x: number, o: number, kh: number, kw: number, h: number, w: number, size: number, y: number): void;
  winogradInput(pad: number, c: number, ph: number, pw: number, th: number, tw: number, t8: number, v: number): void;
  winogradGemm(v: number, c: number, t8: number, w: number, o: number, m: number): void;
  winogradWeights(packed: number, offs: number, o: number, c: number, out: number): void;
  winogradOutput(m: number, o: number, t8: number, th: number, tw: number, oh: number, ow: number, ep: number, y: number, codes: number): void;
}

/** The module's bytes (decoded without Node's Buffer, so browsers load it the same way). */
export function kernelBytes(): Uint8Array {
  const bin = atob(KERNELS_WASM_BASE64);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

let compiled: Promise<WebAssembly.Module> | undefined;

/** A fresh instance (its own memory) of the kernel module; the compiled module is shared. */
export async function instantiateKernels(): Promise<KernelExports> {
  compiled ??= WebAssembly.compile(kernelBytes() as BufferSource).catch((e: unknown) => {
    compiled = undefined;
    throw new NibbleError('E_UNSUPPORTED', `this JavaScript engine cannot compile the kernels (WebAssembly SIMD128 needed): ${(e as Error)?.message ?? e}`, {
      hint: 'use Node 16.4+ or a browser with WebAssembly SIMD, or --backend ort', cause: e,
    });
  });
  const instance = await WebAssembly.instantiate(await compiled, {});
  return instance.exports as unknown as KernelExports;
}

/**
 * Linear memory laid out by the plan: the module's own data, then constants
 * (weights, scales) placed while compiling, then the arena. Memory grows only
 * while compiling; run() allocates nothing.
 */
export class WasmMemory {
  private top: number;
  constructor(readonly k: KernelExports) {
    this.top = align(k.heapBase());
  }

  /** Reserve `bytes` (16-byte aligned) and return the offset. */
  reserve(bytes: number): number {
    const at = this.top;
    this.top = align(at + bytes);
    const need = Math.ceil(this.top / 65536) - this.k.memory.buffer.byteLength / 65536;
    if (need > 0) this.k.memory.grow(need);
    return at;
  }

  /** Copy a typed array into newly reserved memory. */
  put(data: Float64Array | Int32Array | Uint8Array): number {
    const at = this.reserve(data.byteLength);
    new Uint8Array(this.k.memory.buffer, at, data.byteLength).set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
    return at;
  }

  get used(): number {
    return this.top;
  }
}

export const align = (n: number): number => (n + 15) & ~15;
