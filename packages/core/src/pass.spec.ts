import type { Graph } from '@nibble/ir';
import { definePass, describePass } from './pass';
import { thrown } from './testing/tiny-graph';

type Equals<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
const assertType = <T extends true>(): T | undefined => undefined;

const clip = definePass({
  name: 'clip-test',
  summary: 'test clipping',
  options: {
    dist: { type: 'enum', values: ['laplace', 'gauss'], default: 'laplace', description: 'prior' },
    bits: { type: 'integer', default: 4, min: 1, max: 8, description: 'bit width' },
    perChannel: { type: 'boolean', default: false, description: 'per channel' },
    widths: { type: 'integer[]', default: [4, 8], description: 'widths' },
    note: { type: 'string', description: 'no default' },
  },
  run(graph, _ctx, opts) {
    // Compile-time checks: the declarations type `opts`.
    assertType<Equals<typeof opts.dist, 'laplace' | 'gauss'>>();
    assertType<Equals<typeof opts.bits, number>>();
    assertType<Equals<typeof opts.perChannel, boolean>>();
    assertType<Equals<typeof opts.widths, readonly number[]>>();
    assertType<Equals<typeof opts.note, string | undefined>>();
    // @ts-expect-error no such option
    void opts.budget;
    return { graph, modified: false };
  },
});

describe('definePass', () => {
  it('types options from their declarations and fills defaults', () => {
    const opts = clip.resolveOptions();
    expect(opts).toEqual({ dist: 'laplace', bits: 4, perChannel: false, widths: [4, 8], note: undefined });
    const given = clip.resolveOptions({ dist: 'gauss', widths: [2] });
    assertType<Equals<typeof given.dist, 'laplace' | 'gauss'>>();
    expect(given.dist).toBe('gauss');
    expect(given.widths).toEqual([2]);
    // @ts-expect-error not an allowed enum value
    expect(thrown(() => clip.resolveOptions({ dist: 'cauchy' })).code).toBe('E_BAD_OPTION');
  });

  it('parses text options by their kebab-case names', () => {
    const opts = clip.parseOptions([{ key: 'per-channel', value: 'true' }, { key: 'widths', value: ['2', '3'] }, { key: 'note', value: 'x,y' }]);
    expect(opts).toEqual({ dist: 'laplace', bits: 4, perChannel: true, widths: [2, 3], note: 'x,y' });
  });

  it('names an unknown option, suggests the nearest and lists all', () => {
    const e = thrown(() => clip.parseOptions([{ key: 'perChannel', value: 'true' }]));
    expect(e.code).toBe('E_BAD_OPTION');
    expect(e.message).toBe("pass 'clip-test' has no option 'perChannel' (did you mean 'per-channel'?); its options: dist, bits, per-channel, widths, note");
    expect(e.hint).toContain('dist (one of laplace, gauss; default laplace): prior');
    const e2 = thrown(() => clip.parseOptions([{ key: 'bitz', value: '4' }]));
    expect(e2.message).toContain("(did you mean 'bits'?)");
  });

  it('formats an invocation back to canonical text', () => {
    const opts = clip.resolveOptions({ dist: 'gauss', bits: 4 });
    expect(clip.format(opts)).toBe('clip-test{dist=gauss}');
    expect(clip.format(opts, 'all')).toBe('clip-test{dist=gauss,bits=4,per-channel=false,widths=[4,8]}');
    expect(clip.format(clip.resolveOptions({ note: 'a b' }))).toBe('clip-test{note="a b"}');
    // Written-out options parse back to the same values.
    const back = clip.parseOptions(clip.toSpec(opts, 'all').options);
    expect(back).toEqual(opts);
  });

  it('describes itself for help listings', () => {
    expect(describePass(clip)).toBe(
      [
        'clip-test: test clipping',
        '',
        '  options:',
        '    dist (one of laplace, gauss; default laplace): prior',
        '    bits (an integer in [1, 8]; default 4): bit width',
        '    per-channel (true or false; default false): per channel',
        '    widths (a list [a,b,...] of integers; default [4,8]): widths',
        '    note (any text (quote it with "..." if it holds , { } [ ] = or spaces); no default): no default',
      ].join('\n'),
    );
  });

  it('takes no options when none are declared', () => {
    const p = definePass({ name: 'noop', summary: 'nothing', run: (graph: Graph) => ({ graph, modified: false }) });
    expect(p.resolveOptions()).toEqual({});
    expect(thrown(() => p.parseOptions([{ key: 'x', value: '1' }])).message).toMatch(/has no option 'x'; it takes no options/);
  });

  it('rejects bad declarations where they are written', () => {
    const run = (graph: Graph) => ({ graph, modified: false });
    expect(thrown(() => definePass({ name: 'NotKebab', summary: 's', run })).message).toMatch(/kebab-case/);
    expect(thrown(() => definePass({ name: 'a-', summary: 's', run })).code).toBe('E_INTERNAL');
    expect(thrown(() => definePass({ name: 'a', summary: ' ', run })).message).toMatch(/summary/);
    expect(thrown(() => definePass({ name: 'a', summary: 's', options: { b: { type: 'integer', default: 2.5, description: '' } }, run })).message).toMatch(
      /default of option 'b' is invalid/,
    );
    expect(thrown(() => definePass({ name: 'a', summary: 's', options: { b: { type: 'number', min: 2, max: 1, description: '' } }, run })).message).toMatch(/min 2 > max 1/);
    expect(thrown(() => definePass({ name: 'a', summary: 's', options: { 'b-c': { type: 'number', description: '' } }, run })).message).toMatch(/camelCase/);
    expect(thrown(() => definePass({ name: 'a', summary: 's', options: { e: { type: 'enum', values: [], description: '' } }, run })).message).toMatch(/distinct, non-empty/);
  });
});
