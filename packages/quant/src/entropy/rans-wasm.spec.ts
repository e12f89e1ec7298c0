import { NibbleError, SeededRandom } from '@nibble/ir';
import { decodeCodes, decodeInWasm, decodePackedNibbles, encodeCodes, type CodeLayout } from './rans';
import { ransKernel, setWasmDecoding } from './rans-wasm';
import { ransModuleBytes } from './rans-wasm-asm';
import { RANS_MODULE } from './rans-wasm-module';
import { pushVarint } from './tables';
import { br, emit, loop } from './wasm-asm';

/*
 * The WebAssembly decoder (one call per stream) against the JavaScript one.
 * The property that keeps the two interchangeable: whatever the bytes, when
 * the module says it decoded a stream, the JavaScript decoder decodes it too,
 * to the same codes; when it refuses, the caller falls back to JavaScript,
 * which names the error (or, for a stream only the module refuses, decodes it).
 */

const size = (lay: CodeLayout): number => lay.outer * lay.channels * lay.inner;

/** The JavaScript decoder's codes (bytes or packed nibbles), or its error code. */
function inJs(coded: Uint8Array, lay: CodeLayout, alphabet: number, nibbles: boolean): Uint8Array | string {
  setWasmDecoding(false);
  try {
    return nibbles ? decodePackedNibbles(coded, lay, new Uint8Array(Math.ceil(size(lay) / 2))) : decodeCodes(coded, lay, alphabet);
  } catch (e) {
    if (!(e instanceof NibbleError)) throw e;
    return e.code;
  } finally {
    setWasmDecoding(true);
  }
}

/** The module's codes, or null when it refused the stream. */
function inWasm(coded: Uint8Array, lay: CodeLayout, alphabet: number, nibbles: boolean): Uint8Array | null {
  const out = new Uint8Array(nibbles ? Math.ceil(size(lay) / 2) : size(lay)).fill(0xa5); // the module overwrites every byte
  return decodeInWasm(coded, lay, alphabet, out, nibbles) ? out : null;
}

/** Codes for a layout: per channel a distribution of its own (one symbol, a Laplace bump anywhere, or uniform), sometimes one shared by all. */
function randomCodes(rng: SeededRandom, lay: CodeLayout, alphabet: number): Uint8Array {
  const kinds = Array.from({ length: lay.channels }, () => ({ kind: rng.nextInt(3), at: rng.nextInt(alphabet), b: 0.3 + 4 * rng.uniform() }));
  if (rng.nextInt(3) === 0) kinds.fill(kinds[0] ?? { kind: 0, at: 0, b: 1 });
  const s = new Uint8Array(size(lay));
  for (let i = 0; i < s.length; i++) {
    const k = kinds[Math.floor(i / lay.inner) % lay.channels];
    const v = k.kind === 0 ? k.at : k.kind === 1 ? k.at + Math.round(rng.laplace(0, k.b)) : rng.nextInt(alphabet);
    s[i] = Math.max(0, Math.min(alphabet - 1, v));
  }
  return s;
}

function randomLayout(rng: SeededRandom): CodeLayout {
  // Mostly small (odd and even inner sizes, several outer blocks), sometimes channels large enough for tables of their own.
  const big = rng.nextInt(4) === 0;
  return { outer: rng.nextInt(4), channels: 1 + rng.nextInt(big ? 4 : 9), inner: rng.nextInt(big ? 1500 : 40) };
}

const pack = (codes: Uint8Array): Uint8Array => {
  const out = new Uint8Array(Math.ceil(codes.length / 2));
  codes.forEach((v, i) => (out[i >> 1] |= v << ((i & 1) * 4)));
  return out;
};

