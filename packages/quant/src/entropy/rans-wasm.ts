/*
 * The two fast loops of the rANS decoder (rans.ts decodeRun and
 * decodeRunNibbles) as a WebAssembly module, assembled here from opcodes.
 *
 * Why: a loader decodes a model once, usually in a fresh process. V8 runs
 * JavaScript in its interpreter until it has compiled the hot loops, so with
 * the loops in JavaScript the first decode of a zoo model ran at 3-7 M codes/s
 * against 30-98 M codes/s warm (docs/benchmarks.md, "Decode speed of the
 * entropy-coded container"). WebAssembly is compiled before its first
 * call; this module is about 1.2 KB, so compiling it synchronously is
 * allowed everywhere (browsers refuse only modules over 4 KB on the main thread).
 *
 * The loops are the JavaScript ones step for step (same lookup entries, same
 * state arithmetic in 32-bit integers, same bounds: they stop while 2 or 4
 * stream bytes remain, and the checked JavaScript tail finishes), so both
 * give the same codes; rans.spec.ts decodes every case both ways.
 *
 * The module also holds the CRC-32 of crc32.ts (slicing-by-8), for the same
 * reason: a container's restored bytes are checked once, on load.
 *
 * Memory, one 64 KiB page and up, grown as needed (it keeps its largest size,
 * about the largest tensor's stream and codes, for the life of the process):
 *   [0, 8) state x, p after a run | [16, 16400) the 4096-slot lookup | [16400, 24592) CRC-32 tables |
 *   from 24592: a stream and its output bytes, or the bytes to check
 */

/** Byte offset of the lookup in the module's memory. */
export const SLOTS_AT = 16;
/** Byte offset of the CRC-32 tables (8 x 256 words, written by crc32.ts). */
export const CRC_TABLES_AT = SLOTS_AT + 4 * 4096;
/** Where a stream (or the bytes to check) goes. */
export const STREAM_AT = CRC_TABLES_AT + 4 * 8 * 256;

/** The exports: each run decodes codes [from, to), returns where it stopped and leaves x, p at bytes 0 and 4. */
export interface RansKernel {
  memory: WebAssembly.Memory;
  runBytes(slots: number, precision: number, safeEnd: number, out: number, from: number, to: number, x: number, p: number): number;
  runNibbles(slots: number, precision: number, safeEnd: number, out: number, from: number, to: number, x: number, p: number): number;
  /** Fold len bytes at ptr into a CRC-32 register (inverted), with the tables at CRC_TABLES_AT. */
  crc(register: number, ptr: number, len: number): number;
}

const L = 1 << 23;

// Opcodes (WebAssembly core spec, section 5.4).
const BLOCK = 0x02, LOOP = 0x03, IF = 0x04, END = 0x0b, BR = 0x0c, BR_IF = 0x0d, VOID = 0x40;
const GET = 0x20, SET = 0x21, I32 = 0x7f, CONST = 0x41;
const LOAD = 0x28, LOAD8U = 0x2d, STORE = 0x36, STORE8 = 0x3a;
const EQ = 0x46, LT_U = 0x49, GT_U = 0x4b, GE_U = 0x4f;
const ADD = 0x6a, SUB = 0x6b, MUL = 0x6c, AND = 0x71, OR = 0x72, XOR = 0x73, SHL = 0x74, SHR_U = 0x76;

function uleb(v: number): number[] {
  const out: number[] = [];
  do {
    let b = v & 0x7f;
    v >>>= 7;
    if (v) b |= 0x80;
    out.push(b);
  } while (v);
  return out;
}

function sleb(v: number): number[] {
  const out: number[] = [];
  for (;;) {
    const b = v & 0x7f;
    v >>= 7;
    if ((v === 0 && !(b & 0x40)) || (v === -1 && b & 0x40)) return [...out, b];
    out.push(b | 0x80);
  }
}

const vec = (items: number[][]): number[] => [...uleb(items.length), ...items.flat()];
const section = (id: number, body: number[]): number[] => [id, ...uleb(body.length), ...body];
const name = (s: string): number[] => vec([...s].map((ch) => [ch.charCodeAt(0)]));

