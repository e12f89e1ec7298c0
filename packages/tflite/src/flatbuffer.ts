import { NibbleError } from '@nibble/ir';

/**
 * A bounds-checked reader of the flatbuffers binary format, enough for
 * TFLite files: tables through their vtables, scalars, strings, vectors of
 * scalars and of tables, unions. Every read is checked against the end of
 * the bytes, so a truncated or corrupt file becomes a typed error, never a
 * RangeError or a read of garbage. Multi-byte values are little-endian, as
 * the format prescribes.
 */
export class FlatBuffer {
  readonly bytes: Uint8Array;
  readonly file?: string;
  private readonly view: DataView;

  constructor(bytes: Uint8Array, file?: string) {
    this.bytes = bytes;
    this.file = file;
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  get length(): number {
    return this.bytes.byteLength;
  }

  /** Throws E_TRUNCATED unless [pos, pos + size) lies inside the bytes. */
  check(pos: number, size: number, what: string): void {
    if (!Number.isSafeInteger(pos) || pos < 0 || size < 0 || pos + size > this.bytes.byteLength) {
      const where = this.file ? `${this.file}: ` : '';
      throw new NibbleError(
        'E_TRUNCATED',
        `${where}flatbuffer ends early: ${what} needs bytes ${pos}..${pos + size} but the file has ${this.bytes.byteLength}`,
        { file: this.file, hint: 'the file is incomplete or corrupt; copy or export it again' },
      );
    }
  }

  formatError(message: string): NibbleError {
    const where = this.file ? `${this.file}: ` : '';
    return new NibbleError('E_FILE_FORMAT', `${where}${message}`, {
      file: this.file,
      hint: 'the file is corrupt or not a TFLite flatbuffer',
    });
  }

  u8(pos: number, what = 'byte'): number {
    this.check(pos, 1, what);
    return this.view.getUint8(pos);
  }

  i8(pos: number, what = 'byte'): number {
    this.check(pos, 1, what);
    return this.view.getInt8(pos);
  }

  u16(pos: number, what = 'uint16'): number {
    this.check(pos, 2, what);
    return this.view.getUint16(pos, true);
  }

  i32(pos: number, what = 'int32'): number {
    this.check(pos, 4, what);
    return this.view.getInt32(pos, true);
  }

  u32(pos: number, what = 'uint32'): number {
    this.check(pos, 4, what);
    return this.view.getUint32(pos, true);
  }

  f32(pos: number, what = 'float32'): number {
    this.check(pos, 4, what);
    return this.view.getFloat32(pos, true);
  }

  /** A 64-bit integer as a number; a typed error beyond 2^53. */
  i64(pos: number, what = 'int64'): number {
    this.check(pos, 8, what);
    const v = this.view.getBigInt64(pos, true);
    if (v > BigInt(Number.MAX_SAFE_INTEGER) || v < BigInt(Number.MIN_SAFE_INTEGER)) {
      throw this.formatError(`${what} = ${v} is beyond what nibble can hold`);
    }
    return Number(v);
  }

  u64(pos: number, what = 'uint64'): number {
    this.check(pos, 8, what);
    const v = this.view.getBigUint64(pos, true);
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw this.formatError(`${what} = ${v} is beyond what nibble can hold`);
    return Number(v);
  }

  /** The 4-character file identifier at bytes 4..8, or '' when the file is shorter. */
  identifier(): string {
    if (this.bytes.byteLength < 8) return '';
    return String.fromCharCode(...this.bytes.subarray(4, 8));
  }

  /** The root table, whose offset is the first uint32 of the file. */
  root(what = 'root table'): Table {
    const off = this.u32(0, 'root offset');
    return new Table(this, off, what);
  }
}

/** The kinds of scalar vectors we read, with their element size. */
const ELEMENT_SIZE = { u8: 1, i8: 1, u16: 2, i32: 4, u32: 4, f32: 4, i64: 8 } as const;
export type ScalarKind = keyof typeof ELEMENT_SIZE;

/** A flatbuffers table: a position and the vtable that locates its fields. */
export class Table {
  readonly fb: FlatBuffer;
  readonly pos: number;
  readonly what: string;
  private readonly vtable: number;
  private readonly vtableSize: number;
  private readonly tableSize: number;

  constructor(fb: FlatBuffer, pos: number, what: string) {
    this.fb = fb;
    this.pos = pos;
    this.what = what;
    const vt = pos - fb.i32(pos, `${what} vtable offset`);
    this.vtable = vt;
    this.vtableSize = fb.u16(vt, `${what} vtable`);
    this.tableSize = fb.u16(vt + 2, `${what} vtable`);
    if (this.vtableSize < 4 || this.vtableSize % 2 !== 0) {
      throw fb.formatError(`${what}: vtable at byte ${vt} has an invalid size ${this.vtableSize}`);
    }
    fb.check(vt, this.vtableSize, `${what} vtable`);
    fb.check(pos, this.tableSize, `${what} fields`);
  }

