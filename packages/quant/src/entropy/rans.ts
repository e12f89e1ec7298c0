import { NibbleError } from '@nibble/ir';
import { ransKernel, reserve, SLOTS_AT, STREAM_AT, type RansKernel } from './rans-wasm';
import { ByteCursor, type FreqTable, MAX_PRECISION, normalizeCounts, readTable, TableEntries, writeTable } from './tables';

/*
 * Static rANS over the integer codes of a quantized tensor (one byte-sized
 * symbol per value: a nibble for (u)int4, the byte for (u)int8), with a
 * frequency table per channel or one for the whole tensor, whichever gives
 * fewer bytes tables included (a 3x3 conv of 16 input channels has 144
 * values per channel: a table of its own can cost more than it saves).
 *
 * One rANS state runs through the whole tensor, channel after channel (the
 * tables switch at channel edges), so a tensor pays the 4-byte final state
 * once, not per channel. State x lives in [L, 2^31): 31 bits keep every
 * step inside exact double and int32 arithmetic. Renormalisation moves one
 * byte at a time.
 *
 * Layout of the coded bytes:
 *   u8 mode (0: one table, 1: a table per channel) | tables | u32 LE state | stream bytes
 */

const L = 1 << 23;

export interface CodeLayout {
  /** Values before the channel axis, channels, values after it: value (o, c, j) is at (o * channels + c) * inner + j. */
  outer: number;
  channels: number;
  inner: number;
}

function histogram(symbols: Uint8Array, lay: CodeLayout, c: number | null, counts: Float64Array): void {
  counts.fill(0);
  const { outer, channels, inner } = lay;
  for (let o = 0; o < outer; o++) {
    for (let k = c ?? 0; k <= (c ?? channels - 1); k++) {
      const base = (o * channels + k) * inner;
      for (let j = 0; j < inner; j++) counts[symbols[base + j]]++;
    }
  }
}

/** rANS-encode the symbols with the given tables (one per channel, or one for all), appending to `head`. */
function encodeWith(symbols: Uint8Array, lay: CodeLayout, tables: FreqTable[], head: number[]): Uint8Array {
  const { outer, channels, inner } = lay;
  const n = outer * channels * inner;
  // Each symbol emits at most MAX_PRECISION bits; the stream is written backwards from the end.
  const buf = new Uint8Array(2 * n + 16);
  let p = buf.length;
  let x = L;
  // Encode in reverse of the decoder's order (channel, then outer, then inner).
  for (let c = channels - 1; c >= 0; c--) {
    const t = tables.length === 1 ? tables[0] : tables[c];
    const P = t.precision;
    const M = 2 ** P;
    const xMaxUnit = 2 ** (31 - P);
    for (let o = outer - 1; o >= 0; o--) {
      const base = (o * channels + c) * inner;
      for (let j = inner - 1; j >= 0; j--) {
        const s = symbols[base + j];
        const f = t.freq[s];
        const xMax = xMaxUnit * f;
        while (x >= xMax) {
          buf[--p] = x & 0xff;
          x = x >>> 8;
        }
        x = Math.floor(x / f) * M + (x % f) + t.cum[s];
      }
    }
  }
  const out = new Uint8Array(head.length + 4 + buf.length - p);
  out.set(head, 0);
  let at = head.length;
  for (let k = 0; k < 4; k++) out[at++] = (x >>> (8 * k)) & 0xff;
  out.set(buf.subarray(p), at);
  return out;
}

function checkSymbols(symbols: Uint8Array, lay: CodeLayout, alphabet: number): void {
  const n = lay.outer * lay.channels * lay.inner;
  if (symbols.length !== n) {
    throw new NibbleError('E_SHAPE', `entropy coder: ${symbols.length} symbols for a layout of ${n} values`, { hint: 'pass the layout of the tensor the codes come from' });
  }
  for (let i = 0; i < n; i++) {
    if (symbols[i] >= alphabet) throw new NibbleError('E_BAD_OPTION', `entropy coder: symbol ${symbols[i]} outside the alphabet of ${alphabet}`, { hint: 'int4 codes are nibbles (0..15), 8-bit codes bytes' });
  }
}

