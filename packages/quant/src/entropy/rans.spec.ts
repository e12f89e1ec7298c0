import { NibbleError, SeededRandom } from '@nibble/ir';
import { decodeCodes, decodePackedNibbles, encodeCodes, type CodeLayout } from './rans';
import { crc32Update } from './crc32';
import { ransKernel, setWasmDecoding } from './rans-wasm';
import { ByteCursor, normalizeCounts, pushVarint, TableEntries } from './tables';

const clampNibble = (v: number): number => Math.max(-8, Math.min(7, Math.round(v)));

const roundTrip = (symbols: Uint8Array, lay: CodeLayout, alphabet: number): Uint8Array => {
  const coded = encodeCodes(symbols, lay, alphabet);
  const back = decodeCodes(coded, lay, alphabet);
  expect(back.length).toBe(symbols.length);
  expect(back.findIndex((v, i) => v !== symbols[i])).toBe(-1);
  return coded;
};

/** Probabilities of a Laplace(0, b) source on a 16-level integer grid [-8, 7], clipped at the ends. */
function laplaceLevels(b: number): number[] {
  const cdf = (t: number): number => (t < 0 ? 0.5 * Math.exp(t / b) : 1 - 0.5 * Math.exp(-t / b));
  return Array.from({ length: 16 }, (_, k) => {
    const v = k - 8;
    const lo = v === -8 ? 0 : cdf(v - 0.5);
    const hi = v === 7 ? 1 : cdf(v + 0.5);
    return hi - lo;
  });
}

