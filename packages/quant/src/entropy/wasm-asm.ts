/*
 * A small structured assembler for the WebAssembly module of rans-wasm.ts:
 * opcodes, LEB128 and control blocks with named labels, so that a branch
 * names the block it leaves instead of counting nesting depths by hand (the
 * decoder branches to its failure exit from five levels down).
 *
 * Code is a tree: numbers are bytes, arrays are sequences, and the objects
 * made by block/loop/when/br/brIf are resolved to bytes by `emit`.
 */

// Opcodes (WebAssembly core spec, section 5.4).
export const END = 0x0b, VOID = 0x40, RETURN = 0x0f, SELECT = 0x1b;
export const GET = 0x20, SET = 0x21, TEE = 0x22, I32 = 0x7f, CONST = 0x41;
export const LOAD = 0x28, LOAD8U = 0x2d, STORE = 0x36, STORE8 = 0x3a;
export const EQZ = 0x45, EQ = 0x46, NE = 0x47, LT_U = 0x49, GT_U = 0x4b, LE_U = 0x4d, GE_U = 0x4f;
export const ADD = 0x6a, SUB = 0x6b, MUL = 0x6c, AND = 0x71, OR = 0x72, XOR = 0x73, SHL = 0x74, SHR_U = 0x76;
/** memory.fill (bulk memory), memory index 0. */
export const MEMORY_FILL = [0xfc, 0x0b, 0x00];

export type Code = number | Code[] | Control | Branch;
interface Control {
  op: 0x02 | 0x03 | 0x04;
  label: string;
  body: Code[];
}
interface Branch {
  op: 0x0c | 0x0d;
  label: string;
}

/** A block: `br(label)` inside it jumps to its end. */
export const block = (label: string, ...body: Code[]): Control => ({ op: 0x02, label, body });
/** A loop: `br(label)` inside it jumps back to its start. */
export const loop = (label: string, ...body: Code[]): Control => ({ op: 0x03, label, body });
/** if (the i32 on the stack) body: `br(label)` leaves it. */
export const when = (label: string, ...body: Code[]): Control => ({ op: 0x04, label, body });
export const br = (label: string): Branch => ({ op: 0x0c, label });
export const brIf = (label: string): Branch => ({ op: 0x0d, label });

export function uleb(v: number): number[] {
  const out: number[] = [];
  do {
    let b = v & 0x7f;
    v >>>= 7;
    if (v) b |= 0x80;
    out.push(b);
  } while (v);
  return out;
}

export function sleb(v: number): number[] {
  const out: number[] = [];
  for (;;) {
    const b = v & 0x7f;
    v >>= 7;
    if ((v === 0 && !(b & 0x40)) || (v === -1 && b & 0x40)) return [...out, b];
    out.push(b | 0x80);
  }
}

export const get = (k: number): number[] => [GET, k];
export const set = (k: number): number[] => [SET, k];
export const tee = (k: number): number[] => [TEE, k];
export const c = (v: number): number[] => [CONST, ...sleb(v)];
export const mem = (op: number, align: number, offset = 0): number[] => [op, align, ...uleb(offset)];

/** The bytes of a code tree; labels resolve to the depth of the innermost enclosing block of that name. */
export function emit(code: Code, labels: string[] = [], out: number[] = []): number[] {
  if (typeof code === 'number') out.push(code);
  else if (Array.isArray(code)) for (const part of code) emit(part, labels, out);
  else if ('body' in code) {
    out.push(code.op, VOID);
    labels.push(code.label);
    for (const part of code.body) emit(part, labels, out);
    labels.pop();
    out.push(END);
  } else {
    const at = labels.lastIndexOf(code.label);
    if (at < 0) throw new Error(`wasm-asm: no enclosing block '${code.label}'`);
    out.push(code.op, ...uleb(labels.length - 1 - at));
  }
  return out;
}

export const vec = (items: number[][]): number[] => [...uleb(items.length), ...items.flat()];
export const section = (id: number, body: number[]): number[] => [id, ...uleb(body.length), ...body];
export const name = (s: string): number[] => vec([...s].map((ch) => [ch.charCodeAt(0)]));

/** A function body: its extra i32 locals, then its code, then END. */
export const body = (locals: number, code: Code): number[] => {
  const bytes = [...vec(locals ? [[...uleb(locals), I32]] : []), ...emit(code), END];
  return [...uleb(bytes.length), ...bytes];
};
