import { NibbleError } from '@nibble/ir';

/**
 * Protocol-buffer wire format, by hand: ONNX files come from anywhere, so
 * every read is bounds-checked and every failure is a typed error that says
 * where in the message tree it happened. No read allocates more than the
 * bytes it covers, and every loop advances, so no input can hang the decoder.
 */
export const WIRE_VARINT = 0;
export const WIRE_FIXED64 = 1;
export const WIRE_BYTES = 2;
export const WIRE_START_GROUP = 3;
export const WIRE_END_GROUP = 4;
export const WIRE_FIXED32 = 5;

const TWO_32 = 4294967296;
/** Nested messages deeper than this are rejected (subgraphs nest, but not this far). */
export const MAX_NESTING = 64;

const utf8 = new TextDecoder('utf-8');
export const hostIsLittleEndian = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

export class ProtoReader {
  readonly buf: Uint8Array;
  pos = 0;
  /** End of the message being decoded; reads past it are errors. */
  limit: number;
  private readonly view: DataView;
  private readonly path: string[] = [];

  constructor(buf: Uint8Array) {
    // A plain view, so subarray()/slice() behave as Uint8Array's (Buffer.slice does not copy).
    this.buf = new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
    this.limit = buf.length;
    this.view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  }

  /** Where the reader is, for messages: `ModelProto.graph.node[3] at byte 1234`. */
  where(at = this.pos): string {
    return `${this.path.join('.') || 'ModelProto'} at byte ${at}`;
  }

  fail(message: string, at = this.pos): never {
    throw new NibbleError('E_FILE_FORMAT', `not a valid ONNX model: ${message} (${this.where(at)})`, {
      hint: 'the file is corrupt or is not an ONNX model (.onnx protobuf)',
    });
  }

  private overrun(need: number): never {
    if (this.limit === this.buf.length) {
      throw new NibbleError('E_TRUNCATED', `ONNX model ends early: ${need} more byte(s) needed (${this.where()}, file has ${this.buf.length})`, {
        hint: 'the file was cut short (an interrupted download or copy?); fetch or export it again',
      });
    }
    this.fail(`a field runs ${need} byte(s) past the end of its enclosing message`);
  }

  private need(n: number): void {
    if (this.pos + n > this.limit) this.overrun(this.pos + n - this.limit);
  }

  /** Decode a length-delimited sub-message with `body`, restoring the limit after. */
  nested<T>(label: string, body: (end: number) => T): T {
    const len = this.length();
    const outer = this.limit;
    const end = this.pos + len;
    if (this.path.length >= MAX_NESTING) this.fail(`messages nest deeper than ${MAX_NESTING} levels`);
    this.path.push(label);
    this.limit = end;
    const out = body(end);
    if (this.pos !== end) this.fail('sub-message did not end where its length said');
    this.limit = outer;
    this.path.pop();
    return out;
  }

  /** The next field's number and wire type, or null at the end of the message. */
  tag(): { field: number; wire: number } | null {
    if (this.pos >= this.limit) return null;
    const at = this.pos;
    const t = this.uint32();
    const field = t >>> 3;
    const wire = t & 7;
    if (field === 0) this.fail('field number 0', at);
    if (wire > 5) this.fail(`invalid wire type ${wire} for field ${field}`, at);
    return { field, wire };
  }

  /** A varint's low 32 bits, unsigned (tags, lengths, enums, int32 read modulo 2^32). */
  uint32(): number {
    const buf = this.buf;
    let result = 0;
    for (let shift = 0, i = 0; i < 10; i++, shift += 7) {
      if (this.pos >= this.limit) this.overrun(1);
      const b = buf[this.pos++];
      if (shift < 32) result |= (b & 0x7f) << shift;
      if (b < 0x80) return result >>> 0;
    }
    return this.fail('a varint longer than 10 bytes', this.pos - 10);
  }

  /** A varint as two's-complement 64-bit parts. */
  varint64(): { lo: number; hi: number } {
    const buf = this.buf;
    let lo = 0;
    let hi = 0;
    for (let i = 0; i < 10; i++) {
      if (this.pos >= this.limit) this.overrun(1);
      const b = buf[this.pos++];
      const bits = b & 0x7f;
      if (i < 4) lo |= bits << (7 * i);
      else if (i === 4) {
        lo |= (bits & 0x0f) << 28;
        hi |= bits >> 4;
      } else hi |= bits << (7 * i - 32);
      if (b < 0x80) return { lo: lo >>> 0, hi: hi | 0 };
    }
    return this.fail('a varint longer than 10 bytes', this.pos - 10);
  }

  /** An int64 varint as a JS number (exact up to 2^53, nearest double beyond). */
  int64(): number {
    const { lo, hi } = this.varint64();
    return hi * TWO_32 + lo;
  }

  /** An int32 varint (negative values are sign-extended to 10 bytes on the wire). */
  int32(): number {
    return this.uint32() | 0;
  }

  length(): number {
    const at = this.pos;
    const { lo, hi } = this.varint64();
    if (hi !== 0) this.fail('a length beyond 4 GiB', at);
    this.need(lo);
    return lo;
  }

