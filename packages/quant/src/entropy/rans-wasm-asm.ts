import { CRC_TABLES_AT, SLOTS_AT } from './rans-wasm';
import {
  ADD, AND, block, body, br, brIf, c, EQ, EQZ, GE_U, get, GT_U, I32, LE_U, LOAD, LOAD8U, loop, LT_U, mem, MEMORY_FILL, MUL, name, NE, OR, RETURN,
  section, SELECT, set, SHL, SHR_U, STORE, STORE8, SUB, tee, vec, when, XOR, type Code,
} from './wasm-asm';

/*
 * The source of the decoder's WebAssembly module (rans-wasm.ts loads its
 * bytes, rans-wasm-module.ts, which rans.spec.ts checks against this file):
 *
 *   decode(stream, end, out, outer, channels, inner, alphabet, nibbles, tabs) -> 0 | 1
 *     a whole coded stream (rans.ts's format): tables read and checked, the
 *     slot lookup refilled at each channel whose table bytes differ from the
 *     ones it holds, every run of codes decoded, the final state checked.
 *     1 means "something is wrong": the caller then decodes the stream in
 *     JavaScript, which names the error (so the messages exist once).
 *   crc(register, ptr, len) -> register: the CRC-32 of crc32.ts.
 *
 * One call per tensor: in a fresh process JavaScript runs interpreted, and
 * the table reads and per-channel calls of the old JavaScript orchestration
 * cost more than the codes themselves on models of many small channels.
 *
 * The step is the JavaScript one (rans.ts decodeRun) but for the lookup
 * entries: here a slot holds the symbol, f - 1 and the slot's offset within
 * its symbol's run (slot - cum), so a step is e = slots[x & mask];
 * x = f * (x >> P) + (e >> 20); then up to 2 stream bytes (x never falls
 * below 2^(23-P) >= 2^11). Renormalisation branches: a branch-free form
 * (select) measured about 10 % slower. The end of the stream is checked after
 * each step, or pair of steps (at most 4 bytes), so reads may pass a damaged
 * stream's end by up to 4 bytes before it fails: the caller leaves 8 bytes of
 * room after it.
 */

const L = 1 << 23;
const CALL = 0x10;
// Function indices, in the order of the code section.
const DECODE = 0, CRC = 1, READ_TABLE = 2, FILL = 3, SAME_TABLE = 4, RUN_BYTES = 5, RUN_NIBBLES = 6;

const increment = (k: number, by = 1): Code => [get(k), c(by), ADD, set(k)];

/** Read a varint at pointer local `ptr` into `dst`: one or two bytes (all a valid table has); longer ones, or bytes at or past `end` when given, fail. */
function varint(dst: number, ptr: number, tmp: number, end: number | null): Code {
  const inBounds = end === null ? [] : [get(ptr), get(end), GE_U, brIf('fail')];
  return [
    inBounds, get(ptr), mem(LOAD8U, 0), set(dst), increment(ptr),
    get(dst), c(0x80), AND,
    when('second', inBounds,
      get(ptr), mem(LOAD8U, 0), tee(tmp), c(0x80), AND, brIf('fail'),
      get(dst), c(0x7f), AND, get(tmp), c(7), SHL, OR, set(dst),
      increment(ptr)),
  ];
}

/*
 * The functions are small on purpose: V8 recompiles a function with its
 * optimizing tier once it has run a while, and that took about 2 ms for one
 * function holding all of the decoder, on the first decode of every process.
 * Small ones recompile in a fraction of that (and only the hot ones do).
 */

/** readTable(p, end, alphabet) -> where the table at p ends, or 0 when it is invalid or runs past end. */
const TP = 0, TEND = 1, TALPHA = 2, TPREC = 3, TUSED = 4, TS = 5, TF = 6, TCUM = 7, TTOTAL = 8, TRUN = 9, TTMP = 10;
const readTable: Code = [
  block('fail',
    get(TP), get(TEND), GE_U, brIf('fail'),
    get(TP), mem(LOAD8U, 0), set(TPREC), increment(TP),
    get(TPREC), when('table',
      get(TPREC), c(12), GT_U, brIf('fail'),
      varint(TUSED, TP, TTMP, TEND),
      get(TUSED), EQZ, brIf('fail'),
      get(TUSED), get(TALPHA), GT_U, brIf('fail'),
      c(1), get(TPREC), SHL, set(TTOTAL),
      block('symbolsDone', loop('symbols',
        get(TS), get(TUSED), GE_U, brIf('symbolsDone'),
        varint(TF, TP, TTMP, TEND),
        get(TF), EQZ, when('zeros',
          varint(TRUN, TP, TTMP, TEND),
          get(TS), get(TRUN), ADD, get(TUSED), GE_U, brIf('fail'),
          get(TS), get(TRUN), ADD, c(1), ADD, set(TS),
          br('symbols')),
        // Checked as it goes, so no entry ever points past 2^precision slots.
        get(TF), get(TTOTAL), get(TCUM), SUB, GT_U, brIf('fail'),
        get(TCUM), get(TF), ADD, set(TCUM), increment(TS),
        br('symbols'))),
      get(TCUM), get(TTOTAL), NE, brIf('fail')),
    get(TP), RETURN),
  c(0),
];

