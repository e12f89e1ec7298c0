import { NibbleError } from '@nibble/ir';

/*
 * Frequency tables for the rANS coder: a histogram of counts scaled to sum
 * to 2^P, every present symbol at least 1 (a symbol with frequency 0 cannot
 * be coded). P is chosen per table from the number of values it codes: a
 * small channel gets a coarse table, which is cheaper to store and loses
 * little, since its counts are coarse anyway.
 */

/** Largest table precision: freq * (x >> P) stays below 2^31 with the coder's 31-bit state. */
export const MAX_PRECISION = 12;

export interface FreqTable {
  /** log2 of the frequencies' sum; 0 for an empty table (no values to code). */
  precision: number;
  /** Frequency per symbol, summing to 2^precision; length = the alphabet used (max symbol + 1). */
  freq: Uint32Array;
  /** Cumulative frequency before each symbol. */
  cum: Uint32Array;
}

const ceilLog2 = (n: number): number => (n <= 1 ? 0 : 32 - Math.clz32(n - 1));

/** The precision a table for `total` values with `distinct` symbols gets. */
export function tablePrecision(total: number, distinct: number): number {
  if (total === 0) return 0;
  return Math.min(MAX_PRECISION, Math.max(ceilLog2(total), ceilLog2(distinct), 1));
}

function withCum(precision: number, freq: Uint32Array): FreqTable {
  const cum = new Uint32Array(freq.length);
  for (let s = 1; s < freq.length; s++) cum[s] = cum[s - 1] + freq[s - 1];
  return { precision, freq, cum };
}

/** Scale counts to a table (deterministic: the same counts always give the same table). */
export function normalizeCounts(counts: ArrayLike<number>): FreqTable {
  let total = 0;
  let distinct = 0;
  let used = 0;
  for (let s = 0; s < counts.length; s++) {
    total += counts[s];
    if (counts[s] > 0) {
      distinct++;
      used = s + 1;
    }
  }
  const precision = tablePrecision(total, distinct);
  if (precision === 0) return withCum(0, new Uint32Array(0));
  const M = 2 ** precision;
  const freq = new Uint32Array(used);
  let sum = 0;
  for (let s = 0; s < used; s++) {
    if (counts[s] > 0) freq[s] = Math.max(1, Math.round((counts[s] * M) / total));
    sum += freq[s];
  }
  // Rounding leaves the sum off by a little: settle it on the largest entries,
  // where a step of 1 costs the least code length.
  while (sum !== M) {
    let big = 0;
    for (let s = 1; s < used; s++) if (freq[s] > freq[big]) big = s;
    if (sum < M) {
      freq[big] += M - sum;
      sum = M;
    } else {
      const take = Math.min(sum - M, freq[big] - 1);
      if (take === 0) break; // cannot happen: distinct <= M
      freq[big] -= take;
      sum -= take;
      // Spread the rest over the next largest on the next turn.
    }
  }
  return withCum(precision, freq);
}

/** Append an unsigned LEB128 varint. */
export function pushVarint(out: number[], v: number): void {
  while (v >= 0x80) {
    out.push((v & 0x7f) | 0x80);
    v = Math.floor(v / 128);
  }
  out.push(v);
}

/**
 * Table bytes: precision (1 byte); then, unless 0, the alphabet used and each
 * frequency as varints, a 0 followed by how many more zeros come after it
 * (an 8-bit table is mostly gaps).
 */
export function writeTable(out: number[], t: FreqTable): void {
  out.push(t.precision);
  if (t.precision === 0) return;
  pushVarint(out, t.freq.length);
  for (let s = 0; s < t.freq.length; s++) {
    pushVarint(out, t.freq[s]);
    if (t.freq[s] !== 0) continue;
    let run = 0;
    while (s + 1 < t.freq.length && t.freq[s + 1] === 0) {
      run++;
      s++;
    }
    pushVarint(out, run);
  }
}

/** A cursor over coded bytes whose reads fail with typed errors, never past the end. */
export class ByteCursor {
  pos: number;
  constructor(readonly buf: Uint8Array, start = 0, readonly end = buf.length, readonly what = 'entropy-coded stream') {
    this.pos = start;
  }

  truncated(): never {
    throw new NibbleError('E_TRUNCATED', `${this.what} ends early (byte ${this.pos} of ${this.end})`, {
      hint: 'the file was cut short; write or fetch it again',
    });
  }

  corrupt(message: string): never {
    throw new NibbleError('E_FILE_FORMAT', `${this.what} is corrupt: ${message} (byte ${this.pos})`, {
      hint: 'the file is damaged; write or fetch it again',
    });
  }

  byte(): number {
    if (this.pos >= this.end) this.truncated();
    return this.buf[this.pos++];
  }

  varint(): number {
    let v = 0;
    for (let shift = 0; shift < 35; shift += 7) {
      const b = this.byte();
      v += (b & 0x7f) * 2 ** shift;
      if (b < 0x80) return v;
    }
    this.corrupt('a varint longer than 5 bytes');
  }
}

/** Read a table written by writeTable, checking it against the alphabet and its own sum. */
export function readTable(r: ByteCursor, alphabet: number): FreqTable {
  const precision = r.byte();
  if (precision === 0) return withCum(0, new Uint32Array(0));
  if (precision > MAX_PRECISION) r.corrupt(`table precision ${precision} > ${MAX_PRECISION}`);
  const used = r.varint();
  if (used < 1 || used > alphabet) r.corrupt(`table of ${used} symbols for an alphabet of ${alphabet}`);
  const freq = new Uint32Array(used);
  let sum = 0;
  for (let s = 0; s < used; s++) {
    freq[s] = r.varint();
    sum += freq[s];
    if (freq[s] !== 0) continue;
    const run = r.varint();
    if (s + run >= used) r.corrupt(`a run of ${run} zero frequencies past the table's ${used} symbols`);
    s += run; // already zero
  }
  if (sum !== 2 ** precision) r.corrupt(`table frequencies sum to ${sum}, not 2^${precision}`);
  return withCum(precision, freq);
}
