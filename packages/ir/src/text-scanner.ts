import { NibbleError } from './errors';

/*
 * The character-level reader under parser.ts: whitespace and `//` comments,
 * names, quoted strings, numbers, and errors that carry file:line:column.
 */

const NAME_CHAR = /[A-Za-z0-9_.\-/]/;
const IDENT_AT = /[A-Za-z_][A-Za-z0-9_]*/y;
const NUMBER_AT = /-?(?:inf|nan|(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?)/y;

export class Scanner {
  pos = 0;
  constructor(readonly text: string, readonly file: string | undefined) {}

  error(message: string, at = this.pos, hint?: string): NibbleError {
    const before = this.text.slice(0, at);
    const line = before.split('\n').length;
    const col = at - before.lastIndexOf('\n');
    return new NibbleError('E_FILE_FORMAT', `${this.file ?? '<ir>'}:${line}:${col}: ${message}`, {
      file: this.file,
      hint: hint ?? 'the text does not follow the IR format described in packages/ir/src/printer.ts',
    });
  }

  skip(): void {
    for (;;) {
      while (this.pos < this.text.length && ' \t\r\n'.includes(this.text[this.pos])) this.pos++;
      if (!this.text.startsWith('//', this.pos)) return;
      while (this.pos < this.text.length && this.text[this.pos] !== '\n') this.pos++;
    }
  }

  peek(): string {
    this.skip();
    return this.text[this.pos] ?? '';
  }

  eat(s: string): boolean {
    this.skip();
    if (!this.text.startsWith(s, this.pos)) return false;
    this.pos += s.length;
    return true;
  }

  expect(s: string, what = `'${s}'`): void {
    if (!this.eat(s)) throw this.error(`expected ${what}, found ${this.describeHere()}`);
  }

  /** A keyword: `s` not followed by an identifier character. */
  eatWord(s: string): boolean {
    this.skip();
    if (!this.text.startsWith(s, this.pos) || /[A-Za-z0-9_]/.test(this.text[this.pos + s.length] ?? '')) return false;
    this.pos += s.length;
    return true;
  }

  describeHere(): string {
    if (this.pos >= this.text.length) return 'the end of the text';
    return `'${this.text.slice(this.pos, this.pos + 12).split('\n')[0]}'`;
  }

  match(re: RegExp, what: string): string {
    this.skip();
    re.lastIndex = this.pos;
    const m = re.exec(this.text);
    if (!m) throw this.error(`expected ${what}, found ${this.describeHere()}`);
    this.pos += m[0].length;
    return m[0];
  }

  ident(what = 'a name'): string {
    return this.match(IDENT_AT, what);
  }

  string(): string {
    this.expect('"', 'a quoted string');
    const start = this.pos - 1;
    let out = '';
    for (;;) {
      const c = this.text[this.pos++];
      if (c === undefined || c === '\n') throw this.error('unterminated string', start);
      if (c === '"') return out;
      if (c !== '\\') {
        out += c;
        continue;
      }
      const e = this.text[this.pos++];
      const simple: Record<string, string> = { n: '\n', r: '\r', t: '\t', '\\': '\\', '"': '"' };
      if (e in simple) out += simple[e];
      else if (e === 'u' && /^[0-9a-fA-F]{4}$/.test(this.text.slice(this.pos, this.pos + 4))) {
        out += String.fromCharCode(parseInt(this.text.slice(this.pos, this.pos + 4), 16));
        this.pos += 4;
      } else throw this.error(`unknown escape '\\${e ?? ''}'`, this.pos - 2);
    }
  }

  /** A value or node name: bare characters or a quoted string. */
  name(): string {
    if (this.peek() === '"') return this.string();
    const start = this.pos;
    while (this.pos < this.text.length && NAME_CHAR.test(this.text[this.pos])) this.pos++;
    if (this.pos === start) throw this.error(`expected a name, found ${this.describeHere()}`);
    return this.text.slice(start, this.pos);
  }

  number(): { text: string; at: number; isFloat: boolean } {
    this.skip();
    const at = this.pos;
    const text = this.match(NUMBER_AT, 'a number');
    return { text, at, isFloat: /[.eEn]/.test(text) };
  }

  integer(what = 'an integer'): number {
    const n = this.number();
    if (n.isFloat) throw this.error(`expected ${what}, found '${n.text}'`, n.at);
    return Number(n.text);
  }

  /** `[item, item, ...]`, possibly empty. */
  list<T>(item: () => T): T[] {
    this.expect('[');
    const out: T[] = [];
    if (this.eat(']')) return out;
    do out.push(item()); while (this.eat(','));
    this.expect(']', "',' or ']'");
    return out;
  }
}