describe('WebAssembly decoder', () => {
  it('ships the bytes its assembler makes', () => {
    // On a difference, regenerate rans-wasm-module.ts with the command at its top.
    expect(Array.from(RANS_MODULE)).toEqual(Array.from(ransModuleBytes()));
    expect(ransKernel()).not.toBeNull();
  });

  it('decodes random layouts, tables and codes as the JavaScript decoder does', () => {
    const rng = new SeededRandom(11);
    const modes = new Set<number>();
    for (let trial = 0; trial < 200; trial++) {
      const alphabet = rng.nextInt(2) === 0 ? 16 : 256;
      const lay = randomLayout(rng);
      const s = randomCodes(rng, lay, alphabet);
      const coded = encodeCodes(s, lay, alphabet);
      modes.add(coded[0]);
      for (const nibbles of alphabet === 16 ? [false, true] : [false]) {
        const want = nibbles ? pack(s) : s;
        const js = inJs(coded, lay, alphabet, nibbles);
        const wasm = inWasm(coded, lay, alphabet, nibbles);
        expect(js).toEqual(want);
        if (wasm === null) throw new Error(`the module refused a valid stream: ${JSON.stringify(lay)}, alphabet ${alphabet}, nibbles ${nibbles}`);
        expect(Array.from(wasm)).toEqual(Array.from(want));
      }
    }
    expect([...modes].sort()).toEqual([0, 1]);
  });

  it('keeps or refills its lookup across runs of channels: repeated tables, an empty channel among them, one block or several', () => {
    const rng = new SeededRandom(12);
    const inner = 3000;
    // Channel contents: A, A, B, A, A, C (C a single symbol).
    const fill = (c: number): number => (c === 2 ? 12 + rng.nextInt(4) : c === 5 ? 7 : rng.nextInt(10) === 0 ? 2 : rng.nextInt(2));
    for (const outer of [1, 2]) {
      const lay = { outer, channels: 6, inner };
      const s = Uint8Array.from({ length: size(lay) }, (_, i) => fill(Math.floor(i / inner) % 6));
      const coded = encodeCodes(s, lay, 16);
      expect(coded[0]).toBe(1);
      expect(Array.from(inWasm(coded, lay, 16, true)!)).toEqual(Array.from(pack(s)));
      expect(Array.from(inWasm(coded, lay, 16, false)!)).toEqual(Array.from(s));
    }
    // Channels with no values (inner 0) have empty tables; a table of values after them is filled again.
    for (const lay of [{ outer: 3, channels: 4, inner: 0 }, { outer: 0, channels: 5, inner: 3 }, { outer: 1, channels: 0, inner: 4 }]) {
      expect(Array.from(inWasm(encodeCodes(new Uint8Array(0), lay, 16), lay, 16, true)!)).toEqual([]);
    }
  });

  it('never decodes a damaged stream that the JavaScript decoder refuses, nor to other codes', () => {
    const rng = new SeededRandom(13);
    let accepted = 0;
    let refused = 0;
    for (let trial = 0; trial < 12; trial++) {
      const alphabet = trial % 3 === 0 ? 256 : 16;
      const nibbles = alphabet === 16 && trial % 2 === 1;
      const lay = { outer: 1 + rng.nextInt(2), channels: 1 + rng.nextInt(5), inner: 1 + rng.nextInt(trial < 6 ? 30 : 700) };
      const coded = encodeCodes(randomCodes(rng, lay, alphabet), lay, alphabet);
      const check = (bytes: Uint8Array): void => {
        const js = inJs(bytes, lay, alphabet, nibbles);
        const wasm = inWasm(bytes, lay, alphabet, nibbles);
        if (wasm === null) {
          refused++;
          return;
        }
        accepted++;
        expect(typeof js).not.toBe('string');
        expect(Array.from(wasm)).toEqual(Array.from(js as Uint8Array));
      };
      for (let cut = 0; cut < coded.length; cut++) check(coded.subarray(0, cut));
      for (let bit = 0; bit < coded.length * 8; bit += 1 + (coded.length >> 6)) {
        const bad = coded.slice();
        bad[bit >> 3] ^= 1 << (bit & 7);
        check(bad);
      }
      // Bytes after the stream's end.
      check(Uint8Array.from([...coded, 0]));
    }
    expect(accepted).toBeGreaterThan(0);
    expect(refused).toBeGreaterThan(0);
  });

  it('leaves a stream it does not take to the JavaScript decoder, which still decodes it', () => {
    // A frequency as a 3-byte varint: valid for the format (and for the JavaScript reader), never written by the encoder.
    const bytes = [0, 1];
    pushVarint(bytes, 1); // one symbol
    bytes.push(0x82, 0x80, 0x00); // its frequency, 2, in 3 bytes
    bytes.push(0x00, 0x00, 0x80, 0x00); // final state 2^23 at once: every step of a 2-slot table with one symbol keeps it
    const coded = Uint8Array.from(bytes);
    const lay = { outer: 1, channels: 1, inner: 5 };
    expect(inWasm(coded, lay, 16, false)).toBeNull();
    expect(Array.from(decodeCodes(coded, lay, 16))).toEqual([0, 0, 0, 0, 0]);
  });
});

describe('WebAssembly assembler', () => {
  it('resolves labels to nesting depths, and refuses a branch to no enclosing block', () => {
    expect(emit(loop('a', loop('b', br('a'), br('b'))))).toEqual([0x03, 0x40, 0x03, 0x40, 0x0c, 1, 0x0c, 0, 0x0b, 0x0b]);
    expect(() => emit(loop('a', br('b')))).toThrow(/no enclosing block 'b'/);
  });
});
