import { NibbleError, type Model } from '@nibble/ir';
import { channelLayout, crc32Update, decodeCodes, decodePackedNibbles, encodeCodes, type CodeLayout } from '@nibble/quant';
import { ProtoReader, WIRE_BYTES } from './wire';

/*
 * The entropy-coded container (.nbz; docs/entropy-container.md): an ONNX
 * file whose quantized weights (the int4/uint4/int8/uint8 initializers that
 * a DequantizeLinear reads) are stored rANS-coded. Everything else stays as
 * the ONNX bytes were: the container keeps the file with those raw_data
 * payloads cut out (the "skeleton") and splices the decoded payloads back at
 * their offsets, so the reader restores the exact ONNX bytes (checked by a
 * CRC-32 of them) and the ONNX reader does the rest.
 *
 * Layout, all integers u32 little-endian unless said:
 *   'NBZC' | u8 version (1) | 3 zero bytes | onnx length | crc32(onnx) | tensor count T
 *   T x { offset in the ONNX bytes | payload bytes | u8 bits (4|8) | outer | channels | inner | coded bytes }
 *   skeleton (onnx length - sum of payloads bytes) | T coded streams, in order
 */

export const ENTROPY_MAGIC = Uint8Array.from([0x4e, 0x42, 0x5a, 0x43]); // 'NBZC'
export const ENTROPY_VERSION = 1;
const HEADER = 20;
const ENTRY = 25;

/** CRC-32 (the zlib polynomial) of bytes: @nibble/quant's, which the container checks the restored file with. */
export function crc32(bytes: Uint8Array): number {
  return ~crc32Update(-1, bytes) >>> 0;
}

/** Whether bytes start with the container's magic. */
export function isEntropyContainer(bytes: Uint8Array): boolean {
  return bytes.length >= 4 && ENTROPY_MAGIC.every((b, i) => bytes[i] === b);
}

interface Coded {
  offset: number;
  length: number;
  bits: 4 | 8;
  layout: CodeLayout;
  stream: Uint8Array;
}

/** raw_data byte ranges of the top-level graph's initializers, by name. */
function rawDataRanges(onnx: Uint8Array): Map<string, { offset: number; length: number }> {
  const out = new Map<string, { offset: number; length: number }>();
  const r = new ProtoReader(onnx);
  for (let t = r.tag(); t; t = r.tag()) {
    if (t.field !== 7 || t.wire !== WIRE_BYTES) {
      r.skip(t.wire, t.field);
      continue;
    }
    r.nested('graph', () => {
      for (let g = r.tag(); g; g = r.tag()) {
        if (g.field !== 5 || g.wire !== WIRE_BYTES) {
          r.skip(g.wire, g.field);
          continue;
        }
        r.nested('initializer', () => {
          let name = '';
          let range: { offset: number; length: number } | undefined;
          for (let f = r.tag(); f; f = r.tag()) {
            if (f.field === 8 && f.wire === WIRE_BYTES) name = r.string();
            else if (f.field === 9 && f.wire === WIRE_BYTES) {
              const length = r.length();
              range = { offset: r.pos, length };
              r.pos += length;
            } else r.skip(f.wire, f.field);
          }
          if (range) out.set(name, range);
        });
      }
    });
  }
  return out;
}

/** The initializers worth coding: integer weights a DequantizeLinear reads, with their channel layout. */
function codedWeights(model: Model): Map<string, { bits: 4 | 8; layout: CodeLayout }> {
  const out = new Map<string, { bits: 4 | 8; layout: CodeLayout }>();
  const inits = new Set(model.graph.initializers);
  for (const node of model.graph.nodes) {
    if (node.opType !== 'DequantizeLinear') continue;
    const [x, scale] = node.inputs;
    const t = x?.const;
    if (!x || !t || !inits.has(x) || !['int4', 'uint4', 'int8', 'uint8'].includes(t.dtype)) continue;
    const perChannel = (scale?.const?.size ?? 1) > 1;
    const lay = channelLayout(t.shape, perChannel ? node.getInt('axis', 1) : null);
    out.set(x.name, { bits: t.dtype.endsWith('4') ? 4 : 8, layout: { outer: lay.outer, channels: lay.channels, inner: lay.inner } });
  }
  return out;
}