// Parameters and locals of both functions.
const SLOTS = 0, P = 1, SAFE_END = 2, OUT = 3, FROM = 4, TO = 5, X = 6, PTR = 7, I = 8, MASK = 9, E = 10, E1 = 11;
const get = (k: number): number[] => [GET, k];
const set = (k: number): number[] => [SET, k];
const c = (v: number): number[] => [CONST, ...sleb(v)];
const mem = (op: number, align: number, offset = 0): number[] => [op, align, ...uleb(offset)];

/** One decoding step into local `e`: e = slots[x & mask]; x = f * (x >> P) + (x & mask) - cum; then up to 2 stream bytes. */
function step(e: number): number[] {
  const renorm = [...get(X), ...c(L), LT_U, IF, VOID, ...get(X), ...c(8), SHL, ...get(PTR), ...mem(LOAD8U, 0), OR, ...set(X), ...get(PTR), ...c(1), ADD, ...set(PTR), END];
  return [
    ...get(SLOTS), ...get(X), ...get(MASK), AND, ...c(2), SHL, ADD, ...mem(LOAD, 2), ...set(e),
    ...get(e), ...c(8), SHR_U, ...c(0xfff), AND, ...c(1), ADD, ...get(X), ...get(P), SHR_U, MUL,
    ...get(X), ...get(MASK), AND, ADD, ...get(e), ...c(20), SHR_U, SUB, ...set(X),
    ...renorm, ...renorm,
  ];
}

const prologue = [...get(FROM), ...set(I), ...c(1), ...get(P), SHL, ...c(1), SUB, ...set(MASK)];
const epilogue = [...c(0), ...get(X), ...mem(STORE, 2), ...c(4), ...get(PTR), ...mem(STORE, 2), ...get(I), END];
const increment = (k: number): number[] => [...get(I), ...c(k), ADD, ...set(I)];
/** The byte of code i in packed output: out + (i >> 1). */
const nibbleByte = [...get(OUT), ...get(I), ...c(1), SHR_U, ADD];

const runBytes = [
  ...vec([[4, I32]]),
  ...prologue,
  BLOCK, VOID, LOOP, VOID,
  ...get(I), ...get(TO), GE_U, BR_IF, 1,
  ...get(PTR), ...get(SAFE_END), GT_U, BR_IF, 1,
  ...step(E),
  ...get(OUT), ...get(I), ADD, ...get(E), ...mem(STORE8, 0),
  ...increment(1),
  BR, 0, END, END,
  ...epilogue,
];

// A code alone in its byte (a run edge) is OR-ed in: shift 4 for the high nibble, 0 for the low one.
const single = (shift: number): number[] => [
  ...step(E), ...nibbleByte, ...nibbleByte, ...mem(LOAD8U, 0), ...get(E), ...c(15), AND, ...c(shift), SHL, OR, ...mem(STORE8, 0), ...increment(1),
];
const noRoom = [...get(PTR), ...get(SAFE_END), GT_U]; // 1 when fewer than 4 stream bytes remain
const room = [...noRoom, ...c(1), XOR];

const runNibbles = [
  ...vec([[4, I32]]),
  ...prologue,
  // An odd first code: the high nibble of its byte.
  ...get(I), ...c(1), AND, ...get(I), ...get(TO), LT_U, AND, ...room, AND, IF, VOID, ...single(4), END,
  BLOCK, VOID, LOOP, VOID,
  ...get(I), ...c(1), ADD, ...get(TO), GE_U, BR_IF, 1,
  ...noRoom, BR_IF, 1,
  ...step(E), ...step(E1),
  ...nibbleByte, ...get(E), ...c(15), AND, ...get(E1), ...c(15), AND, ...c(4), SHL, OR, ...mem(STORE8, 0),
  ...increment(2),
  BR, 0, END, END,
  // A last code alone: the low nibble of its byte.
  ...get(I), ...c(1), ADD, ...get(TO), EQ, ...room, AND, IF, VOID, ...single(0), END,
  ...epilogue,
];