// Every case runs twice: with the decoder's loops (and the CRC) in WebAssembly, and in JavaScript.
describe.each([
  ['WebAssembly', true],
  ['JavaScript', false],
] as const)('rANS coder for integer codes (loops in %s)', (_, wasm) => {
  beforeAll(() => setWasmDecoding(wasm));
  afterAll(() => setWasmDecoding(true));

  it('runs its loops where it says', () => {
    expect(ransKernel() !== null).toBe(wasm);
  });

  it('a layout without codes (outer 0) claiming 2^53 - 1 channels decodes at once instead of visiting each', () => {
    const coded = encodeCodes(new Uint8Array(0), { outer: 0, channels: 1, inner: 4 }, 16);
    // A damaged header may pair a valid empty stream with any channel count. Visiting each channel, this call
    // would not return (2^53 iterations); it must do no work per channel when there are no codes.
    const huge = { outer: 0, channels: Number.MAX_SAFE_INTEGER, inner: 4 };
    expect(decodeCodes(coded, huge, 16).length).toBe(0);
    expect(decodePackedNibbles(coded, huge, new Uint8Array(0)).length).toBe(0);
  });

  it('round-trips uniform random nibbles and bytes, per channel and per tensor', () => {
    const rng = new SeededRandom(1);
    for (const [alphabet, lay] of [[16, { outer: 3, channels: 5, inner: 7 }], [256, { outer: 1, channels: 4, inner: 1000 }], [16, { outer: 1, channels: 1, inner: 1 }]] as const) {
      const n = lay.outer * lay.channels * lay.inner;
      const s = Uint8Array.from({ length: n }, () => rng.nextInt(alphabet));
      roundTrip(s, lay, alphabet);
    }
  });

  it('round-trips skewed channels, a single-symbol channel and an empty tensor', () => {
    const rng = new SeededRandom(2);
    const lay = { outer: 2, channels: 4, inner: 500 };
    const s = new Uint8Array(4000);
    for (let o = 0; o < 2; o++) {
      for (let c = 0; c < 4; c++) {
        for (let j = 0; j < 500; j++) {
          // channel 0: one symbol only; 1: rare outliers; 2: Laplace; 3: two symbols.
          const v = c === 0 ? 9 : c === 1 ? (rng.nextInt(1000) === 0 ? 15 : 0) : c === 2 ? Math.max(-8, Math.min(7, Math.round(rng.laplace(0, 1)))) & 15 : 3 + rng.nextInt(2);
          s[(o * 4 + c) * 500 + j] = v;
        }
      }
    }
    roundTrip(s, lay, 16);
    // One symbol everywhere costs no stream bytes: mode, a table and the state.
    expect(roundTrip(new Uint8Array(10000).fill(5), { outer: 1, channels: 1, inner: 10000 }, 16).length).toBeLessThan(16);
    expect(roundTrip(new Uint8Array(0), { outer: 0, channels: 3, inner: 9 }, 16).length).toBeLessThan(16);
    expect(roundTrip(new Uint8Array(0), { outer: 1, channels: 0, inner: 9 }, 256).length).toBeLessThan(16);
  });

  it('codes a Laplace source within 2% of its Shannon bound', () => {
    const rng = new SeededRandom(3);
    const b = 1.5;
    const p = laplaceLevels(b);
    const bound = -p.reduce((h, q) => h + (q > 0 ? q * Math.log2(q) : 0), 0);
    const lay = { outer: 1, channels: 8, inner: 20000 };
    const n = 8 * 20000;
    const s = Uint8Array.from({ length: n }, () => Math.max(-8, Math.min(7, Math.round(rng.laplace(0, b)))) & 15);
    const coded = roundTrip(s, lay, 16);
    const bits = (coded.length * 8) / n;
    expect(bound).toBeGreaterThan(2.5);
    expect(bits).toBeLessThan(bound * 1.02);
    expect(bits).toBeGreaterThan(bound * 0.98); // a coder cannot beat the bound by more than sampling noise
  });

  it('chooses per-channel tables when channels differ and are large', () => {
    const lay = { outer: 1, channels: 2, inner: 5000 };
    const s = new Uint8Array(10000);
    s.fill(1, 0, 5000);
    s.fill(14, 5000);
    const coded = roundTrip(s, lay, 16);
    expect(coded[0]).toBe(1);
    expect(coded.length).toBeLessThan(60); // one table for both would cost ~1 bit per value (1250 bytes)
  });

  it('normalizes counts to a power-of-two sum keeping every present symbol', () => {
    const t = normalizeCounts([1, 0, 100000, 1, 0]);
    expect(t.freq.reduce((a, b) => a + b, 0)).toBe(2 ** t.precision);
    expect(t.freq[0]).toBeGreaterThan(0);
    expect(t.freq[1]).toBe(0);
    expect(t.freq.length).toBe(4);
  });

  it('fails with typed errors on every truncation and on corrupted bytes, never untyped', () => {
    const rng = new SeededRandom(4);
    const lay = { outer: 2, channels: 3, inner: 50 };
    const s = Uint8Array.from({ length: 300 }, () => Math.max(-8, Math.min(7, Math.round(rng.laplace(0, 1)))) & 15);
    const coded = encodeCodes(s, lay, 16);
    const codes = (bytes: Uint8Array): string => {
      try {
        const out = decodeCodes(bytes, lay, 16);
        return Array.from(out).join() === Array.from(s).join() ? 'same' : 'different';
      } catch (e) {
        expect(e).toBeInstanceOf(NibbleError);
        return (e as NibbleError).code;
      }
    };
    for (let cut = 0; cut < coded.length; cut++) expect(['E_TRUNCATED', 'E_FILE_FORMAT']).toContain(codes(coded.subarray(0, cut)));
    // A flipped bit either fails typed or decodes to other codes (the container's checksum catches those).
    for (let bit = 0; bit < coded.length * 8; bit += 3) {
      const bad = coded.slice();
      bad[bit >> 3] ^= 1 << (bit & 7);
      expect(['E_TRUNCATED', 'E_FILE_FORMAT', 'different', 'same']).toContain(codes(bad));
    }
  });

  it('decodes nibbles straight into packed int4 bytes, whatever the run edges', () => {
    const rng = new SeededRandom(5);
    const pack = (codes: Uint8Array): Uint8Array => {
      const out = new Uint8Array(Math.ceil(codes.length / 2));
      codes.forEach((v, i) => (out[i >> 1] |= v << ((i & 1) * 4)));
      return out;
    };
    // Odd and even inner sizes, several outer blocks (runs out of memory order), per-tensor and per-channel tables.
    const layouts: CodeLayout[] = [
      { outer: 1, channels: 5, inner: 9 },
      { outer: 3, channels: 4, inner: 3 },
      { outer: 2, channels: 3, inner: 1001 },
      { outer: 1, channels: 1, inner: 7 },
      { outer: 1, channels: 2, inner: 4000 },
    ];
    for (const lay of layouts) {
      const n = lay.outer * lay.channels * lay.inner;
      const s = new Uint8Array(n);
      for (let i = 0; i < n; i++) {
        const c = Math.floor(i / lay.inner) % lay.channels;
        s[i] = (clampNibble(rng.laplace(0, 0.5 + c)) + 4 * c) & 15;
      }
      const coded = encodeCodes(s, lay, 16);
      const out = new Uint8Array(Math.ceil(n / 2)).fill(0xff); // the decoder clears it
      expect(Array.from(decodePackedNibbles(coded, lay, out))).toEqual(Array.from(pack(s)));
      for (let cut = 0; cut < coded.length; cut += Math.max(1, coded.length >> 6)) {
        expect(() => decodePackedNibbles(coded.subarray(0, cut), lay, out)).toThrow(NibbleError);
      }
    }
    expect(() => decodePackedNibbles(encodeCodes(new Uint8Array(4), { outer: 1, channels: 1, inner: 4 }, 16), { outer: 1, channels: 1, inner: 4 }, new Uint8Array(3))).toThrow(NibbleError);
  });

  it('keeps the lookup of a channel whose table repeats the previous one, and rebuilds it after a change', () => {
    const rng = new SeededRandom(6);
    const inner = 4000;
    // Channels A A B A A: equal histograms (shuffled values) give equal tables.
    const a = Uint8Array.from({ length: inner }, (_, j) => (j % 10 === 0 ? 2 : j % 3 === 0 ? 1 : 0));
    const b = Uint8Array.from({ length: inner }, (_, j) => (j % 7 === 0 ? 12 : 15));
    const shuffled = (v: Uint8Array): Uint8Array => {
      const w = v.slice();
      for (let i = w.length - 1; i > 0; i--) {
        const k = rng.nextInt(i + 1);
        [w[i], w[k]] = [w[k], w[i]];
      }
      return w;
    };
    const s = new Uint8Array(5 * inner);
    [a, a, b, a, a].forEach((v, c) => s.set(shuffled(v), c * inner));
    const coded = roundTrip(s, { outer: 1, channels: 5, inner }, 16);
    expect(coded[0]).toBe(1);
  });

  it('grows the table entries past their first guess', () => {
    const t = new TableEntries(2, 0);
    for (let k = 0; k < 100; k++) t.push(k);
    expect(t.count).toBe(100);
    expect(Array.from(t.entries.subarray(0, 100))).toEqual(Array.from({ length: 100 }, (_, k) => k));
  });

  it('reads varints of every length, at the end of the bytes too, and fails typed when cut', () => {
    const values = [0, 1, 127, 128, 300, 4096, 16383, 16384, 2 ** 21 + 5, 2 ** 32 - 1];
    for (const v of values) {
      const bytes: number[] = [];
      pushVarint(bytes, v);
      // Alone (the last bytes of the buffer) and followed by another byte.
      for (const buf of [Uint8Array.from(bytes), Uint8Array.from([...bytes, 7])]) {
        const r = new ByteCursor(buf);
        expect(r.varint()).toBe(v);
        expect(r.pos).toBe(bytes.length);
      }
      for (let cut = 0; cut < bytes.length; cut++) expect(() => new ByteCursor(Uint8Array.from(bytes.slice(0, cut))).varint()).toThrow(NibbleError);
    }
  });

  it('computes the zlib CRC-32 at every length and alignment round its steps, piece by piece too', () => {
    const bitwise = (bytes: Uint8Array): number => {
      let c = 0xffffffff;
      for (const b of bytes) {
        c ^= b;
        for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      }
      return (c ^ 0xffffffff) >>> 0;
    };
    const crc = (bytes: Uint8Array): number => ~crc32Update(-1, bytes) >>> 0;
    expect(crc(new TextEncoder().encode('123456789'))).toBe(0xcbf43926);
    const rng = new SeededRandom(9);
    const data = Uint8Array.from({ length: 70000 }, () => rng.nextInt(256));
    for (const n of [0, 1, 7, 8, 9, 15, 16, 17, 255, 256, 257, 263, 264, 1000, 4099]) {
      for (const at of [0, 1, 2, 3, 5]) expect(crc(data.subarray(at, at + n))).toBe(bitwise(data.subarray(at, at + n)));
    }
    // In pieces: small pieces and large ones, the register carried between them.
    let register = -1;
    for (const [a, b] of [[0, 3], [3, 300], [300, 310], [310, 70000]]) register = crc32Update(register, data.subarray(a, b));
    expect(~register >>> 0).toBe(bitwise(data));
  });
});