/** A payload's codes as symbols (nibbles or bytes), or null when packing would not restore it exactly. */
function symbolsOf(payload: Uint8Array, bits: 4 | 8, n: number): Uint8Array | null {
  if (bits === 8) return payload.length === n ? payload : null;
  if (payload.length !== Math.ceil(n / 2)) return null;
  if (n % 2 === 1 && payload[payload.length - 1] >> 4 !== 0) return null; // a non-zero pad nibble
  const s = new Uint8Array(n);
  for (let i = 0; i < n; i++) s[i] = (payload[i >> 1] >> ((i & 1) * 4)) & 15;
  return s;
}

/**
 * Pack ONNX bytes into a container. `model` is those bytes read (readOnnx),
 * which says which initializers are quantized weights. Same bytes in, same
 * container out.
 */
export function encodeEntropyContainer(onnx: Uint8Array, model: Model): Uint8Array {
  const ranges = rawDataRanges(onnx);
  const coded: Coded[] = [];
  for (const [name, w] of codedWeights(model)) {
    const range = ranges.get(name);
    if (!range) continue; // stored in a typed field, not raw_data: left as it is
    const n = w.layout.outer * w.layout.channels * w.layout.inner;
    const symbols = symbolsOf(onnx.subarray(range.offset, range.offset + range.length), w.bits, n);
    if (!symbols) continue;
    const stream = encodeCodes(symbols, w.layout, w.bits === 4 ? 16 : 256);
    if (stream.length < range.length) coded.push({ ...range, bits: w.bits, layout: w.layout, stream });
  }
  coded.sort((a, b) => a.offset - b.offset);
  const payloads = coded.reduce((s, c) => s + c.length, 0);
  const streams = coded.reduce((s, c) => s + c.stream.length, 0);
  const out = new Uint8Array(HEADER + ENTRY * coded.length + onnx.length - payloads + streams);
  const dv = new DataView(out.buffer);
  out.set(ENTROPY_MAGIC, 0);
  out[4] = ENTROPY_VERSION;
  dv.setUint32(8, onnx.length, true);
  dv.setUint32(12, crc32(onnx), true);
  dv.setUint32(16, coded.length, true);
  let at = HEADER;
  for (const c of coded) {
    for (const v of [c.offset, c.length]) at = put(dv, at, v);
    out[at++] = c.bits;
    for (const v of [c.layout.outer, c.layout.channels, c.layout.inner, c.stream.length]) at = put(dv, at, v);
  }
  let from = 0;
  for (const c of coded) {
    out.set(onnx.subarray(from, c.offset), at);
    at += c.offset - from;
    from = c.offset + c.length;
  }
  out.set(onnx.subarray(from), at);
  at += onnx.length - from;
  for (const c of coded) {
    out.set(c.stream, at);
    at += c.stream.length;
  }
  return out;
}

function put(dv: DataView, at: number, v: number): number {
  dv.setUint32(at, v, true);
  return at + 4;
}

/** A coded tensor as the decoder reads it from the header. */
interface Entry {
  offset: number;
  length: number;
  bits: 4 | 8;
  layout: CodeLayout;
  streamLength: number;
}

export interface DecodeStats {
  /** Integer codes decoded. */
  codes: number;
}

/**
 * Restore the exact ONNX bytes of a container. `file` names it in errors;
 * a cut-short container fails with E_TRUNCATED, a damaged one with
 * E_FILE_FORMAT (the CRC catches what the streams' own checks miss).
 */
