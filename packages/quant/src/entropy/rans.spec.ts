import { NibbleError, SeededRandom } from '@nibble/ir';
import { decodeCodes, encodeCodes, type CodeLayout } from './rans';
import { normalizeCounts } from './tables';

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

describe('rANS coder for integer codes', () => {
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
});