/**
 * Entropy-code a tensor's integer codes (values 0..alphabet-1, alphabet <= 256),
 * choosing per-channel or per-tensor tables by the bytes each gives.
 */
export function encodeCodes(symbols: Uint8Array, lay: CodeLayout, alphabet: number): Uint8Array {
  checkSymbols(symbols, lay, alphabet);
  const counts = new Float64Array(alphabet);
  histogram(symbols, lay, null, counts);
  const whole = [normalizeCounts(counts)];
  const headWhole = [0];
  writeTable(headWhole, whole[0]);
  const single = encodeWith(symbols, lay, whole, headWhole);
  if (lay.channels <= 1) return single;
  const perChannel: FreqTable[] = [];
  const headPer = [1];
  for (let c = 0; c < lay.channels; c++) {
    histogram(symbols, lay, c, counts);
    perChannel.push(normalizeCounts(counts));
    writeTable(headPer, perChannel[c]);
  }
  // Per-channel tables cost at least a byte each: skip encoding when they cannot win.
  if (headPer.length >= single.length) return single;
  const per = encodeWith(symbols, lay, perChannel, headPer);
  return per.length < single.length ? per : single;
}

/**
 * Decode codes written by encodeCodes into `out` (tensor order), one code per
 * byte. `what` names the stream in errors. A damaged stream fails with
 * E_FILE_FORMAT or E_TRUNCATED: reads are bounded by the input and the final
 * state is checked.
 */
export function decodeCodes(coded: Uint8Array, lay: CodeLayout, alphabet: number, out: Uint8Array = new Uint8Array(lay.outer * lay.channels * lay.inner), what = 'entropy-coded stream'): Uint8Array {
  const n = lay.outer * lay.channels * lay.inner;
  if (out.length !== n) throw new NibbleError('E_SHAPE', `entropy decoder: output of ${out.length} for ${n} values`);
  decodeInto(coded, lay, alphabet, out, what, false);
  return out;
}

/**
 * Decode nibble codes (alphabet 16) written by encodeCodes straight into
 * packed int4 bytes, two per byte, low nibble first (ONNX's order; an odd
 * count leaves the last high nibble zero): what a container restores, without
 * a byte per code in between and a packing pass after it.
 */
export function decodePackedNibbles(coded: Uint8Array, lay: CodeLayout, out: Uint8Array, what = 'entropy-coded stream'): Uint8Array {
  const n = lay.outer * lay.channels * lay.inner;
  if (out.length !== Math.ceil(n / 2)) throw new NibbleError('E_SHAPE', `entropy decoder: packed output of ${out.length} bytes for ${n} nibbles`);
  // Codes at run edges are OR-ed into their byte, so it starts from zero.
  out.fill(0);
  decodeInto(coded, lay, 16, out, what, true);
  return out;
}

/*
 * Speed (the loader decodes every weight of a model on load): the tables are
 * parsed once into lookup entries, and one reused slot lookup is filled from
 * them per channel, only when a channel's table differs from the previous
 * one; the loop reads one lookup entry per code, and checks its byte reads
 * against the stream's end only in its last bytes (decodeRun, decodeTail).
 * The loops run in the WebAssembly module of rans-wasm.ts where the engine
 * has one (the stream copied into its memory, the output copied out), else
 * in JavaScript; the tables and the tail are JavaScript either way.
 */