export function decodeEntropyContainer(bytes: Uint8Array, opts: { file?: string; stats?: DecodeStats } = {}): Uint8Array {
  const where = opts.file ?? 'entropy-coded model';
  const hint = 'the file is damaged or cut short; write it again (nibble quantize ... --out model.nbz)';
  const truncated = (what: string): never => {
    throw new NibbleError('E_TRUNCATED', `${where}: the container ends early (${what})`, { file: opts.file, hint });
  };
  const corrupt = (what: string): never => {
    throw new NibbleError('E_FILE_FORMAT', `${where}: not a valid entropy-coded model: ${what}`, { file: opts.file, hint });
  };
  if (bytes.length < 4 || !isEntropyContainer(bytes)) corrupt(bytes.length < 4 && ENTROPY_MAGIC.subarray(0, bytes.length).every((b, i) => bytes[i] === b) ? 'too short for the magic' : "no 'NBZC' magic");
  if (bytes.length < HEADER) truncated('in the header');
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (bytes[4] !== ENTROPY_VERSION) corrupt(`version ${bytes[4]}; this nibble reads version ${ENTROPY_VERSION}`);
  if (bytes[5] | bytes[6] | bytes[7]) corrupt('reserved header bytes are not zero');
  const onnxLength = dv.getUint32(8, true);
  const crc = dv.getUint32(12, true);
  const count = dv.getUint32(16, true);
  if (HEADER + ENTRY * count > bytes.length) truncated(`a table of ${count} coded tensors`);
  const entries: Entry[] = [];
  let at = HEADER;
  let payloads = 0;
  let streams = 0;
  let prevEnd = 0;
  // A plain loop over the records (no closure or helper per field): in a fresh process it runs interpreted.
  for (let k = 0; k < count; k++, at += ENTRY) {
    const offset = dv.getUint32(at, true);
    const length = dv.getUint32(at + 4, true);
    const bits = bytes[at + 8];
    const layout = { outer: dv.getUint32(at + 9, true), channels: dv.getUint32(at + 13, true), inner: dv.getUint32(at + 17, true) };
    const streamLength = dv.getUint32(at + 21, true);
    const n = layout.outer * layout.channels * layout.inner;
    if (bits !== 4 && bits !== 8) corrupt(`tensor ${k} has ${bits}-bit codes`);
    if (offset < prevEnd || offset + length > onnxLength) corrupt(`tensor ${k}'s bytes [${offset}, +${length}) are out of order or past the model's ${onnxLength}`);
    if (length !== (bits === 4 ? Math.ceil(n / 2) : n)) corrupt(`tensor ${k} holds ${length} bytes for ${n} ${bits}-bit codes`);
    prevEnd = offset + length;
    payloads += length;
    streams += streamLength;
    entries.push({ offset, length, bits: bits as 4 | 8, layout, streamLength });
  }
  const skeleton = onnxLength - payloads;
  const need = at + skeleton + streams;
  if (need > bytes.length) truncated(`${need - bytes.length} more byte(s) needed`);
  if (need < bytes.length) corrupt(`${bytes.length - need} byte(s) after the last stream`);
  const onnx = new Uint8Array(onnxLength);
  let skel = at;
  let stream = at + skeleton;
  let from = 0;
  for (let k = 0; k < entries.length; k++) {
    const e = entries[k];
    onnx.set(bytes.subarray(skel, skel + e.offset - from), from);
    skel += e.offset - from;
    const coded = bytes.subarray(stream, stream + e.streamLength);
    stream += e.streamLength;
    const what = `${where}: weight stream ${k}`;
    const dst = onnx.subarray(e.offset, e.offset + e.length);
    if (e.bits === 8) decodeCodes(coded, e.layout, 256, dst, what);
    else decodePackedNibbles(coded, e.layout, dst, what);
    if (opts.stats) opts.stats.codes += e.layout.outer * e.layout.channels * e.layout.inner;
    from = e.offset + e.length;
  }
  onnx.set(bytes.subarray(skel, skel + onnxLength - from), from);
  // One CRC over the restored file, not one per piece: in a fresh process each call (and the copy into the
  // module that runs it) costs more in interpreted JavaScript than the bytes do.
  const register = crc32Update(-1, onnx);
  if (~register >>> 0 !== crc) corrupt('the restored ONNX bytes fail their CRC-32 check');
  return onnx;
}
