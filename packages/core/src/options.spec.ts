import { NibbleError } from '@nibble/ir';
import {
  checkOptionDecls, checkOptionValue, describeOption, formatOptionValue, type OptionDecl, optionTextName, type OptionValue, parseOptionText,
} from './options';
import { parsePipeline, printOptionValue } from './pipeline-text';
import { thrown } from './testing/tiny-graph';

const decls = {
  budget: { type: 'number', default: 4, min: 1, max: 8, description: 'mean bits per channel' },
  steps: { type: 'integer', default: 10, min: 1, description: 'search steps' },
  perChannel: { type: 'boolean', default: true, description: 'one scale per channel' },
  note: { type: 'string', description: 'free text' },
  dist: { type: 'enum', values: ['laplace', 'gauss'], default: 'laplace', description: 'prior' },
  bits: { type: 'integer[]', default: [4, 8], min: 2, max: 8, maxLength: 3, description: 'candidate widths' },
  ratios: { type: 'number[]', description: 'ratios' },
  names: { type: 'string[]', default: [], description: 'node globs' },
  pair: { type: 'string[]', minLength: 1, maxLength: 2, description: 'one or two names' },
} satisfies Record<string, OptionDecl>;

describe('option values from text', () => {
  const good: [keyof typeof decls, string | string[], unknown][] = [
    ['budget', '4', 4],
    ['budget', '3.5', 3.5],
    ['budget', '1e0', 1],
    ['budget', '+8', 8],
    ['steps', '12', 12],
    ['perChannel', 'true', true],
    ['perChannel', 'false', false],
    ['note', 'a, b', 'a, b'],
    ['dist', 'gauss', 'gauss'],
    ['bits', ['2', '4', '8'], [2, 4, 8]],
    ['bits', '4', [4]],
    ['ratios', [], []],
    ['ratios', ['-0.5', '1e-3'], [-0.5, 0.001]],
    ['names', [], []],
    ['names', ['conv1', 'fc*', 'a b', ''], ['conv1', 'fc*', 'a b', '']],
    // A bare scalar is a one-element list (MLIR's ListOption reads it so too).
    ['names', 'conv1', ['conv1']],
    ['names', '', ['']],
    ['pair', ['a', 'b'], ['a', 'b']],
  ];
  it.each(good)('%s = %j -> %j', (key, text, want) => {
    expect(parseOptionText('p', key, decls[key], text)).toEqual(want);
  });

  const bad: [keyof typeof decls, string | string[], RegExp][] = [
    ['budget', 'four', /'four' is not a number; allowed: a number in \[1, 8\]/],
    ['budget', '9', /'9' is above the maximum 8/],
    ['budget', '0.5', /below the minimum 1/],
    ['budget', 'NaN', /not a number/],
    ['budget', 'Infinity', /not a number/],
    ['budget', '1e999', /not a finite number/],
    ['budget', '0x10', /not a number/],
    ['budget', ['1', '2'], /is a list/],
    ['steps', '2.5', /not an integer; allowed: an integer >= 1/],
    ['steps', '0', /below the minimum 1/],
    ['perChannel', 'yes', /'yes' is not a boolean; allowed: true or false/],
    ['dist', 'normal', /'normal' is not an allowed value; allowed: one of laplace, gauss/],
    ['bits', ['4', '16'], /'16' is above the maximum 8/],
    ['bits', ['2', '3', '4', '5'], /more than 3 elements/],
    ['bits', ['4', 'x'], /'x' is not an integer/],
    ['note', ['a', 'b c'], /option 'note' = \[a,"b c"\] is a list; allowed: any text/],
    ['dist', ['laplace'], /is a list; allowed: one of laplace, gauss/],
    ['pair', [], /= \[\] has fewer than 1 elements; allowed: a list \[a,b,\.\.\.\] of text items \(1 to 2 elements\)/],
    ['pair', ['a', 'b', 'c,d'], /= \[a,b,"c,d"\] has more than 2 elements/],
  ];
  it.each(bad)('%s = %j is E_BAD_OPTION', (key, text, what) => {
    const e = thrown(() => parseOptionText('alloc-bits', key, decls[key], text));
    expect(e).toBeInstanceOf(NibbleError);
    expect(e.code).toBe('E_BAD_OPTION');
    expect(e.message).toMatch(/^pass 'alloc-bits': option '/);
    expect(e.message).toContain(`'${optionTextName(key)}'`);
    expect(e.message).toMatch(what);
    expect(e.place).toMatchObject({ pass: 'alloc-bits', option: optionTextName(key) });
  });

  it('checks typed values from code the same way', () => {
    expect(checkOptionValue('p', 'budget', decls.budget, 2)).toBe(2);
    expect(thrown(() => checkOptionValue('p', 'budget', decls.budget, '2')).code).toBe('E_BAD_OPTION');
    expect(thrown(() => checkOptionValue('p', 'dist', decls.dist, 'cauchy')).message).toMatch(/one of laplace, gauss/);
    expect(thrown(() => checkOptionValue('p', 'bits', decls.bits, [4, 4.5])).message).toMatch(/not an integer/);
    const given = ['a'];
    const kept = checkOptionValue('p', 'names', decls.names, given) as string[];
    given.push('b');
    expect(kept).toEqual(['a']);
    expect(Object.isFrozen(kept)).toBe(true);
    for (const bad of ['a', [1], ['a', null], { 0: 'a' }]) {
      const e = thrown(() => checkOptionValue('quant-policy', 'names', decls.names, bad));
      expect(e.code).toBe('E_BAD_OPTION');
      expect(e.place).toMatchObject({ pass: 'quant-policy', option: 'names' });
      expect(e.message).toMatch(/is not a list|holds a non-string/);
    }
    expect(thrown(() => checkOptionValue('p', 'pair', decls.pair, ['a', 'b', 'c'])).message).toMatch(/more than 2 elements/);
  });

  it('types string[] values as readonly string[]', () => {
    const v: OptionValue<typeof decls.names> = ['x'];
    const w: OptionValue<typeof decls.pair> = undefined;
    // @ts-expect-error numbers are not text items
    const bad: OptionValue<typeof decls.names> = [1];
    expect([v, w, bad]).toHaveLength(3);
  });

  // print -> parse is exact, so a pipeline a report records reruns as it ran.
  const lists: string[][] = [
    [],
    [''],
    ['conv1'],
    ['conv*', 'fc?', 'layer.1/conv'],
    ['a,b', '{x}', '[y]', 'k=v', 'two words', ' lead', 'say "hi"', 'back\\slash', 'conv2:w=8'],
    ['', ''],
  ];
  it.each(lists)('string[] %j prints and parses back exactly', (...items) => {
    const text = printOptionValue(formatOptionValue(decls.names, items));
    const spec = parsePipeline(`p{names=${text}}`);
    expect(parseOptionText('p', 'names', decls.names, spec.passes[0].options[0].value)).toEqual(items);
  });

  it('checks string[] declarations once, at definition', () => {
    expect(() => checkOptionDecls('p', { l: { type: 'string[]', minLength: 3, maxLength: 1, description: 'l' } })).toThrow(/minLength 3 > maxLength 1/);
    expect(() => checkOptionDecls('p', { l: { type: 'string[]', default: ['a', 'b'], maxLength: 1, description: 'l' } })).toThrow(/default of option 'l' is invalid/);
    expect(() => checkOptionDecls('p', { l: { type: 'string[]', default: ['a'], maxLength: 1, description: 'l' } })).not.toThrow();
  });

  it('spells camelCase options in kebab-case and describes them', () => {
    expect(optionTextName('perChannel')).toBe('per-channel');
    expect(describeOption('budget', decls.budget)).toBe('budget (a number in [1, 8]; default 4): mean bits per channel');
    expect(describeOption('bits', decls.bits)).toBe('bits (a list [a,b,...] of integers in [2, 8] (0 to 3 elements); default [4,8]): candidate widths');
    expect(describeOption('names', decls.names)).toBe(
      'names (a list [a,b,...] of text items (quote an item with "..." if it holds , { } [ ] = or spaces); default []): node globs',
    );
    expect(describeOption('pair', decls.pair)).toBe(
      'pair (a list [a,b,...] of text items (1 to 2 elements) (quote an item with "..." if it holds , { } [ ] = or spaces); no default): one or two names',
    );
    expect(thrown(() => parseOptionText('p', 'pair', decls.pair, [])).hint).toBe('for example p{pair=[a,"b c"]}');
  });
});
