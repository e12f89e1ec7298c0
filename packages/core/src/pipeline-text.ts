import { NibbleError } from '@nibble/ir';
import type { OptionText } from './options';

/**
 * Pipeline text, MLIR style:
 *
 *   pipeline := pass (',' pass)*            (or nothing: the empty pipeline)
 *   pass     := NAME ('{' [option (',' option)*] '}')?
 *   option   := NAME '=' value
 *   value    := scalar | '[' [scalar (',' scalar)*] ']'      (lists do not nest)
 *   scalar   := "double-quoted, \" and \\ escaped" | bare text without , { } [ ] = "
 *
 * Whitespace around every token is ignored. The spec keeps values as text;
 * resolving against the registry gives them types. printPipeline writes the
 * canonical form: no spaces, quotes only where needed, so print(parse(s)) === s
 * for canonical s.
 */
export interface OptionSpec {
  key: string;
  value: OptionText;
  /** 1-based column of the key in the source text, when parsed from text. */
  column?: number;
}

export interface PassSpec {
  name: string;
  options: OptionSpec[];
  /** 1-based column of the name in the source text, when parsed from text. */
  column?: number;
}

export interface PipelineSpec {
  passes: PassSpec[];
  /** The text this spec was parsed from (for carets in later errors). */
  source?: string;
}

/** The caret picture used by every pipeline error: the text, then ^ under the column. */
export function caretLine(text: string, column: number): string {
  return `  ${text}\n  ${' '.repeat(Math.max(0, column - 1))}^`;
}

export class PipelineSyntaxError extends NibbleError {
  /** 1-based column of the offending character. */
  readonly column: number;
  readonly text: string;

  constructor(text: string, column: number, what: string) {
    super('E_PIPELINE_SYNTAX', `pipeline text, column ${column}: ${what}\n${caretLine(text, column)}`, {
      hint: "a pipeline is pass names separated by commas, options in braces: fold-bn,clip-aciq{dist=laplace,bits=[4,8]}; quote values holding , { } [ ] = or spaces with \"...\"",
    });
    this.name = 'NibbleError';
    this.column = column;
    this.text = text;
  }
}

const NAME_START = /[A-Za-z_]/;
const NAME_CHAR = /[A-Za-z0-9_.-]/;
const SPECIAL = new Set([',', '{', '}', '[', ']', '=', '"']);

class Parser {
  private pos = 0;

  constructor(private readonly text: string) {}

  parse(): PipelineSpec {
    const passes: PassSpec[] = [];
    this.skipSpace();
    if (this.atEnd()) return { passes, source: this.text };
    for (;;) {
      passes.push(this.passSpec());
      this.skipSpace();
      if (this.atEnd()) break;
      this.expect(',', "',' between passes or the end of the pipeline");
      this.skipSpace();
      if (this.atEnd()) throw this.error('expected a pass name after the comma');
    }
    return { passes, source: this.text };
  }

  private passSpec(): PassSpec {
    const column = this.pos + 1;
    const name = this.name('a pass name');
    const options: OptionSpec[] = [];
    this.skipSpace();
    if (this.peek() !== '{') return { name, options, column };
    this.pos++;
    this.skipSpace();
    if (this.peek() === '}') {
      this.pos++;
      return { name, options, column };
    }
    for (;;) {
      this.skipSpace();
      const keyColumn = this.pos + 1;
      const key = this.name('an option name');
      if (options.some((o) => o.key === key)) {
        this.pos = keyColumn - 1;
        throw this.error(`option '${key}' of pass '${name}' is given twice`);
      }
      this.skipSpace();
      this.expect('=', `'=' after option name '${key}'`);
      this.skipSpace();
      const value = this.peek() === '[' ? this.list() : this.scalar();
      options.push({ key, value, column: keyColumn });
      this.skipSpace();
      if (this.peek() === ',') {
        this.pos++;
        continue;
      }
      this.expect('}', `',' or '}' after the value of option '${key}'`);
      return { name, options, column };
    }
  }

