import { NibbleError } from '@nibble/ir';
import { ProtoWriter } from './proto-writer';
import { ProtoReader, WIRE_BYTES, WIRE_END_GROUP, WIRE_START_GROUP, WIRE_VARINT } from './wire';

function code(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    if (e instanceof NibbleError) return e.code;
    throw e;
  }
  return 'no error';
}

function bytes(...b: number[]): Uint8Array {
  return new Uint8Array(b);
}

describe('varints', () => {
  test('int64 values round-trip through writer and reader, both signs, up to 2^53', () => {
    const values = [0, 1, 127, 128, 300, 2 ** 31 - 1, 2 ** 31, 2 ** 32, 2 ** 40 + 3, 2 ** 53 - 1, -1, -2, -(2 ** 31), -(2 ** 53) + 1];
    const w = new ProtoWriter();
    for (const v of values) w.int64(1, v);
    const r = new ProtoReader(w.finish());
    for (const v of values) {
      expect(r.tag()).toEqual({ field: 1, wire: WIRE_VARINT });
      expect(r.int64()).toBe(v);
    }
    expect(r.tag()).toBeNull();
  });

  test('known encodings: 300 is ac 02, -1 is ten bytes, int64 max/min clamp', () => {
    const enc = (v: number | bigint): string => {
      const w = new ProtoWriter();
      w.int64(1, v);
      return Buffer.from(w.finish()).toString('hex');
    };
    expect(enc(300)).toBe('08ac02');
    expect(enc(-1)).toBe('08ffffffffffffffffff01');
    expect(enc(2 ** 63)).toBe('08ffffffffffffffff7f');
    expect(enc(2 ** 80)).toBe('08ffffffffffffffff7f');
    expect(enc(-(2 ** 63))).toBe('0880808080808080808001');
    expect(enc(-(2 ** 70))).toBe('0880808080808080808001');
    expect(enc(2n ** 63n - 1n)).toBe('08ffffffffffffffff7f');
  });

  test('the parts of a 64-bit varint are exact beyond 2^53', () => {
    const w = new ProtoWriter();
    w.int64(1, 2n ** 63n - 1n);
    w.int64(1, -(2n ** 63n));
    const r = new ProtoReader(w.finish());
    r.tag();
    expect(r.varint64()).toEqual({ lo: 0xffffffff, hi: 0x7fffffff });
    r.tag();
    expect(r.varint64()).toEqual({ lo: 0, hi: -0x80000000 });
  });

  test('negative int32 values are sign-extended to ten bytes', () => {
    const w = new ProtoWriter();
    w.int32(2, -5);
    const b = w.finish();
    expect(b.length).toBe(11);
    const r = new ProtoReader(b);
    r.tag();
    expect(r.int32()).toBe(-5);
  });
});

describe('malformed wire data', () => {
  test('a varint cut short is E_TRUNCATED', () => {
    const r = new ProtoReader(bytes(0x08, 0x80, 0x80));
    expect(r.tag()).toEqual({ field: 1, wire: WIRE_VARINT });
    expect(code(() => r.int64())).toBe('E_TRUNCATED');
  });

  test('an eleven-byte varint is E_FILE_FORMAT', () => {
    const r = new ProtoReader(bytes(...new Array(11).fill(0x80), 0x01));
    expect(code(() => r.varint64())).toBe('E_FILE_FORMAT');
  });

  test('field number 0 and wire types 6 and 7 are E_FILE_FORMAT', () => {
    expect(code(() => new ProtoReader(bytes(0x00, 0x00)).tag())).toBe('E_FILE_FORMAT');
    expect(code(() => new ProtoReader(bytes(0x0e)).tag())).toBe('E_FILE_FORMAT');
    expect(code(() => new ProtoReader(bytes(0x0f)).tag())).toBe('E_FILE_FORMAT');
  });

  test('a length past the end of the file is E_TRUNCATED, past its parent message E_FILE_FORMAT', () => {
    expect(code(() => new ProtoReader(bytes(0x0a, 0x05, 1, 2)).skip(WIRE_BYTES, 1))).toBe('E_TRUNCATED');
    // Outer message of 3 bytes whose inner field claims 5.
    const r = new ProtoReader(bytes(0x0a, 0x03, 0x12, 0x05, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00));
    r.tag();
    expect(code(() => r.nested('outer', () => { r.tag(); r.bytes(); }))).toBe('E_FILE_FORMAT');
  });

  test('a length of 4 GiB or more is rejected without allocating', () => {
    const r = new ProtoReader(bytes(0x80, 0x80, 0x80, 0x80, 0x10));
    expect(code(() => r.length())).toBe('E_FILE_FORMAT');
  });

  test('groups are skipped, unbalanced ones rejected, deep ones bounded', () => {
    // field 5 start-group { field 1 varint 7 } field 5 end-group, then field 2 varint 9
    const ok = new ProtoReader(bytes((5 << 3) | WIRE_START_GROUP, 0x08, 0x07, (5 << 3) | WIRE_END_GROUP, 0x10, 0x09));
    const t = ok.tag()!;
    ok.skip(t.wire, t.field);
    expect(ok.tag()).toEqual({ field: 2, wire: WIRE_VARINT });
    const wrongEnd = new ProtoReader(bytes((5 << 3) | WIRE_START_GROUP, (6 << 3) | WIRE_END_GROUP));
    const t2 = wrongEnd.tag()!;
    expect(code(() => wrongEnd.skip(t2.wire, t2.field))).toBe('E_FILE_FORMAT');
    const deep = new ProtoReader(bytes(...new Array(200).fill((5 << 3) | WIRE_START_GROUP)));
    const t3 = deep.tag()!;
    expect(code(() => deep.skip(t3.wire, t3.field))).toBe('E_FILE_FORMAT');
    expect(code(() => new ProtoReader(bytes((5 << 3) | WIRE_END_GROUP)).skip(WIRE_END_GROUP, 5))).toBe('E_FILE_FORMAT');
  });

  test('errors say where: message path and byte offset', () => {
    const r = new ProtoReader(bytes(0x3a, 0x02, 0x0a, 0x09));
    r.tag();
    try {
      r.nested('graph', () => { r.tag(); r.bytes(); });
      throw new Error('no error');
    } catch (e) {
      expect((e as NibbleError).message).toMatch(/graph at byte 4/);
    }
  });
});

test('writer output is the concatenation of its fields, big byte strings included', () => {
  const big = new Uint8Array(100000).map((_, i) => i & 0xff);
  const w = new ProtoWriter();
  w.string(1, 'ab');
  w.message(2, (m) => {
    m.bytes(1, big);
    m.float(2, 1.5);
  });
  w.bytes(3, big.subarray(0, 10));
  const out = w.finish();
  expect(out.length).toBe(w.length);
  const r = new ProtoReader(out);
  r.tag();
  expect(r.string()).toBe('ab');
  r.tag();
  r.nested('m', () => {
    r.tag();
    expect(Buffer.compare(Buffer.from(r.bytes()), Buffer.from(big))).toBe(0);
    r.tag();
    expect(r.float()).toBe(1.5);
  });
  r.tag();
  expect(Array.from(r.bytes())).toEqual(Array.from(big.subarray(0, 10)));
  expect(r.tag()).toBeNull();
});
