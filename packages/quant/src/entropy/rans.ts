import { NibbleError } from '@nibble/ir';
import { ByteCursor, type FreqTable, normalizeCounts, readTable, writeTable } from './tables';

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
 * Slot -> (symbol, frequency - 1, slot - cumulative) packed in 8 + 12 + 12 bits,
 * so a decode step reads one table entry (P <= 12 keeps both fields in 12 bits).
 */
function slots(t: FreqTable): Uint32Array {
  const out = new Uint32Array(2 ** t.precision);
  for (let s = 0; s < t.freq.length; s++) {
    const f = t.freq[s];
    for (let k = 0; k < f; k++) out[t.cum[s] + k] = s | (k << 8) | ((f - 1) << 20);
  }
  return out;
}

/**
 * Decode codes written by encodeCodes into `out` (tensor order). `what` names
 * the stream in errors. A damaged stream fails with E_FILE_FORMAT or
 * E_TRUNCATED: reads are bounded by the input and the final state is checked.
 */
export function decodeCodes(coded: Uint8Array, lay: CodeLayout, alphabet: number, out: Uint8Array = new Uint8Array(lay.outer * lay.channels * lay.inner), what = 'entropy-coded stream'): Uint8Array {
  const { outer, channels, inner } = lay;
  if (out.length !== outer * channels * inner) throw new NibbleError('E_SHAPE', `entropy decoder: output of ${out.length} for ${outer * channels * inner} values`);
  const r = new ByteCursor(coded, 0, coded.length, what);
  const mode = r.byte();
  // The encoder writes per-channel tables only for several channels: anything else is damage.
  if (mode > 1 || (mode === 1 && channels <= 1)) r.corrupt(`table mode ${mode} for ${channels} channel(s)`);
  const tables: FreqTable[] = [];
  for (let c = 0; c < (mode === 1 ? channels : 1); c++) tables.push(readTable(r, alphabet));
  let x = 0;
  for (let k = 0; k < 4; k++) x += r.byte() * 2 ** (8 * k);
  if (x < L || x >= 2 ** 31) r.corrupt('initial state out of range');
  const buf = coded;
  const end = coded.length;
  let p = r.pos;
  let lookup: Uint32Array | null = mode === 0 ? slots(tables[0]) : null;
  for (let c = 0; c < channels; c++) {
    const t = mode === 0 ? tables[0] : tables[c];
    if (mode === 1) lookup = slots(t);
    const dec = lookup as Uint32Array;
    const P = t.precision;
    const mask = (1 << P) - 1;
    if (P === 0 && outer * inner > 0) r.corrupt(`channel ${c} has values but an empty table`);
    for (let o = 0; o < outer; o++) {
      const base = (o * channels + c) * inner;
      for (let j = 0; j < inner; j++) {
        const e = dec[x & mask];
        x = ((e >>> 20) + 1) * (x >>> P) + ((e >>> 8) & 0xfff);
        while (x < L) {
          if (p >= end) {
            r.pos = p;
            r.truncated();
          }
          x = (x << 8) | buf[p++];
        }
        out[base + j] = e & 0xff;
      }
    }
  }
  r.pos = p;
  if (x !== L || p !== end) r.corrupt(`the stream does not end where its codes do (state ${x}, ${end - p} byte(s) left)`);
  return out;
}
