import { defaultPassRegistry, getRecipe, parsePipeline, printPipeline, resolvePipeline } from '@nibble/core';
import { NIBBLE_RECIPE_NAMES, RECIPE_NAMES, RECIPES, recipesInOrder, VLC_RECIPE_NAMES } from './recipes';

const C = 'fold-bn,fold-constants,eliminate-dead-code,mark-fused-relu,';

/** The paper's recipes as they expanded before nibble's own were added: they must never change. */
const PAPER_PIPELINES: Record<string, string> = {
  'w8a4-baseline': C + 'quant-policy{w-bits=8,a-bits=4},clip-minmax,quantize',
  'w8a4-aciq': C + 'quant-policy{w-bits=8,a-bits=4},clip-minmax{target=weights},clip-aciq{dist=laplace},quantize',
  'w8a4-alloc': C + 'quant-policy{w-bits=8,a-bits=4},clip-minmax,alloc-bits{target=activations,budget=4},quantize',
  'w8a4-aciq-alloc': C + 'quant-policy{w-bits=8,a-bits=4},clip-minmax{target=weights},clip-aciq{dist=laplace},alloc-bits{target=activations,budget=4},quantize',
  'w4a8-baseline': C + 'quant-policy{w-bits=4,a-bits=8},clip-minmax,quantize',
  'w4a8-biascorr': C + 'quant-policy{w-bits=4,a-bits=8},clip-minmax,quantize,bias-correct{mode=mean}',
  'w4a8-alloc': C + 'quant-policy{w-bits=4,a-bits=8},clip-minmax,alloc-bits{target=weights,budget=4},quantize',
  'w4a8-biascorr-alloc': C + 'quant-policy{w-bits=4,a-bits=8},clip-minmax,alloc-bits{target=weights,budget=4},quantize,bias-correct{mode=mean}',
  'w4a4-baseline': C + 'quant-policy{w-bits=4,a-bits=4},clip-minmax,quantize',
  'w4a4-all': C + 'quant-policy{w-bits=4,a-bits=4},clip-minmax{target=weights},clip-aciq{dist=laplace},alloc-bits{target=weights,budget=4},alloc-bits{target=activations,budget=4},quantize,bias-correct{mode=mean}',
  'w4a4-percentile': C + 'quant-policy{w-bits=4,a-bits=4},clip-minmax{target=weights},clip-percentile,alloc-bits{target=weights,budget=4},alloc-bits{target=activations,budget=4},quantize,bias-correct{mode=mean}',
  'w4a4-kl': C + 'quant-policy{w-bits=4,a-bits=4},clip-minmax{target=weights},clip-kl,alloc-bits{target=weights,budget=4},alloc-bits{target=activations,budget=4},quantize,bias-correct{mode=mean}',
  'w4a4-mse': C + 'quant-policy{w-bits=4,a-bits=4},clip-minmax{target=weights},clip-mse,alloc-bits{target=weights,budget=4},alloc-bits{target=activations,budget=4},quantize,bias-correct{mode=mean}',
  'w3a3-baseline': C + 'quant-policy{w-bits=3,a-bits=3},clip-minmax,quantize',
  'w3a3-all': C + 'quant-policy{w-bits=3,a-bits=3},clip-minmax{target=weights},clip-aciq{dist=laplace},alloc-bits{target=weights,budget=3},alloc-bits{target=activations,budget=3},quantize,bias-correct{mode=mean}',
};

const EXPECTED = [
  'w8a4-baseline', 'w8a4-aciq', 'w8a4-alloc', 'w8a4-aciq-alloc', 'w4a8-baseline', 'w4a8-biascorr', 'w4a8-alloc', 'w4a8-biascorr-alloc',
  'w4a4-baseline', 'w4a4-all', 'w4a4-percentile', 'w4a4-kl', 'w4a4-mse', 'w3a3-baseline', 'w3a3-all',
];