/** fill(a): the lookup from the (checked) table at a: each symbol's entry over its slots [cum, cum + f). */
const FA_ = 0, FUSED = 1, FS = 2, FF = 3, FCUM = 4, FRUN = 5, FE = 6, FJ = 7, FJEND = 8, FTMP = 9;
const fill: Code = [
  block('fail',
    increment(FA_),
    varint(FUSED, FA_, FTMP, null),
    block('filled', loop('symbols',
      get(FS), get(FUSED), GE_U, brIf('filled'),
      varint(FF, FA_, FTMP, null),
      get(FF), EQZ, when('zeros', varint(FRUN, FA_, FTMP, null), get(FS), get(FRUN), ADD, c(1), ADD, set(FS), br('symbols')),
      // Symbol, frequency - 1, and (from the symbol's first slot, 0) the slot's offset in the symbol's run.
      get(FS), get(FF), c(1), SUB, c(8), SHL, OR, set(FE),
      get(FCUM), c(2), SHL, set(FJ), get(FCUM), get(FF), ADD, c(2), SHL, set(FJEND),
      loop('slots',
        get(FJ), get(FE), mem(STORE, 2, SLOTS_AT),
        get(FE), c(1 << 20), ADD, set(FE),
        get(FJ), c(4), ADD, tee(FJ), get(FJEND), LT_U, brIf('slots')),
      get(FCUM), get(FF), ADD, set(FCUM), increment(FS),
      br('symbols')))),
];

/** sameTable(a, b, fa, fb) -> 1 when the bytes [a, b) equal [fa, fb). */
const SA = 0, SB = 1, SFA = 2, SFB = 3, SK = 4;
const sameTable: Code = [
  block('differ',
    get(SB), get(SA), SUB, get(SFB), get(SFA), SUB, NE, brIf('differ'),
    block('done', loop('bytes',
      get(SK), get(SB), get(SA), SUB, GE_U, brIf('done'),
      get(SA), get(SK), ADD, mem(LOAD8U, 0), get(SFA), get(SK), ADD, mem(LOAD8U, 0), NE, brIf('differ'),
      increment(SK),
      br('bytes'))),
    c(1), RETURN),
  c(0),
];

// runBytes / runNibbles(x, p, end, out, from, to, precision) -> 0, x and p left at bytes 0 and 4; 1 once past the stream.
const X = 0, PTR = 1, END_ = 2, OUT = 3, I = 4, TO = 5, PREC = 6, MASK = 7, E = 8, E1 = 9, TMP = 10;

/** Take a stream byte if x < L. */
const renorm: Code = [
  get(X), c(L), LT_U, when('renorm', get(X), c(8), SHL, get(PTR), mem(LOAD8U, 0), OR, set(X), increment(PTR)),
];

/** Fail once the steps have taken a byte past the stream. */
const checkEnd: Code = [get(PTR), get(END_), GT_U, brIf('fail')];

/** One decoding step into local `e` (without the check of the stream's end). */
const step = (e: number): Code => [
  get(X), get(MASK), AND, c(2), SHL, mem(LOAD, 2, SLOTS_AT), set(e),
  get(e), c(8), SHR_U, c(0xfff), AND, c(1), ADD, get(X), get(PREC), SHR_U, MUL,
  get(e), c(20), SHR_U, ADD, set(X),
  renorm, renorm,
];

const runPrologue: Code = [c(1), get(PREC), SHL, c(1), SUB, set(MASK)];
const runEpilogue: Code = [c(0), get(X), mem(STORE, 2), c(4), get(PTR), mem(STORE, 2), c(0), RETURN];

/** Codes [from, to) one per byte. */
const runBytes: Code = [
  block('fail',
    runPrologue,
    block('done', loop('codes',
      get(I), get(TO), GE_U, brIf('done'),
      step(E), checkEnd,
      get(OUT), get(I), ADD, get(E), mem(STORE8, 0),
      increment(I),
      br('codes'))),
    runEpilogue),
  c(1),
];

/** OR code e into its byte of packed output: the high nibble (shift 4) or the low one (0). */
const orNibble = (shift: number): Code => [
  get(OUT), get(I), c(1), SHR_U, ADD, tee(TMP), get(TMP), mem(LOAD8U, 0), get(E), c(15), AND, c(shift), SHL, OR, mem(STORE8, 0),
];