function decodeInto(coded: Uint8Array, lay: CodeLayout, alphabet: number, out: Uint8Array, what: string, nibbles: boolean): void {
  const r = new ByteCursor(coded, 0, coded.length, what);
  const mode = r.byte();
  // The encoder writes per-channel tables only for several channels: anything else is damage.
  if (mode > 1 || (mode === 1 && lay.channels <= 1)) r.corrupt(`table mode ${mode} for ${lay.channels} channel(s)`);
  // One table and one block of channels: decoding order is memory order, so
  // the tensor is one run (one call and one long loop, instead of a call per
  // channel: in a cold process V8 compiles a long loop early).
  const whole = mode === 0 && lay.outer === 1;
  const outer = lay.outer;
  const channels = whole ? 1 : lay.channels;
  const inner = whole ? lay.channels * lay.inner : lay.inner;
  const tableCount = mode === 1 ? channels : 1;
  // At most the alphabet per table; tables are a small part of a stream, so
  // start at a fraction of its bytes (the array grows if that is short).
  const tables = new TableEntries(tableCount, Math.min(tableCount * alphabet, 256 + (coded.length >> 3)));
  for (let t = 0; t < tableCount; t++) readTable(r, alphabet, tables, t);
  let x = 0;
  for (let k = 0; k < 4; k++) x += r.byte() * 2 ** (8 * k);
  if (x < L || x >= 2 ** 31) r.corrupt('initial state out of range');
  const s: DecoderState = { x, p: r.pos };
  const wasm = wasmSpace(coded, out.length);
  // The lookup and the output live in the module's memory when it runs the loops.
  const slots = wasm ? wasm.slots : new Uint32Array(1 << MAX_PRECISION);
  const dst = wasm ? wasm.out : out;
  if (wasm && nibbles) dst.fill(0);
  const per = outer * inner;
  for (let c = 0; c < channels; c++) {
    const t = mode === 0 ? 0 : c;
    const P = tables.precision[t];
    if (P === 0 && per > 0) {
      r.pos = s.p;
      r.corrupt(`channel ${c} has values but an empty table`);
    }
    // A channel whose table repeats the previous channel's keeps the lookup as it is.
    if (P > 0 && (c === 0 || (mode === 1 && !tables.same(c - 1, c)))) tables.fill(t, slots);
    for (let o = 0; o < outer; o++) {
      const base = (o * channels + c) * inner;
      const stop = wasm
        ? wasmRun(wasm, nibbles, P, base, base + inner, s)
        : nibbles
          ? decodeRunNibbles(coded, slots, P, out, base, base + inner, s)
          : decodeRun(coded, slots, P, out, base, base + inner, s);
      if (stop < base + inner) decodeTail(coded, slots, P, dst, stop, base + inner, s, r, nibbles);
    }
  }
  r.pos = s.p;
  if (s.x !== L || s.p !== coded.length) r.corrupt(`the stream does not end where its codes do (state ${s.x}, ${coded.length - s.p} byte(s) left)`);
  if (wasm) out.set(dst);
}

interface WasmSpace {
  kernel: RansKernel;
  slots: Uint32Array;
  out: Uint8Array;
  state: Int32Array;
  outAt: number;
  streamLength: number;
}

/** The module's memory laid out for one stream (copied in) and its output; null without WebAssembly or memory. */
function wasmSpace(coded: Uint8Array, outLength: number): WasmSpace | null {
  const kernel = ransKernel();
  if (!kernel) return null;
  if (!reserve(kernel, STREAM_AT + coded.length + outLength)) return null;
  const m = kernel.memory.buffer;
  new Uint8Array(m, STREAM_AT, coded.length).set(coded);
  const outAt = STREAM_AT + coded.length;
  return { kernel, slots: new Uint32Array(m, SLOTS_AT, 1 << MAX_PRECISION), out: new Uint8Array(m, outAt, outLength), state: new Int32Array(m, 0, 2), outAt, streamLength: coded.length };
}

/** decodeRun or decodeRunNibbles in the module: the same stopping points, positions in the stream kept relative to it. */
function wasmRun(w: WasmSpace, nibbles: boolean, P: number, from: number, to: number, s: DecoderState): number {
  const safeEnd = STREAM_AT + w.streamLength - (nibbles ? 4 : 2);
  const stop = nibbles ? w.kernel.runNibbles(SLOTS_AT, P, safeEnd, w.outAt, from, to, s.x, STREAM_AT + s.p) : w.kernel.runBytes(SLOTS_AT, P, safeEnd, w.outAt, from, to, s.x, STREAM_AT + s.p);
  s.x = w.state[0];
  s.p = w.state[1] - STREAM_AT;
  return stop;
}

interface DecoderState {
  x: number;
  p: number;
}

/*
 * The decoding step, written out in each loop below (a call per code would
 * cost more than the step): e = slots[x & mask] holds the symbol, its
 * frequency f and cumulative frequency; x becomes f * (x >> P) + (x & mask) -
 * cum, then takes stream bytes while below L. A step takes at most 2 bytes
 * (x falls no lower than 2^(23-P) >= 2^11, and each byte multiplies it by
 * 256), so while enough bytes remain the reads need no bounds check. The last
 * bytes of a stream take decodeTail: with that checked loop in the same
 * function, V8 compiled the fast one to about half its speed.
 */