describe('recipes', () => {
  it('the paper\'s expand exactly as they always did', () => {
    for (const [name, pipeline] of Object.entries(PAPER_PIPELINES)) expect(getRecipe(name).pipeline).toBe(pipeline);
    expect(Object.keys(PAPER_PIPELINES)).toEqual(EXPECTED);
  });

  it('nibble\'s own follow the paper\'s, at the four settings: least-error clipping, error-driven allocation and (below 8 bits) traded widths of activations, GPTQ codes at W3A3 and W4A8, bias correction', () => {
    expect(NIBBLE_RECIPE_NAMES).toEqual(['nibble-w4a4', 'nibble-w3a3', 'nibble-w4a8', 'nibble-w8a4']);
    expect(recipesInOrder().map((r) => r.name).slice(EXPECTED.length, EXPECTED.length + 4)).toEqual(NIBBLE_RECIPE_NAMES);
    for (const name of NIBBLE_RECIPE_NAMES) {
      const [, w, a] = /^nibble-w(\d)a(\d)$/.exec(name)!;
      const r = getRecipe(name);
      // W3A3 trades activation widths up to 4 bits (more raises at the same mean); W3A3 and W4A8 take GPTQ codes (docs/accuracy.md, "GPTQ").
      const upTo = name === 'nibble-w3a3' ? ',high-bits=4' : '';
      const trade = Number(a) < 8 ? `mixed-precision{target=activations,low-bits=${Number(a) - 1}${upTo}},` : '';
      const gptq = name === 'nibble-w3a3' || name === 'nibble-w4a8' ? 'gptq,' : '';
      expect(r.pipeline).toBe(`${C}quant-policy{w-bits=${w},a-bits=${a}},clip-minmax{target=weights},clip-least-error{clip-weight=4,curves=true},alloc-bits{target=activations,by=error,budget=${a}},${trade}quantize,${gptq}bias-correct{mode=mean}`);
      expect(resolvePipeline(r.pipeline, defaultPassRegistry).map((inv) => inv.pass.name)).toContain('clip-least-error');
    }
  });

  it('the variable-length variants are the paper\'s all methods with alloc-bins in place of alloc-bits, after nibble\'s', () => {
    expect(VLC_RECIPE_NAMES).toEqual(['w4a4-vlc', 'w3a3-vlc']);
    const n = EXPECTED.length + NIBBLE_RECIPE_NAMES.length;
    expect(recipesInOrder().map((r) => r.name).slice(n, n + 2)).toEqual(VLC_RECIPE_NAMES);
    expect(getRecipe('w4a4-vlc').pipeline).toBe(PAPER_PIPELINES['w4a4-all'].replace(/alloc-bits/g, 'alloc-bins'));
    expect(getRecipe('w3a3-vlc').pipeline).toBe(PAPER_PIPELINES['w3a3-all'].replace(/alloc-bits/g, 'alloc-bins'));
    for (const name of VLC_RECIPE_NAMES) {
      const r = getRecipe(name);
      expect(printPipeline(parsePipeline(r.pipeline))).toBe(r.pipeline);
      const passes = resolvePipeline(r.pipeline, defaultPassRegistry).map((inv) => inv.pass.name);
      expect(passes.filter((p) => p === 'alloc-bins')).toHaveLength(2);
      expect(passes).not.toContain('alloc-bits');
      expect(passes.indexOf('quantize')).toBeGreaterThan(passes.lastIndexOf('alloc-bins'));
    }
  });

  it('are exactly the paper\'s settings and the peers, in the order of its table', () => {
    expect(RECIPE_NAMES).toEqual(EXPECTED);
    expect(recipesInOrder().map((r) => r.name).slice(0, EXPECTED.length)).toEqual(EXPECTED);
    expect(getRecipe('paper-w4a4')).toBe(getRecipe('w4a4-all'));
  });

  it.each(EXPECTED)('%s resolves against the registered passes, and its text round-trips', (name) => {
    const r = getRecipe(name);
    expect(printPipeline(parsePipeline(r.pipeline))).toBe(r.pipeline);
    const passes = resolvePipeline(r.pipeline, defaultPassRegistry).map((inv) => inv.pass.name);
    expect(passes.slice(0, 5)).toEqual(['fold-bn', 'fold-constants', 'eliminate-dead-code', 'mark-fused-relu', 'quant-policy']);
    expect(passes).toContain('quantize');
    const lastRangePass = Math.max(...passes.map((p, i) => (p.startsWith('clip-') || p === 'alloc-bits' ? i : -1)));
    expect(passes.indexOf('quantize')).toBeGreaterThan(lastRangePass);
  });

  it('say what they do: the budgets and methods their names promise', () => {
    const text = (n: string) => getRecipe(n).pipeline;
    for (const r of RECIPES) {
      const [, w, a] = /^(?:nibble-)?w(\d)a(\d)/.exec(r.name)!;
      expect(r.pipeline).toContain(`quant-policy{w-bits=${w},a-bits=${a}}`);
    }
    expect(text('w4a4-baseline')).toMatch(/quant-policy\{[^}]*\},clip-minmax,quantize$/);
    expect(text('w8a4-aciq')).toContain('clip-aciq{dist=laplace}');
    expect(text('w8a4-alloc')).toContain('alloc-bits{target=activations,budget=4}');
    expect(text('w8a4-alloc')).not.toContain('target=weights,budget');
    expect(text('w4a8-biascorr')).toMatch(/,quantize,bias-correct\{mode=mean\}$/);
    expect(text('w4a8-alloc')).toContain('alloc-bits{target=weights,budget=4}');
    const all = text('w4a4-all');
    for (const part of ['clip-minmax{target=weights}', 'clip-aciq{dist=laplace}', 'alloc-bits{target=weights,budget=4}', 'alloc-bits{target=activations,budget=4}', 'bias-correct{mode=mean}']) {
      expect(all).toContain(part);
    }
    expect(text('w3a3-all')).toBe(all.replace(/budget=4/g, 'budget=3').replace('w-bits=4,a-bits=4', 'w-bits=3,a-bits=3'));
    for (const peer of ['percentile', 'kl', 'mse']) expect(text(`w4a4-${peer}`)).toBe(all.replace('clip-aciq{dist=laplace}', `clip-${peer}`));
  });
});
