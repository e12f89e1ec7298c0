import { RANS_MODULE } from './rans-wasm-module';

/*
 * The decoder's WebAssembly module: a whole rANS stream per call (tables,
 * lookup, codes, checks) and the CRC-32 of crc32.ts. Its source is
 * rans-wasm-asm.ts; the bytes ship as a literal (rans-wasm-module.ts).
 *
 * Why: a loader decodes a model once, usually in a fresh process, where V8
 * runs JavaScript interpreted until it has compiled it. With only the rANS
 * loops in WebAssembly, the table parsing and per-channel orchestration left
 * in JavaScript, the JavaScript assembler of the module (about 0.5 ms cold)
 * and the CRC of small pieces cost as much as the codes on the zoo models
 * (docs/benchmarks.md, "Decode speed of the entropy-coded container"). The
 * module, about 2.3 KB, is compiled synchronously on first use (browsers
 * refuse that only over 4 KB on the main thread); V8 compiles each function
 * lazily with its baseline tier, which decodes as fast as the optimizing one
 * here (the time goes to the chain of dependent steps, not to code quality).
 *
 * Memory, one 64 KiB page and up, grown as needed (it keeps its largest size,
 * about the largest tensor's stream and codes, for the life of the process):
 *   [0, 8) state x, p after a run | [16, 16400) the 4096-slot lookup | [16400, 24592) CRC-32 tables |
 *   from 24592: a stream, 8 bytes of room, its table offsets and its output; or the bytes to check
 */

/** Byte offset of the lookup in the module's memory. */
export const SLOTS_AT = 16;
/** Byte offset of the CRC-32 tables (8 x 256 words, written by crc32.ts). */
export const CRC_TABLES_AT = SLOTS_AT + 4 * 4096;
/** Where a stream (or the bytes to check) goes. */
export const STREAM_AT = CRC_TABLES_AT + 4 * 8 * 256;

/** The exports (rans-wasm-asm.ts). */
export interface RansKernel {
  memory: WebAssembly.Memory;
  /** Decode the stream [stream, end) into out; 0 when it decoded and checked, 1 on anything wrong (the caller names it). `tabs` holds 4 x (tables + 1) bytes. */
  decode(stream: number, end: number, out: number, outer: number, channels: number, inner: number, alphabet: number, nibbles: number, tabs: number): number;
  /** Fold len bytes at ptr into a CRC-32 register (inverted), with the tables at CRC_TABLES_AT. */
  crc(register: number, ptr: number, len: number): number;
}

let kernel: RansKernel | null | undefined;
let enabled = true;

/** Whether the decoder and the CRC run in WebAssembly where they can (the default) or in JavaScript: both give the same results, and the tests check each. */
export function setWasmDecoding(on: boolean): void {
  enabled = on;
}

/** The module, compiled on first use; null where this engine has no WebAssembly, or when turned off (the JavaScript decoder serves then). */
export function ransKernel(): RansKernel | null {
  if (!enabled) return null;
  if (kernel !== undefined) return kernel;
  try {
    kernel = new WebAssembly.Instance(new WebAssembly.Module(RANS_MODULE as BufferSource), {}).exports as unknown as RansKernel;
  } catch {
    kernel = null;
  }
  return kernel;
}

/** Grow the module's memory to hold `bytes` bytes; false when it cannot (the JavaScript decoder needs none). */
export function reserve(k: RansKernel, bytes: number): boolean {
  const have = k.memory.buffer.byteLength;
  if (bytes <= have) return true;
  try {
    k.memory.grow(Math.ceil((bytes - have) / 65536));
    return true;
  } catch {
    return false;
  }
}
