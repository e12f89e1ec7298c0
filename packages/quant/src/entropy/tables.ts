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
    // Table entries are one or two bytes (frequencies are at most 2^12): those skip the general loop.
    const p = this.pos;
    if (p + 1 < this.end) {
      const b0 = this.buf[p];
      if (b0 < 0x80) {
        this.pos = p + 1;
        return b0;
      }
      const b1 = this.buf[p + 1];
      if (b1 < 0x80) {
        this.pos = p + 2;
        return (b0 & 0x7f) | (b1 << 7);
      }
    }
    let v = 0;
    for (let shift = 0; shift < 35; shift += 7) {
      const b = this.byte();
      v += (b & 0x7f) * 2 ** shift;
      if (b < 0x80) return v;
    }
    this.corrupt('a varint longer than 5 bytes');
  }
}

/**
 * Decoder lookup entries of the tables of one stream, read once: for each
 * table, one entry per symbol of non-zero frequency (slotEntry), table t's at
 * [start[t], start[t + 1]). The decoder fills its one slot lookup from them
 * when a channel's table comes, so a tensor of many small channels neither
 * allocates per channel nor parses its tables twice.
 */
export class TableEntries {
  entries: Uint32Array;
  count = 0;
  readonly start: Int32Array;
  readonly precision: Uint8Array;

  constructor(tables: number, capacity: number) {
    this.start = new Int32Array(tables + 1);
    this.precision = new Uint8Array(tables);
    this.entries = new Uint32Array(Math.max(16, capacity));
  }

  push(e: number): void {
    if (this.count === this.entries.length) {
      const grown = new Uint32Array(2 * this.entries.length);
      grown.set(this.entries);
      this.entries = grown;
    }
    this.entries[this.count++] = e;
  }

  /** Whether tables t and u hold the same entries (then the lookup of one serves the other). */
  same(t: number, u: number): boolean {
    const n = this.start[t + 1] - this.start[t];
    if (n !== this.start[u + 1] - this.start[u] || this.precision[t] !== this.precision[u]) return false;
    for (let k = 0; k < n; k++) if (this.entries[this.start[t] + k] !== this.entries[this.start[u] + k]) return false;
    return true;
  }

  /** Fill slots [0, 2^precision) of the lookup with table t's entries. */
  fill(t: number, slots: Uint32Array): void {
    for (let k = this.start[t]; k < this.start[t + 1]; k++) {
      const e = this.entries[k];
      const cum = e >>> 20;
      const end = cum + ((e >>> 8) & 0xfff) + 1;
      // The builtin, not a loop: it runs at full speed from the first call, where a loop of ours would be
      // interpreted until V8 compiles it (a fresh process decodes each model once).
      slots.fill(e, cum, end);
    }
  }
}

/**
 * Read table t of a stream (written by writeTable) into `into`, checking it
 * against the alphabet and its own sum.
 */
export function readTable(r: ByteCursor, alphabet: number, into: TableEntries, t: number): void {
  into.start[t] = into.count;
  const precision = r.byte();
  into.precision[t] = precision;
  if (precision !== 0) {
    if (precision > MAX_PRECISION) r.corrupt(`table precision ${precision} > ${MAX_PRECISION}`);
    const used = r.varint();
    if (used < 1 || used > alphabet) r.corrupt(`table of ${used} symbols for an alphabet of ${alphabet}`);
    const total = 2 ** precision;
    let cum = 0;
    for (let s = 0; s < used; s++) {
      const f = r.varint();
      if (f === 0) {
        const run = r.varint();
        if (s + run >= used) r.corrupt(`a run of ${run} zero frequencies past the table's ${used} symbols`);
        s += run;
        continue;
      }
      // Checked as it goes, so no entry ever points past 2^precision slots.
      if (f > total - cum) r.corrupt(`table frequencies sum past 2^${precision}`);
      into.push(slotEntry(s, f, cum));
      cum += f;
    }
    if (cum !== total) r.corrupt(`table frequencies sum to ${cum}, not 2^${precision}`);
  }
  into.start[t + 1] = into.count;
}

/**
 * A decoder lookup entry: symbol (8 bits), frequency - 1 (12 bits), cumulative
 * frequency (12 bits). Every slot of a symbol holds the same entry, so a table
 * is filled by runs; the decoder subtracts the cumulative frequency itself.
 * P <= 12 keeps both counts in 12 bits (a frequency of 2^12 is stored as 4095).
 */
export function slotEntry(symbol: number, freq: number, cum: number): number {
  return (symbol | ((freq - 1) << 8) | (cum << 20)) >>> 0;
}
