import { NibbleError } from '@nibble/ir';
import { WIRE_BYTES, WIRE_FIXED32, WIRE_VARINT } from './wire';

const utf8 = new TextEncoder();
const TWO_32 = 4294967296;
const INT64_MAX = 2n ** 63n - 1n;
const INT64_MIN = -(2n ** 63n);
/** Byte strings at least this long are referenced, not copied, until finish(). */
const BIG_CHUNK = 4096;

/**
 * Protocol-buffer encoder. Sub-messages are built in their own writer and
 * spliced into the parent by reference, so a large tensor's bytes are copied
 * once, into the final buffer.
 */
export class ProtoWriter {
  private readonly parts: Uint8Array[] = [];
  private scratch = new Uint8Array(256);
  private pos = 0;
  private flushed = 0;

  get length(): number {
    return this.flushed + this.pos;
  }

  private room(n: number): void {
    if (this.pos + n <= this.scratch.length) return;
    const next = new Uint8Array(Math.max(this.scratch.length * 2, this.pos + n));
    next.set(this.scratch.subarray(0, this.pos));
    this.scratch = next;
  }

  private flush(): void {
    if (this.pos === 0) return;
    this.parts.push(this.scratch.subarray(0, this.pos));
    this.flushed += this.pos;
    this.scratch = new Uint8Array(256);
    this.pos = 0;
  }

  private raw(bytes: Uint8Array): void {
    if (bytes.length >= BIG_CHUNK) {
      this.flush();
      this.parts.push(bytes);
      this.flushed += bytes.length;
      return;
    }
    this.room(bytes.length);
    this.scratch.set(bytes, this.pos);
    this.pos += bytes.length;
  }

  /** A non-negative integer below 2^53 as a varint. */
  private varint(n: number): void {
    this.room(10);
    let lo = n % TWO_32 >>> 0;
    let hi = Math.floor(n / TWO_32) >>> 0;
    while (hi > 0 || lo > 0x7f) {
      this.scratch[this.pos++] = (lo & 0x7f) | 0x80;
      lo = ((lo >>> 7) | (hi << 25)) >>> 0;
      hi >>>= 7;
    }
    this.scratch[this.pos++] = lo;
  }

  private varintBig(v: bigint): void {
    let u = BigInt.asUintN(64, v);
    this.room(10);
    while (u > 0x7fn) {
      this.scratch[this.pos++] = Number(u & 0x7fn) | 0x80;
      u >>= 7n;
    }
    this.scratch[this.pos++] = Number(u);
  }

  tag(field: number, wire: number): void {
    this.varint(field * 8 + wire);
  }

  /**
   * An int64 field. Integers beyond 2^53 have already lost precision in a JS
   * number; values beyond the int64 range are clamped to it.
   */
  int64(field: number, value: number | bigint): void {
    this.tag(field, WIRE_VARINT);
    this.int64Value(value);
  }

  int64Value(value: number | bigint): void {
    if (typeof value === 'number') {
      if (!Number.isFinite(value) || !Number.isInteger(value)) {
        throw new NibbleError('E_INTERNAL', `ProtoWriter: int64 value ${value} is not an integer`);
      }
      if (value >= 0 && value < 2 ** 53) {
        this.varint(value);
        return;
      }
      value = value >= 2 ** 63 ? INT64_MAX : value <= -(2 ** 63) ? INT64_MIN : BigInt(value);
    }
    this.varintBig(value);
  }

  int32(field: number, value: number): void {
    this.tag(field, WIRE_VARINT);
    // Negative int32 values are sign-extended to 64 bits on the wire.
    if (value >= 0) this.varint(value);
    else this.varintBig(BigInt(value | 0));
  }

  float(field: number, value: number): void {
    this.tag(field, WIRE_FIXED32);
    this.room(4);
    new DataView(this.scratch.buffer, this.scratch.byteOffset).setFloat32(this.pos, value, true);
    this.pos += 4;
  }

  bytes(field: number, data: Uint8Array): void {
    this.tag(field, WIRE_BYTES);
    this.varint(data.length);
    this.raw(data);
  }

  string(field: number, s: string): void {
    this.bytes(field, utf8.encode(s));
  }

  /** A sub-message; `body` writes its fields. */
  message(field: number, body: (w: ProtoWriter) => void): void {
    const child = new ProtoWriter();
    body(child);
    child.flush();
    this.tag(field, WIRE_BYTES);
    this.varint(child.length);
    this.flush();
    for (const p of child.parts) this.parts.push(p);
    this.flushed += child.length;
  }

  finish(): Uint8Array {
    this.flush();
    if (this.parts.length === 1) return this.parts[0].slice();
    const out = new Uint8Array(this.flushed);
    let o = 0;
    for (const p of this.parts) {
      out.set(p, o);
      o += p.length;
    }
    return out;
  }
}