/** Codes [from, to) into packed bytes (zeroed): an odd first code and a last one alone are OR-ed in, pairs stored whole. */
const runNibbles: Code = [
  block('fail',
    runPrologue,
    get(I), c(1), AND, get(I), get(TO), LT_U, AND, when('odd', step(E), checkEnd, orNibble(4), increment(I)),
    block('done', loop('pairs',
      get(I), c(1), ADD, get(TO), GE_U, brIf('done'),
      // A pair takes at most 4 bytes: one check for both (the caller leaves room after the stream).
      step(E), step(E1), checkEnd,
      get(OUT), get(I), c(1), SHR_U, ADD, get(E), c(15), AND, get(E1), c(4), SHL, OR, mem(STORE8, 0),
      increment(I, 2),
      br('pairs'))),
    get(I), get(TO), LT_U, when('last', step(E), checkEnd, orNibble(0), increment(I)),
    runEpilogue),
  c(1),
];

// decode's parameters, then its locals.
const DS = 0, DEND = 1, DOUT = 2, OUTER = 3, CHANNELS = 4, INNER = 5, ALPHABET = 6, NIBBLES = 7, TABS = 8;
const [MODE, TCOUNT, T, A, B, DPREC, DX, CH, O, DI, FA, FB, DTMP] = Array.from({ length: 13 }, (_, k) => 9 + k);

/** A run's arguments: state, stream end, output, codes [(o * channels + c) * inner, + inner), precision. */
const runArgs: Code = [
  get(DX), get(DS), get(DEND), get(DOUT),
  get(O), get(CHANNELS), MUL, get(CH), ADD, get(INNER), MUL, tee(DI), get(DI), get(INNER), ADD, get(DPREC),
];

const decode: Code = [
  block('fail',
    get(DS), get(DEND), GE_U, brIf('fail'),
    get(DS), mem(LOAD8U, 0), set(MODE), increment(DS),
    // The encoder writes per-channel tables only for several channels.
    get(MODE), c(1), GT_U, brIf('fail'),
    get(MODE), get(CHANNELS), c(1), LE_U, AND, brIf('fail'),
    // One table and one block of channels: the tensor is one run in memory order.
    get(MODE), EQZ, get(OUTER), c(1), EQ, AND, when('whole', get(INNER), get(CHANNELS), MUL, set(INNER), c(1), set(CHANNELS)),
    get(CHANNELS), c(1), get(MODE), SELECT, set(TCOUNT),
    // Each table takes a byte at least: more tables than bytes is damage (and bounds what tabs holds).
    get(TCOUNT), get(DEND), get(DS), SUB, GT_U, brIf('fail'),
    // Every table checked, where each starts recorded (tabs[t]; tabs[count] is where the state starts).
    block('tablesDone', loop('tables',
      get(T), get(TCOUNT), GE_U, brIf('tablesDone'),
      get(TABS), get(T), c(2), SHL, ADD, get(DS), mem(STORE, 2),
      get(DS), get(DEND), get(ALPHABET), [CALL, READ_TABLE], tee(DS), EQZ, brIf('fail'),
      increment(T),
      br('tables'))),
    get(TABS), get(TCOUNT), c(2), SHL, ADD, get(DS), mem(STORE, 2),
    get(DEND), get(DS), SUB, c(4), LT_U, brIf('fail'),
    get(DS), mem(LOAD, 0), set(DX), increment(DS, 4),
    get(DX), c(L), LT_U, brIf('fail'),
    get(DX), c(0x7fffffff), GT_U, brIf('fail'),
    get(NIBBLES), when('zero', get(DOUT), c(0), get(OUTER), get(CHANNELS), MUL, get(INNER), MUL, c(1), ADD, c(1), SHR_U, MEMORY_FILL),
    // [FA, FB): the bytes of the table the lookup holds (none yet).
    c(-1), set(FA), c(-1), set(FB),
    block('channelsDone', loop('channels',
      get(CH), get(CHANNELS), GE_U, brIf('channelsDone'),
      block('channel',
        get(TABS), get(MODE), get(CH), MUL, c(2), SHL, ADD, tee(DTMP), mem(LOAD, 2), set(A),
        get(DTMP), mem(LOAD, 2, 4), set(B),
        get(A), mem(LOAD8U, 0), set(DPREC),
        get(DPREC), EQZ, when('empty', get(OUTER), get(INNER), MUL, brIf('fail'), br('channel')),
        // A channel whose table has the bytes of the one in the lookup keeps it.
        get(A), get(B), get(FA), get(FB), [CALL, SAME_TABLE], EQZ, when('refill', get(A), [CALL, FILL], get(A), set(FA), get(B), set(FB)),
        c(0), set(O),
        block('blocksDone', loop('blocks',
          get(O), get(OUTER), GE_U, brIf('blocksDone'),
          block('run', get(NIBBLES), when('packed', runArgs, [CALL, RUN_NIBBLES], brIf('fail'), br('run')), runArgs, [CALL, RUN_BYTES], brIf('fail')),
          c(0), mem(LOAD, 2), set(DX), c(4), mem(LOAD, 2), set(DS),
          increment(O),
          br('blocks')))),
      increment(CH),
      br('channels'))),
    get(DX), c(L), NE, brIf('fail'),
    get(DS), get(DEND), NE, brIf('fail'),
    c(0), RETURN),
  c(1),
];