// crc(register, ptr, len): 8 bytes a step as two 32-bit loads (WebAssembly memory is little-endian, as the
// CRC's byte order), then the last 0-7 bytes one at a time.
const REG = 0, AT = 1, LEN = 2, END8 = 3, END_ = 4, LO = 5, HI = 6;
/** Table k's entry for byte b (0 = lowest) of local v. */
const table = (k: number, v: number, b: number): number[] => [
  ...get(v), ...(b === 0 ? [] : [...c(8 * b), SHR_U]), ...(b === 3 ? [] : [...c(0xff), AND]), ...c(2), SHL, ...mem(LOAD, 2, CRC_TABLES_AT + 1024 * k),
];
const crc = [
  ...vec([[4, I32]]),
  ...get(AT), ...get(LEN), ...c(-8), AND, ADD, ...set(END8),
  ...get(AT), ...get(LEN), ADD, ...set(END_),
  BLOCK, VOID, LOOP, VOID,
  ...get(AT), ...get(END8), GE_U, BR_IF, 1,
  ...get(REG), ...get(AT), ...mem(LOAD, 0), XOR, ...set(LO),
  ...get(AT), ...mem(LOAD, 0, 4), ...set(HI),
  ...table(7, LO, 0), ...table(6, LO, 1), XOR, ...table(5, LO, 2), XOR, ...table(4, LO, 3), XOR,
  ...table(3, HI, 0), XOR, ...table(2, HI, 1), XOR, ...table(1, HI, 2), XOR, ...table(0, HI, 3), XOR, ...set(REG),
  ...get(AT), ...c(8), ADD, ...set(AT),
  BR, 0, END, END,
  BLOCK, VOID, LOOP, VOID,
  ...get(AT), ...get(END_), GE_U, BR_IF, 1,
  ...get(REG), ...get(AT), ...mem(LOAD8U, 0), XOR, ...c(0xff), AND, ...c(2), SHL, ...mem(LOAD, 2, CRC_TABLES_AT),
  ...get(REG), ...c(8), SHR_U, XOR, ...set(REG),
  ...get(AT), ...c(1), ADD, ...set(AT),
  BR, 0, END, END,
  ...get(REG), END,
];

/** The module's bytes. */
export function ransModuleBytes(): Uint8Array {
  const i32s = (n: number): number[] => vec(Array.from({ length: n }, () => [I32]));
  return Uint8Array.from([
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
    ...section(1, vec([[0x60, ...i32s(8), ...i32s(1)], [0x60, ...i32s(3), ...i32s(1)]])),
    ...section(3, vec([[0], [0], [1]])),
    ...section(5, vec([[0x00, 1]])),
    ...section(7, vec([[...name('runBytes'), 0x00, 0], [...name('runNibbles'), 0x00, 1], [...name('crc'), 0x00, 2], [...name('memory'), 0x02, 0]])),
    ...section(10, vec([[...uleb(runBytes.length), ...runBytes], [...uleb(runNibbles.length), ...runNibbles], [...uleb(crc.length), ...crc]])),
  ]);
}

let kernel: RansKernel | null | undefined;
let enabled = true;

/** Whether the decoder and the CRC run their loops in WebAssembly where they can (the default) or in JavaScript: both give the same results, and the tests check each. */
export function setWasmDecoding(on: boolean): void {
  enabled = on;
}

/** The module, compiled on first use; null where this engine has no WebAssembly, or when turned off (the JavaScript loops serve then). */
export function ransKernel(): RansKernel | null {
  if (!enabled) return null;
  if (kernel !== undefined) return kernel;
  try {
    const instance = new WebAssembly.Instance(new WebAssembly.Module(ransModuleBytes() as BufferSource), {});
    kernel = instance.exports as unknown as RansKernel;
  } catch {
    kernel = null;
  }
  return kernel;
}

/** Grow the module's memory to hold `bytes` bytes; false when it cannot (the JavaScript loops need none). */
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
