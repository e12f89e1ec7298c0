import { NibbleError } from '@nibble/ir';

/*
 * Node selections of quant-policy. Pass options carry scalars or number
 * lists only, so a list of names is one string with ';' between items
 * (';' and '*' need no quoting in pipeline text):
 *
 *   keep-float=conv1;fc*
 *   override=conv1:w8;fc*:a8:w6          (or, quoted, "conv1:w=8;fc*:a=8")
 *
 * A pattern is a glob over the node name or its first output's name: '*'
 * any run of characters, '?' one character, everything else literal.
 */

export interface NodePattern {
  text: string;
  test(name: string): boolean;
}

export function globPattern(text: string): NodePattern {
  const source = text.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.');
  const re = new RegExp(`^${source}$`, 's');
  return { text, test: (name) => re.test(name) };
}

function items(text: string): string[] {
  return text.split(';').map((s) => s.trim()).filter((s) => s.length > 0);
}

/** `a;b*;c` -> patterns; empty items are ignored. */
export function parsePatternList(text: string): NodePattern[] {
  return items(text).map(globPattern);
}

export interface Override {
  pattern: NodePattern;
  /** Weight bit-width for the matched layers' weights. */
  w?: number;
  /** Bit-width for the matched layers' outputs. */
  a?: number;
}

const SETTING = /^([wa])\s*=?\s*(\d+)$/;

/** `pattern:w8:a4;pattern2:a8` -> overrides, in order (a later match wins). */
export function parseOverrides(text: string, pass: string): Override[] {
  return items(text).map((item) => {
    const parts = item.split(':').map((s) => s.trim());
    const fail = (why: string) =>
      new NibbleError('E_BAD_OPTION', `pass '${pass}': override '${item}' ${why}`, {
        pass,
        option: 'override',
        hint: 'write pattern:w<bits> and/or :a<bits>, items separated by ;, e.g. override=conv1:w8;fc*:a8 (bits 1..8)',
      });
    if (parts.length < 2 || parts[0] === '') throw fail('needs a node pattern and at least one setting');
    const o: Override = { pattern: globPattern(parts[0]) };
    for (const s of parts.slice(1)) {
      const m = SETTING.exec(s);
      if (!m) throw fail(`has the setting '${s}', not w<bits> or a<bits>`);
      const bits = Number(m[2]);
      if (bits < 1 || bits > 8) throw fail(`sets ${bits} bits; allowed 1..8`);
      if (o[m[1] as 'w' | 'a'] !== undefined) throw fail(`sets '${m[1]}' twice`);
      o[m[1] as 'w' | 'a'] = bits;
    }
    return o;
  });
}