// crc(register, ptr, len): 8 bytes a step as two 32-bit loads (WebAssembly memory is little-endian, as the
// CRC's byte order), then the last 0-7 bytes one at a time.
const REG = 0, AT = 1, LEN = 2, END8 = 3, LAST = 4, LO = 5, HI = 6;
/** Table k's entry for byte b (0 = lowest) of local v. */
const table = (k: number, v: number, b: number): Code => [
  get(v), b === 0 ? [] : [c(8 * b), SHR_U], b === 3 ? [] : [c(0xff), AND], c(2), SHL, mem(LOAD, 2, CRC_TABLES_AT + 1024 * k),
];
const crc: Code = [
  get(AT), get(LEN), c(-8), AND, ADD, set(END8),
  get(AT), get(LEN), ADD, set(LAST),
  block('wordsDone', loop('words',
    get(AT), get(END8), GE_U, brIf('wordsDone'),
    get(REG), get(AT), mem(LOAD, 0), XOR, set(LO),
    get(AT), mem(LOAD, 0, 4), set(HI),
    table(7, LO, 0), table(6, LO, 1), XOR, table(5, LO, 2), XOR, table(4, LO, 3), XOR,
    table(3, HI, 0), XOR, table(2, HI, 1), XOR, table(1, HI, 2), XOR, table(0, HI, 3), XOR, set(REG),
    increment(AT, 8),
    br('words'))),
  block('bytesDone', loop('bytes',
    get(AT), get(LAST), GE_U, brIf('bytesDone'),
    get(REG), get(AT), mem(LOAD8U, 0), XOR, c(0xff), AND, c(2), SHL, mem(LOAD, 2, CRC_TABLES_AT),
    get(REG), c(8), SHR_U, XOR, set(REG),
    increment(AT),
    br('bytes'))),
  get(REG),
];

/** The module's bytes, assembled. */
export function ransModuleBytes(): Uint8Array {
  const i32s = (n: number): number[] => vec(Array.from({ length: n }, () => [I32]));
  const types = [[0x60, ...i32s(9), ...i32s(1)], [0x60, ...i32s(3), ...i32s(1)], [0x60, ...i32s(1), ...i32s(0)], [0x60, ...i32s(4), ...i32s(1)], [0x60, ...i32s(7), ...i32s(1)]];
  // Type and extra i32 locals per function, by index (DECODE, CRC, READ_TABLE, FILL, SAME_TABLE, RUN_BYTES, RUN_NIBBLES).
  const functions: [number, number, Code][] = [[0, 13, decode], [1, 4, crc], [1, 8, readTable], [2, 9, fill], [3, 1, sameTable], [4, 4, runBytes], [4, 4, runNibbles]];
  return Uint8Array.from([
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
    ...section(1, vec(types)),
    ...section(3, vec(functions.map(([type]) => [type]))),
    ...section(5, vec([[0x00, 1]])),
    ...section(7, vec([[...name('decode'), 0x00, DECODE], [...name('crc'), 0x00, CRC], [...name('memory'), 0x02, 0]])),
    ...section(10, vec(functions.map(([, locals, code]) => body(locals, code)))),
  ]);
}

/** The text of rans-wasm-module.ts for the given bytes (regenerate it with the command in that file). */
export function ransModuleSource(bytes: Uint8Array): string {
  const rows: string[] = [];
  for (let k = 0; k < bytes.length; k += 24) rows.push(`  ${Array.from(bytes.subarray(k, k + 24), (b) => `0x${b.toString(16).padStart(2, '0')}`).join(', ')},`);
  return [
    '// Generated from rans-wasm-asm.ts (the module\'s source); rans.spec.ts checks that the two agree. Regenerate with',
    '//   npx tsx -e "const m = require(\'./packages/quant/src/entropy/rans-wasm-asm.ts\'); process.stdout.write(m.ransModuleSource(m.ransModuleBytes()))" > packages/quant/src/entropy/rans-wasm-module.ts',
    '// Bytes, not the assembler, ship: in a fresh process the assembler runs interpreted (about 0.5 ms), a literal is read at once.',
    `/** The decoder's WebAssembly module (${bytes.length} bytes). */`,
    'export const RANS_MODULE = new Uint8Array([',
    ...rows,
    ']);',
    '',
  ].join('\n');
}