  private list(): string[] {
    this.pos++; // '['
    const items: string[] = [];
    this.skipSpace();
    if (this.peek() === ']') {
      this.pos++;
      return items;
    }
    for (;;) {
      this.skipSpace();
      // No option type holds lists of lists; say so rather than "expected a value".
      if (this.peek() === '[') throw this.error('a list cannot hold a list; quote an item holding [ or ] with "..."');
      items.push(this.scalar());
      this.skipSpace();
      if (this.peek() === ',') {
        this.pos++;
        continue;
      }
      this.expect(']', "',' or ']' in a list");
      return items;
    }
  }

  private scalar(): string {
    if (this.peek() === '"') return this.quoted();
    const start = this.pos;
    while (!this.atEnd() && !SPECIAL.has(this.peek())) this.pos++;
    const value = this.text.slice(start, this.pos).trim();
    if (value === '') {
      this.pos = start;
      throw this.error(this.atEnd() ? 'expected a value, found the end of the text' : `expected a value, found '${this.peek()}'`);
    }
    return value;
  }

  private quoted(): string {
    const open = this.pos;
    this.pos++;
    let out = '';
    while (!this.atEnd()) {
      const c = this.text[this.pos++];
      if (c === '"') return out;
      if (c === '\\') {
        const next = this.text[this.pos];
        if (next !== '"' && next !== '\\') {
          throw this.error(`unknown escape '\\${next ?? ''}' in a quoted value (only \\" and \\\\ are escapes)`);
        }
        out += next;
        this.pos++;
      } else {
        out += c;
      }
    }
    this.pos = open;
    throw this.error('this quoted value has no closing "');
  }

  private name(what: string): string {
    const start = this.pos;
    if (this.atEnd() || !NAME_START.test(this.peek())) {
      throw this.error(this.atEnd() ? `expected ${what}, found the end of the text` : `expected ${what}, found '${this.peek()}'`);
    }
    while (!this.atEnd() && NAME_CHAR.test(this.peek())) this.pos++;
    return this.text.slice(start, this.pos);
  }

  private expect(c: string, what: string): void {
    if (this.peek() !== c) {
      throw this.error(this.atEnd() ? `expected ${what}, found the end of the text` : `expected ${what}, found '${this.peek()}'`);
    }
    this.pos++;
  }

  private skipSpace(): void {
    while (!this.atEnd() && /\s/.test(this.peek())) this.pos++;
  }

  private peek(): string {
    return this.text[this.pos] ?? '';
  }

  private atEnd(): boolean {
    return this.pos >= this.text.length;
  }

  private error(what: string): PipelineSyntaxError {
    return new PipelineSyntaxError(this.text, this.pos + 1, what);
  }
}

/** Parse pipeline text; throws PipelineSyntaxError (code E_PIPELINE_SYNTAX) with a column and caret. */
export function parsePipeline(text: string): PipelineSpec {
  // Newlines and tabs would break the caret picture; they are whitespace anyway.
  return new Parser(text.replace(/[\t\r\n]/g, ' ')).parse();
}

function needsQuotes(value: string): boolean {
  if (value === '') return true;
  for (const c of value) if (SPECIAL.has(c) || /\s/.test(c)) return true;
  return false;
}

export function printScalar(value: string): string {
  return needsQuotes(value) ? `"${value.replace(/[\\"]/g, (c) => `\\${c}`)}"` : value;
}

export function printOptionValue(value: OptionText): string {
  return typeof value === 'string' ? printScalar(value) : `[${value.map(printScalar).join(',')}]`;
}

export function printPassSpec(pass: PassSpec): string {
  if (pass.options.length === 0) return pass.name;
  return `${pass.name}{${pass.options.map((o) => `${o.key}=${printOptionValue(o.value)}`).join(',')}}`;
}

/** Canonical text of a spec. */
export function printPipeline(spec: PipelineSpec): string {
  return spec.passes.map(printPassSpec).join(',');
}
