import { defineRecipe, getRecipe, listRecipes, RecipeRegistry } from './recipes';
import { thrown } from './testing/tiny-graph';

describe('recipes', () => {
  it('define, find by name or alias, list sorted, expand to canonical text', () => {
    const r = new RecipeRegistry();
    const paper = r.define({
      name: 'paper-w4a4',
      summary: 'ACIQ + per-channel bits + bias correction',
      pipeline: 'fold-bn, clip-aciq{dist=laplace}, alloc-bits{budget=4}, quantize, bias-correct',
      aliases: ['banner-w4a4'],
    });
    r.define({ name: 'naive-w4a4', summary: 'min/max 4 bits', pipeline: 'clip-minmax,quantize' });
    expect(paper.pipeline).toBe('fold-bn,clip-aciq{dist=laplace},alloc-bits{budget=4},quantize,bias-correct');
    expect(paper.spec.passes.map((p) => p.name)).toEqual(['fold-bn', 'clip-aciq', 'alloc-bits', 'quantize', 'bias-correct']);
    expect(r.get('banner-w4a4')).toBe(paper);
    expect(r.list().map((x) => x.name)).toEqual(['naive-w4a4', 'paper-w4a4']);
    // Defining the same recipe again (a module loaded twice) is harmless.
    expect(r.define({ name: 'naive-w4a4', summary: 'min/max 4 bits', pipeline: 'clip-minmax, quantize' }).name).toBe('naive-w4a4');
  });

  it('rejects taken names, bad names and pipeline syntax errors when defined', () => {
    const r = new RecipeRegistry();
    r.define({ name: 'a', summary: 's', pipeline: 'x', aliases: ['b'] });
    expect(thrown(() => r.define({ name: 'b', summary: 's', pipeline: 'y' })).message).toBe("recipe name 'b' is already taken by recipe 'a'");
    expect(thrown(() => r.define({ name: 'a', summary: 'other', pipeline: 'y' })).code).toBe('E_INTERNAL');
    expect(thrown(() => r.define({ name: 'Bad', summary: 's', pipeline: 'x' })).message).toMatch(/kebab-case/);
    const e = thrown(() => r.define({ name: 'c', summary: 's', pipeline: 'x,,y' }));
    expect(e.code).toBe('E_PIPELINE_SYNTAX');
    expect(e.message).toMatch(/^recipe 'c': pipeline text, column 3/);
  });

  it('answers an unknown recipe with the nearest and the list', () => {
    const r = new RecipeRegistry();
    r.define({ name: 'paper-w4a4', summary: 's', pipeline: 'x' });
    r.define({ name: 'naive-w4a4', summary: 's', pipeline: 'x' });
    const e = thrown(() => r.get('paper-w4a8'));
    expect(e.code).toBe('E_BAD_OPTION');
    expect(e.message).toBe("unknown recipe 'paper-w4a8'; did you mean 'paper-w4a4'?\n  recipes: naive-w4a4, paper-w4a4");
  });

  it('has a global registry behind defineRecipe/getRecipe/listRecipes', () => {
    const before = listRecipes().length;
    const r = defineRecipe({ name: 'core-spec-recipe', summary: 'test', pipeline: 'a{k=[1,2]}' });
    expect(getRecipe('core-spec-recipe')).toBe(r);
    expect(listRecipes()).toHaveLength(before + 1);
  });
});
