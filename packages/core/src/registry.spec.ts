import type { Graph } from '@nibble/ir';
import { definePass } from './pass';
import { parsePipeline } from './pipeline-text';
import { PassRegistry } from './registry';
import { invoke, printInvocations, resolvePipeline } from './resolve';
import { editDistance, nearestName } from './suggest';
import { thrown } from './testing/tiny-graph';

const run = (graph: Graph) => ({ graph, modified: false });
const foldBn = definePass({ name: 'fold-bn', summary: 'fold BatchNorm', run });
const clipAciq = definePass({
  name: 'clip-aciq',
  summary: 'ACIQ clipping',
  options: {
    dist: { type: 'enum', values: ['laplace', 'gauss'], default: 'laplace', description: 'prior' },
    target: { type: 'enum', values: ['weights', 'activations', 'both'], default: 'both', description: 'what to clip' },
  },
  run,
});
const allocBits = definePass({
  name: 'alloc-bits',
  summary: 'per-channel bit allocation',
  options: { budget: { type: 'number', default: 4, min: 1, max: 8, description: 'mean bits' } },
  run,
});

function registry(): PassRegistry {
  const r = new PassRegistry();
  for (const p of [foldBn, clipAciq, allocBits]) r.register(p);
  return r;
}

describe('pass registry', () => {
  it('lists passes sorted and finds them by name', () => {
    const r = registry();
    expect(r.names()).toEqual(['alloc-bits', 'clip-aciq', 'fold-bn']);
    expect(r.get('clip-aciq')).toBe(clipAciq);
    r.register(clipAciq); // the same object again is fine
    expect(r.names()).toHaveLength(3);
  });

  it('refuses a second pass under a taken name', () => {
    const r = registry();
    const e = thrown(() => r.register(definePass({ name: 'fold-bn', summary: 'other', run })));
    expect(e.code).toBe('E_INTERNAL');
    expect(e.message).toMatch(/two different passes are registered as 'fold-bn'/);
  });

  it('answers an unknown name with E_UNKNOWN_PASS, the nearest name and the list', () => {
    const e = thrown(() => registry().get('clip-acq'));
    expect(e.code).toBe('E_UNKNOWN_PASS');
    expect(e.message).toBe("unknown pass 'clip-acq'; did you mean 'clip-aciq'?\n  registered passes: alloc-bits, clip-aciq, fold-bn");
    expect(e.place.pass).toBe('clip-acq');
    const far = thrown(() => registry().get('quantize'));
    expect(far.message).not.toMatch(/did you mean/);
    expect(far.message).toMatch(/registered passes: alloc-bits, clip-aciq, fold-bn/);
  });

  it('measures edit distance', () => {
    expect(editDistance('kitten', 'sitting')).toBe(3);
    expect(editDistance('', 'abc')).toBe(3);
    expect(editDistance('fold-bn', 'fold-bn')).toBe(0);
    expect(nearestName('alloc-bit', ['alloc-bits', 'fold-bn'])).toBe('alloc-bits');
    expect(nearestName('zzz', ['alloc-bits', 'fold-bn'])).toBeUndefined();
  });
});

describe('resolvePipeline', () => {
  it('turns text into passes with typed options', () => {
    const inv = resolvePipeline('fold-bn, clip-aciq{dist=gauss}, alloc-bits{budget=3.5}', registry());
    expect(inv.map((i) => i.pass.name)).toEqual(['fold-bn', 'clip-aciq', 'alloc-bits']);
    expect(inv[1].options).toEqual({ dist: 'gauss', target: 'both' });
    expect(inv[2].options).toEqual({ budget: 3.5 });
    expect(printInvocations(inv)).toBe('fold-bn,clip-aciq{dist=gauss},alloc-bits{budget=3.5}');
    expect(printInvocations(inv, 'all')).toBe('fold-bn,clip-aciq{dist=gauss,target=both},alloc-bits{budget=3.5}');
  });

  it('accepts a parsed spec or invocations built in code', () => {
    const r = registry();
    expect(resolvePipeline(parsePipeline('fold-bn'), r)[0].pass).toBe(foldBn);
    const inv = [invoke(allocBits, { budget: 2 }), invoke(foldBn)];
    expect(printInvocations(resolvePipeline(inv, r))).toBe('alloc-bits{budget=2},fold-bn');
  });

  it('points at an unknown pass with its position, a caret and the list', () => {
    const e = thrown(() => resolvePipeline('fold-bn,clip-acq{dist=laplace}', registry()));
    expect(e.code).toBe('E_UNKNOWN_PASS');
    expect(e.message).toBe(
      [
        "unknown pass 'clip-acq' at position 2/2, column 9; did you mean 'clip-aciq'?",
        '  fold-bn,clip-acq{dist=laplace}',
        '          ^',
        '  registered passes: alloc-bits, clip-aciq, fold-bn',
      ].join('\n'),
    );
  });

  it('points at a bad option value and lists the allowed ones', () => {
    const e = thrown(() => resolvePipeline('fold-bn,clip-aciq{target=activations,dist=cauchy}', registry()));
    expect(e.code).toBe('E_BAD_OPTION');
    expect(e.place).toMatchObject({ pass: 'clip-aciq', option: 'dist' });
    const [first, text, caret] = e.message.split('\n');
    expect(first).toBe("pass 'clip-aciq': option 'dist' = 'cauchy' is not an allowed value; allowed: one of laplace, gauss (position 2/2)");
    expect(text).toBe('  fold-bn,clip-aciq{target=activations,dist=cauchy}');
    expect(caret.indexOf('^') - 2).toBe(text.indexOf('dist=') - 2);
    const e2 = thrown(() => resolvePipeline('alloc-bits{budjet=4}', registry()));
    expect(e2.message).toMatch(/^pass 'alloc-bits' has no option 'budjet' \(did you mean 'budget'\?\); its options: budget/);
  });
});