  /** A view (not a copy) of a length-delimited field's bytes. */
  bytes(): Uint8Array {
    const len = this.length();
    const out = this.buf.subarray(this.pos, this.pos + len);
    this.pos += len;
    return out;
  }

  string(): string {
    return utf8.decode(this.bytes());
  }

  float(): number {
    this.need(4);
    const v = this.view.getFloat32(this.pos, true);
    this.pos += 4;
    return v;
  }

  double(): number {
    this.need(8);
    const v = this.view.getFloat64(this.pos, true);
    this.pos += 8;
    return v;
  }

  /** Skip a field nibble does not use, whatever its wire type. */
  skip(wire: number, field: number, depth = 0): void {
    switch (wire) {
      case WIRE_VARINT: this.varint64(); return;
      case WIRE_FIXED64: this.need(8); this.pos += 8; return;
      case WIRE_FIXED32: this.need(4); this.pos += 4; return;
      case WIRE_BYTES: {
        // Not `this.pos += this.length()`: that adds to pos as it was before the length was read.
        const len = this.length();
        this.pos += len;
        return;
      }
      case WIRE_START_GROUP: {
        if (depth >= MAX_NESTING) this.fail(`groups nest deeper than ${MAX_NESTING} levels`);
        for (;;) {
          const t = this.tag();
          if (!t) this.overrun(1);
          if (t.wire === WIRE_END_GROUP) {
            if (t.field !== field) this.fail(`group ${field} closed by end-group ${t.field}`);
            return;
          }
          this.skip(t.wire, t.field, depth + 1);
        }
      }
      default:
        this.fail(`unexpected end-group for field ${field}`);
    }
  }

  /** Checks that a known field arrived with the wire type its schema gives it. */
  expect(wire: number, want: number, field: string): void {
    if (wire !== want) this.fail(`field '${field}' has wire type ${wire}, expected ${want}`);
  }

  enter(label: string): void {
    this.path.push(label);
  }

  leave(): void {
    this.path.pop();
  }
}

/**
 * The byte range of one occurrence of a repeated scalar field: a packed run
 * (wire type 2) or a single unpacked element. Large numeric arrays are kept
 * as ranges so their element count can be checked against the tensor's
 * shape before anything is allocated.
 */
export interface Span {
  start: number;
  end: number;
  packed: boolean;
}

export function readSpan(r: ProtoReader, wire: number, elementWire: number, field: string): Span {
  if (wire === WIRE_BYTES) {
    const len = r.length();
    const span = { start: r.pos, end: r.pos + len, packed: true };
    r.pos += len;
    return span;
  }
  r.expect(wire, elementWire, field);
  const start = r.pos;
  if (elementWire === WIRE_VARINT) r.varint64();
  else r.skip(elementWire, 0);
  return { start, end: r.pos, packed: false };
}

/** Element count of spans of a varint field: bytes without the continuation bit. */
export function countVarints(r: ProtoReader, spans: readonly Span[], field: string): number {
  let n = 0;
  for (const s of spans) {
    for (let i = s.start; i < s.end; i++) if (r.buf[i] < 0x80) n++;
    if (s.end > s.start && r.buf[s.end - 1] >= 0x80) r.fail(`packed field '${field}' ends inside a varint`, s.end);
  }
  return n;
}

export function countFixed(r: ProtoReader, spans: readonly Span[], width: number, field: string): number {
  let n = 0;
  for (const s of spans) {
    const len = s.end - s.start;
    if (len % width !== 0) r.fail(`packed field '${field}' holds ${len} bytes, not a multiple of ${width}`, s.start);
    n += len / width;
  }
  return n;
}

/** Visit every varint of the spans as 64-bit parts, in order. */
export function eachVarint(r: ProtoReader, spans: readonly Span[], visit: (lo: number, hi: number, i: number) => void): void {
  let i = 0;
  const saved = { pos: r.pos, limit: r.limit };
  for (const s of spans) {
    r.pos = s.start;
    r.limit = s.end;
    while (r.pos < s.end) {
      const { lo, hi } = r.varint64();
      visit(lo, hi, i++);
    }
  }
  r.pos = saved.pos;
  r.limit = saved.limit;
}

/** Copy the fixed-width little-endian elements of the spans into `out`'s bytes. */
export function copyFixed(r: ProtoReader, spans: readonly Span[], out: Uint8Array, width: number): void {
  let o = 0;
  for (const s of spans) {
    out.set(r.buf.subarray(s.start, s.end), o);
    o += s.end - s.start;
  }
  if (!hostIsLittleEndian) swapBytes(out, width);
}

/** Reverse the byte order of each `width`-byte element in place (big-endian hosts only). */
export function swapBytes(bytes: Uint8Array, width: number): void {
  if (width === 1) return;
  for (let i = 0; i + width <= bytes.length; i += width) {
    for (let a = i, b = i + width - 1; a < b; a++, b--) {
      const t = bytes[a];
      bytes[a] = bytes[b];
      bytes[b] = t;
    }
  }
}

