import { CRC_TABLES_AT, ransKernel, reserve, STREAM_AT, type RansKernel } from './rans-wasm';

/*
 * CRC-32 (the zlib polynomial) of the bytes an entropy-coded container
 * restores, written here so that a reader needs no Node module.
 *
 * Slicing-by-8: eight 256-entry tables, where table k maps a byte to its CRC
 * after k further zero bytes, so one step folds 8 input bytes with 8
 * independent lookups instead of a chain of 8 dependent ones (the byte-wise
 * loop alone was a sixth of the whole container decode). Pieces of 256 bytes
 * and more run in the WebAssembly module of rans-wasm.ts, compiled before its
 * first call: in a fresh process the JavaScript loop runs interpreted until V8
 * has compiled it, which made the check of a 200 KB model cost 3-8 ms instead
 * of 0.2-0.6 ms.
 */

const CRC_TABLES = (() => {
  const t = new Int32Array(8 * 256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c;
  }
  for (let k = 1; k < 8; k++) {
    for (let n = 0; n < 256; n++) {
      const prev = t[(k - 1) * 256 + n];
      t[k * 256 + n] = (prev >>> 8) ^ t[prev & 0xff];
    }
  }
  return t;
})();

const LITTLE_ENDIAN = new Uint8Array(Uint32Array.of(1).buffer)[0] === 1;

/** CRC-32 of the bytes. */
export function crc32(bytes: Uint8Array): number {
  return ~crc32Update(-1, bytes) >>> 0;
}

/**
 * Fold bytes into a running CRC register (inverted, as an int32: start at -1,
 * finish with ~register >>> 0), so a CRC can run piece by piece. The register
 * stays an int32 throughout: a uint32 above 2^31 is a heap number in V8, and
 * deoptimised the compiled loop.
 */
export function crc32Update(register: number, bytes: Uint8Array): number {
  const k = bytes.length >= 256 ? crcKernel() : null;
  if (k && reserve(k, STREAM_AT + bytes.length)) {
    new Uint8Array(k.memory.buffer, STREAM_AT, bytes.length).set(bytes);
    return k.crc(register | 0, STREAM_AT, bytes.length);
  }
  return crc32UpdateJs(register, bytes);
}

let tablesIn: RansKernel | null = null;

/** The module with the tables in its memory (written once per module). */
function crcKernel(): RansKernel | null {
  const k = ransKernel();
  if (k && tablesIn !== k) {
    new Int32Array(k.memory.buffer, CRC_TABLES_AT, CRC_TABLES.length).set(CRC_TABLES);
    tablesIn = k;
  }
  return k;
}

function crc32UpdateJs(register: number, bytes: Uint8Array): number {
  const t = CRC_TABLES;
  let c = register | 0;
  const n = bytes.length;
  // Bytes one at a time up to a 4-byte boundary of the buffer, then 8 a step,
  // then the last 0-7 one at a time.
  const head = LITTLE_ENDIAN ? Math.min(n, (4 - (bytes.byteOffset & 3)) & 3) : n;
  let i = 0;
  for (; i < head; i++) c = t[(c ^ bytes[i]) & 0xff] ^ (c >>> 8);
  const end = n - ((n - head) & 7);
  if (end > i) {
    // Two aligned 32-bit words (the CRC's byte order is the little-endian one): a quarter of the loads and shifts of bytes.
    const words = new Int32Array(bytes.buffer, bytes.byteOffset + i, (end - i) >> 2);
    for (let w = 0; w < words.length; w += 2) {
      const lo = c ^ words[w];
      const hi = words[w + 1];
      c =
        t[1792 + (lo & 0xff)] ^ t[1536 + ((lo >>> 8) & 0xff)] ^ t[1280 + ((lo >>> 16) & 0xff)] ^ t[1024 + (lo >>> 24)] ^
        t[768 + (hi & 0xff)] ^ t[512 + ((hi >>> 8) & 0xff)] ^ t[256 + ((hi >>> 16) & 0xff)] ^ t[hi >>> 24];
    }
  }
  for (i = end; i < n; i++) c = t[(c ^ bytes[i]) & 0xff] ^ (c >>> 8);
  return c;
}
