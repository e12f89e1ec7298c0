import { NibbleError } from '@nibble/ir';

/*
 * Node selections of quant-policy, given as string[] options (items quoted
 * only when they hold , { } [ ] = or spaces):
 *
 *   keep-float=[conv1,fc*]
 *   override=[conv1:w8,fc*:a8:w6]          (or ["conv1:w=8","fc*:a=8"])
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

/** [a, b*, c] -> patterns. An empty item would match no node, so it is an error (write [] for none). */
export function parsePatternList(items: readonly string[], pass: string, option: string): NodePattern[] {
  return items.map((item) => {
    if (item.trim() === '') {
      throw new NibbleError('E_BAD_OPTION', `pass '${pass}': option '${option}' holds an empty pattern`, {
        pass,
        option,
        hint: `list node-name globs, e.g. ${option}=[conv1,fc*]; write ${option}=[] for none`,
      });
    }
    return globPattern(item.trim());
  });
}

export interface Override {
  pattern: NodePattern;
  /** Weight bit-width for the matched layers' weights. */
  w?: number;
  /** Bit-width for the matched layers' outputs. */
  a?: number;
}

const SETTING = /^([wa])\s*=?\s*(\d+)$/;

/** [pattern:w8:a4, pattern2:a8] -> overrides, in order (a later match wins). */
export function parseOverrides(items: readonly string[], pass: string): Override[] {
  return items.map((item) => {
    const parts = item.split(':').map((s) => s.trim());
    const fail = (why: string) =>
      new NibbleError('E_BAD_OPTION', `pass '${pass}': override '${item}' ${why}`, {
        pass,
        option: 'override',
        hint: 'write a list of pattern:w<bits> and/or :a<bits> items, e.g. override=[conv1:w8,fc*:a8] (bits 1..8)',
      });
    // The former one-string spelling joined items with ';'; point at the list form.
    if (item.includes(';')) throw fail(`holds ';': give the items as a list, [${item.split(';').map((s) => s.trim()).filter((s) => s !== '').join(',')}]`);
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
