/*
 * A seeded mutation fuzzer: every input is a deterministic function of
 * (seed, index), so a failure found in CI or in a long run is replayed
 * exactly by its index. Mutations are what damaged and hostile files look
 * like: flipped bits, overwritten bytes, boundary integers in length and
 * offset fields, truncation, spliced and repeated chunks.
 */

import { SeededRandom } from '@nibble/ir';

/** The fuzzer's random source: the project's SeededRandom (the same numbers on every machine). */
export type Prng = SeededRandom;

const INTERESTING_32 = [0, 1, -1, 0x7f, 0x80, 0xff, 0x100, 0x7fff, 0x8000, 0xffff, 0x10000, 0x7fffffff, -0x80000000, 0x40000000, 3, 4, 8, 16];

/** One mutant of `seed` bytes: 1 to 4 mutations, chosen by `rand`. */
export function mutateBytes(seed: Uint8Array, rand: Prng, options: { inPlace?: boolean } = {}): Uint8Array {
  // A copy (Buffer.slice would be a view, and mutants would pile up in the seed).
  let b = new Uint8Array(seed);
  const count = 1 + rand.nextInt(4);
  for (let m = 0; m < count; m++) {
    if (b.length === 0) b = new Uint8Array([rand.nextInt(256)]);
    const at = rand.nextInt(b.length);
    // In place: offsets stay valid, so the mutant reaches the reader's deeper checks instead of its length checks.
    switch (options.inPlace ? [0, 1, 2, 7][rand.nextInt(4)] : rand.nextInt(8)) {
      case 0: b[at] ^= 1 << rand.nextInt(8); break;
      case 1: b[at] = rand.nextInt(256); break;
      case 2: { // a boundary integer over a 4-byte field (lengths, offsets, counts)
        const v = INTERESTING_32[rand.nextInt(INTERESTING_32.length)];
        const view = new DataView(b.buffer, b.byteOffset, b.byteLength);
        if (at + 4 <= b.length) view.setInt32(at, v, rand.nextInt(2) === 0);
        break;
      }
      case 3: b = b.slice(0, at); break; // truncation
      case 4: { // delete a chunk
        const n = 1 + rand.nextInt(Math.min(64, b.length - at));
        const out = new Uint8Array(b.length - n);
        out.set(b.subarray(0, at));
        out.set(b.subarray(at + n), at);
        b = out;
        break;
      }
      case 5: { // repeat a chunk in place
        const n = 1 + rand.nextInt(Math.min(64, b.length - at));
        const out = new Uint8Array(b.length + n);
        out.set(b.subarray(0, at + n));
        out.set(b.subarray(at, at + n), at + n);
        out.set(b.subarray(at + n), at + 2 * n);
        b = out;
        break;
      }
      case 6: { // random bytes inserted
        const n = 1 + rand.nextInt(16);
        const out = new Uint8Array(b.length + n);
        out.set(b.subarray(0, at));
        for (let i = 0; i < n; i++) out[at + i] = rand.nextInt(256);
        out.set(b.subarray(at), at + n);
        b = out;
        break;
      }
      default: { // a chunk copied over another place
        const n = 1 + rand.nextInt(Math.min(32, b.length - at));
        const to = rand.nextInt(b.length);
        b.copyWithin(to, at, Math.min(b.length, at + n));
      }
    }
  }
  return b;
}

/** A mutant of a JSON value: a field deleted, retyped or set to a boundary value, or an array shortened. */
export function mutateJson(value: unknown, rand: Prng): unknown {
  const copy = JSON.parse(JSON.stringify(value)) as unknown;
  const count = 1 + rand.nextInt(3);
  for (let m = 0; m < count; m++) {
    const slots: { parent: Record<string, unknown> | unknown[]; key: string | number }[] = [];
    const walk = (v: unknown): void => {
      if (slots.length > 20000) return;
      if (Array.isArray(v)) v.forEach((x, i) => { slots.push({ parent: v, key: i }); walk(x); });
      else if (v !== null && typeof v === 'object') for (const k of Object.keys(v)) { slots.push({ parent: v as Record<string, unknown>, key: k }); walk((v as Record<string, unknown>)[k]); }
    };
    walk(copy);
    if (slots.length === 0) return copy;
    const { parent, key } = slots[rand.nextInt(slots.length)];
    const choices: unknown[] = [null, 0, -1, 1e9, 2 ** 40, 'x', '', [], {}, true, [1e9, 1e9], -0.5, NaN];
    switch (rand.nextInt(3)) {
      case 0:
        if (Array.isArray(parent)) parent.splice(key as number, 1);
        else delete parent[key as string];
        break;
      case 1: (parent as Record<string | number, unknown>)[key] = choices[rand.nextInt(choices.length)]; break;
      default: {
        const v = (parent as Record<string | number, unknown>)[key];
        if (typeof v === 'number') (parent as Record<string | number, unknown>)[key] = [0, -v, v * 1000, v + 1, v - 1][rand.nextInt(5)];
        else if (Array.isArray(v)) v.length = rand.nextInt(v.length + 1);
        else if (typeof v === 'string') (parent as Record<string | number, unknown>)[key] = v.slice(0, rand.nextInt(v.length + 1));
      }
    }
  }
  return copy;
}

/** A mutant of text: characters deleted, repeated, replaced by pipeline punctuation or random ASCII. */
export function mutateText(text: string, rand: Prng): string {
  let t = text;
  const count = 1 + rand.nextInt(4);
  const PUNCT = ['{', '}', ',', '=', ';', ' ', '"', "'", '\\', '-', '1e309', '-1', '0', 'NaN', '\u0000', '{}', ',,', '=='];
  for (let m = 0; m < count; m++) {
    const at = rand.nextInt(t.length + 1);
    switch (rand.nextInt(4)) {
      case 0: t = t.slice(0, at) + t.slice(at + 1 + rand.nextInt(8)); break;
      case 1: t = t.slice(0, at) + PUNCT[rand.nextInt(PUNCT.length)] + t.slice(at); break;
      case 2: t = t.slice(0, at) + String.fromCharCode(32 + rand.nextInt(95)) + t.slice(at + 1); break;
      default: { const n = 1 + rand.nextInt(12); t = t.slice(0, at) + t.slice(at, at + n) + t.slice(at); }
    }
  }
  return t;
}
