import { NibbleError } from '@nibble/ir';
import { ransKernel, reserve, STREAM_AT } from './rans-wasm';
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
  decodeInto(coded, lay, 16, out, what, true);
  return out;
}

/*
 * Speed (the loader decodes every weight of a model on load, usually once in
 * a fresh process): where the engine has WebAssembly, the whole stream is
 * decoded by one call into the module of rans-wasm.ts (tables, lookup, codes
 * and checks), the stream copied into its memory and the codes copied out.
 * The JavaScript decoder below does the same step for step; it serves
 * without WebAssembly, and whenever the module finds the stream damaged, so
 * that the errors are named in one place (and a stream the module refused
 * for a reason of its own, such as a longer varint than the encoder writes,
 * still decodes as before).
 *
 * The JavaScript decoder parses the tables once into lookup entries, fills
 * one reused slot lookup from them per channel (only when a channel's table
 * differs from the previous one), reads one lookup entry per code, and checks
 * its byte reads against the stream's end only in its last bytes (decodeRun,
 * decodeTail).
 */
function decodeInto(coded: Uint8Array, lay: CodeLayout, alphabet: number, out: Uint8Array, what: string, nibbles: boolean): void {
  if (decodeInWasm(coded, lay, alphabet, out, nibbles)) return;
  // Codes at run edges are OR-ed into their byte, so it starts from zero.
  if (nibbles) out.fill(0);
  const r = new ByteCursor(coded, 0, coded.length, what);
  const mode = r.byte();
  // The encoder writes per-channel tables only for several channels: anything else is damage.
  if (mode > 1 || (mode === 1 && lay.channels <= 1)) r.corrupt(`table mode ${mode} for ${lay.channels} channel(s)`);
  // One table and one block of channels: decoding order is memory order, so the tensor is one run.
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
  const slots = new Uint32Array(1 << MAX_PRECISION);
  const per = outer * inner;
  // Without codes per channel there is nothing to decode: a damaged header claiming billions of empty channels
  // must not spin through them (the tables, one per stream byte at most, were read above).
  for (let c = 0; per > 0 && c < channels; c++) {
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
      const stop = nibbles ? decodeRunNibbles(coded, slots, P, out, base, base + inner, s) : decodeRun(coded, slots, P, out, base, base + inner, s);
      if (stop < base + inner) decodeTail(coded, slots, P, out, stop, base + inner, s, r, nibbles);
    }
  }
  r.pos = s.p;
  if (s.x !== L || s.p !== coded.length) r.corrupt(`the stream does not end where its codes do (state ${s.x}, ${coded.length - s.p} byte(s) left)`);
}

/** Largest layout dimension the module takes: its arithmetic is 32-bit (larger ones decode in JavaScript). */
const WASM_DIM_LIMIT = 2 ** 30;

/**
 * Decode the stream in the module: true when it decoded and checked it (out
 * then holds the codes), false without WebAssembly, memory or a layout it
 * takes, or when it found the stream wrong.
 */
export function decodeInWasm(coded: Uint8Array, lay: CodeLayout, alphabet: number, out: Uint8Array, nibbles: boolean): boolean {
  const k = ransKernel();
  if (!k || !(lay.outer < WASM_DIM_LIMIT && lay.channels < WASM_DIM_LIMIT && lay.inner < WASM_DIM_LIMIT && out.length < WASM_DIM_LIMIT)) return false;
  // The stream, 8 bytes of room (the steps may read up to 4 bytes past a damaged stream before they stop), the table offsets (one word
  // per table, at most one table per stream byte, plus the end), the output.
  const tabsAt = (STREAM_AT + coded.length + 8 + 3) & ~3;
  const outAt = tabsAt + 4 * (Math.min(lay.channels, coded.length) + 2);
  if (!reserve(k, outAt + out.length)) return false;
  const memory = new Uint8Array(k.memory.buffer);
  memory.set(coded, STREAM_AT);
  if (k.decode(STREAM_AT, STREAM_AT + coded.length, outAt, lay.outer, lay.channels, lay.inner, alphabet, nibbles ? 1 : 0, tabsAt) !== 0) return false;
  out.set(memory.subarray(outAt, outAt + out.length));
  return true;
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