  /** Offset of field `id` from the table start, or 0 when absent. */
  private fieldOffset(id: number): number {
    const slot = 4 + 2 * id;
    if (slot + 2 > this.vtableSize) return 0;
    const off = this.fb.u16(this.vtable + slot);
    if (off !== 0 && off + 1 > this.tableSize) {
      throw this.fb.formatError(`${this.what}: field ${id} lies outside its table (offset ${off}, table size ${this.tableSize})`);
    }
    return off;
  }

  has(id: number): boolean {
    return this.fieldOffset(id) !== 0;
  }

  private scalar(id: number, size: number, read: (p: number) => number, fallback: number): number {
    const off = this.fieldOffset(id);
    if (off === 0) return fallback;
    if (off + size > this.tableSize) throw this.fb.formatError(`${this.what}: field ${id} overruns its table`);
    return read(this.pos + off);
  }

  u8(id: number, fallback = 0): number {
    return this.scalar(id, 1, (p) => this.fb.u8(p, `${this.what} field ${id}`), fallback);
  }

  i8(id: number, fallback = 0): number {
    return this.scalar(id, 1, (p) => this.fb.i8(p, `${this.what} field ${id}`), fallback);
  }

  bool(id: number, fallback = false): boolean {
    return this.u8(id, fallback ? 1 : 0) !== 0;
  }

  i32(id: number, fallback = 0): number {
    return this.scalar(id, 4, (p) => this.fb.i32(p, `${this.what} field ${id}`), fallback);
  }

  u32(id: number, fallback = 0): number {
    return this.scalar(id, 4, (p) => this.fb.u32(p, `${this.what} field ${id}`), fallback);
  }

  f32(id: number, fallback = 0): number {
    return this.scalar(id, 4, (p) => this.fb.f32(p, `${this.what} field ${id}`), fallback);
  }

  u64(id: number, fallback = 0): number {
    return this.scalar(id, 8, (p) => this.fb.u64(p, `${this.what} field ${id}`), fallback);
  }

  /** Position that a reference field (table, vector, string) points to, or -1 when absent. */
  private target(id: number): number {
    const off = this.fieldOffset(id);
    if (off === 0) return -1;
    if (off + 4 > this.tableSize) throw this.fb.formatError(`${this.what}: field ${id} overruns its table`);
    const at = this.pos + off;
    return at + this.fb.u32(at, `${this.what} field ${id}`);
  }

  table(id: number, what: string): Table | null {
    const p = this.target(id);
    return p < 0 ? null : new Table(this.fb, p, what);
  }

  string(id: number): string | undefined {
    const p = this.target(id);
    if (p < 0) return undefined;
    const n = this.fb.u32(p, `${this.what} string length`);
    this.fb.check(p + 4, n, `${this.what} string`);
    return new TextDecoder('utf-8').decode(this.fb.bytes.subarray(p + 4, p + 4 + n));
  }

  /** Element count and first-element position of vector field `id`, or null when absent. */
  private vector(id: number, elementSize: number): { start: number; length: number } | null {
    const p = this.target(id);
    if (p < 0) return null;
    const length = this.fb.u32(p, `${this.what} vector length`);
    this.fb.check(p + 4, length * elementSize, `${this.what} field ${id} vector of ${length}`);
    return { start: p + 4, length };
  }

  /** Byte position of the first element of vector field `id` and its length, or null when absent (for in-place edits of a copy). */
  vectorAt(id: number, elementSize: number): { start: number; length: number } | null {
    return this.vector(id, elementSize);
  }

  vectorLength(id: number): number {
    return this.vector(id, 0)?.length ?? 0;
  }

  /** Scalar vector as plain numbers (empty when absent). */
  numbers(id: number, kind: ScalarKind): number[] {
    const size = ELEMENT_SIZE[kind];
    const v = this.vector(id, size);
    if (!v) return [];
    const out = new Array<number>(v.length);
    const what = `${this.what} field ${id}`;
    for (let i = 0; i < v.length; i++) {
      const p = v.start + i * size;
      switch (kind) {
        case 'u8': out[i] = this.fb.u8(p, what); break;
        case 'i8': out[i] = this.fb.i8(p, what); break;
        case 'u16': out[i] = this.fb.u16(p, what); break;
        case 'i32': out[i] = this.fb.i32(p, what); break;
        case 'u32': out[i] = this.fb.u32(p, what); break;
        case 'f32': out[i] = this.fb.f32(p, what); break;
        case 'i64': out[i] = this.fb.i64(p, what); break;
      }
    }
    return out;
  }

  /** A byte vector as a view into the file (no copy), or null when absent. */
  bytes(id: number): Uint8Array | null {
    const v = this.vector(id, 1);
    return v ? this.fb.bytes.subarray(v.start, v.start + v.length) : null;
  }

  /** A vector of tables; `what(i)` names element i in errors. */
  tables(id: number, what: (i: number) => string): Table[] {
    const v = this.vector(id, 4);
    if (!v) return [];
    const out: Table[] = [];
    for (let i = 0; i < v.length; i++) {
      const at = v.start + 4 * i;
      out.push(new Table(this.fb, at + this.fb.u32(at, `${this.what} table vector`), what(i)));
    }
    return out;
  }
}