/** Decode out[from, to), one code per byte, while 2 stream bytes remain; returns where it stopped. */
function decodeRun(buf: Uint8Array, slots: Uint32Array, P: number, out: Uint8Array, from: number, to: number, s: DecoderState): number {
  const mask = (1 << P) - 1;
  const safeEnd = buf.length - 2;
  let x = s.x;
  let p = s.p;
  let i = from;
  for (; i < to && p <= safeEnd; i++) {
    const e = slots[x & mask];
    x = (((e >>> 8) & 0xfff) + 1) * (x >>> P) + (x & mask) - (e >>> 20);
    if (x < L) {
      x = (x << 8) | buf[p++];
      if (x < L) x = (x << 8) | buf[p++];
    }
    out[i] = e;
  }
  s.x = x;
  s.p = p;
  return i;
}

/**
 * Decode nibbles [from, to) into packed bytes (zero to start with) while 4
 * stream bytes remain; returns where it stopped. Two codes make a byte; a
 * code alone in its byte at a run's edge (odd inner sizes) is OR-ed in. A
 * symbol is below 16 (readTable checks the alphabet), so the entries' higher
 * bits fall outside the stored byte.
 */
function decodeRunNibbles(buf: Uint8Array, slots: Uint32Array, P: number, out: Uint8Array, from: number, to: number, s: DecoderState): number {
  const mask = (1 << P) - 1;
  const safeEnd = buf.length - 4;
  let x = s.x;
  let p = s.p;
  let i = from;
  if ((i & 1) === 1 && i < to && p <= safeEnd) {
    const e = slots[x & mask];
    x = (((e >>> 8) & 0xfff) + 1) * (x >>> P) + (x & mask) - (e >>> 20);
    if (x < L) {
      x = (x << 8) | buf[p++];
      if (x < L) x = (x << 8) | buf[p++];
    }
    out[i >> 1] |= e << 4;
    i++;
  }
  for (; i + 1 < to && p <= safeEnd; i += 2) {
    const e0 = slots[x & mask];
    x = (((e0 >>> 8) & 0xfff) + 1) * (x >>> P) + (x & mask) - (e0 >>> 20);
    if (x < L) {
      x = (x << 8) | buf[p++];
      if (x < L) x = (x << 8) | buf[p++];
    }
    const e1 = slots[x & mask];
    x = (((e1 >>> 8) & 0xfff) + 1) * (x >>> P) + (x & mask) - (e1 >>> 20);
    if (x < L) {
      x = (x << 8) | buf[p++];
      if (x < L) x = (x << 8) | buf[p++];
    }
    out[i >> 1] = e0 | (e1 << 4);
  }
  if (i + 1 === to && p <= safeEnd) {
    const e = slots[x & mask];
    x = (((e >>> 8) & 0xfff) + 1) * (x >>> P) + (x & mask) - (e >>> 20);
    if (x < L) {
      x = (x << 8) | buf[p++];
      if (x < L) x = (x << 8) | buf[p++];
    }
    out[i >> 1] |= e & 0xf;
    i++;
  }
  s.x = x;
  s.p = p;
  return i;
}

/** The steps near the end of the stream, each byte read checked against it; nibbles are OR-ed into packed bytes. */
function decodeTail(buf: Uint8Array, slots: Uint32Array, P: number, out: Uint8Array, from: number, to: number, s: DecoderState, r: ByteCursor, nibbles: boolean): void {
  const mask = (1 << P) - 1;
  let x = s.x;
  let p = s.p;
  for (let i = from; i < to; i++) {
    const e = slots[x & mask];
    x = (((e >>> 8) & 0xfff) + 1) * (x >>> P) + (x & mask) - (e >>> 20);
    while (x < L) {
      if (p >= buf.length) {
        r.pos = p;
        r.truncated();
      }
      x = (x << 8) | buf[p++];
    }
    if (nibbles) out[i >> 1] |= (e & 0xf) << ((i & 1) << 2);
    else out[i] = e;
  }
  s.x = x;
  s.p = p;
}
