import { parsePipeline, printPipeline } from '@nibble/core';
import { resolvePipelineChoice } from 'nibble';
import { pipelineChoiceOf, ROW_NAMES, TABLE_ROWS, VARIANT_ROWS } from './config';

const expand = (recipe: string) => resolvePipelineChoice({ recipe }).text;
// Name and options only: positions in the text move when an option is added.
const passes = (text: string) => parsePipeline(text).passes.map((p) => ({ name: p.name, options: p.options.map((o) => [o.key, o.value]) }));

describe('variant rows of the accuracy benchmark', () => {
  it('each variant is its recipe with exactly one pass changed, and that pass parses with the new option', () => {
    for (const v of VARIANT_ROWS.filter((x) => !x.name.startsWith('nibble-'))) {
      const choice = pipelineChoiceOf(v.name, expand);
      expect('pipeline' in choice).toBe(true);
      const changed = passes((choice as { pipeline: string }).pipeline);
      const base = passes(expand(v.recipe));
      expect(changed.map((p) => p.name)).toEqual(base.map((p) => p.name));
      const differing = changed.filter((p, i) => JSON.stringify(p) !== JSON.stringify(base[i]));
      expect(differing).toHaveLength(1);
      expect(differing[0].name).toBe('clip-aciq');
      // The printed form is what the cache compares against: it must round-trip.
      const text = printPipeline(parsePipeline((choice as { pipeline: string }).pipeline));
      expect(printPipeline(parsePipeline(text))).toBe(text);
    }
  });

  it('nibble\'s clipping-only variants are their recipe without the error allocation, traded widths and gptq, nothing else changed', () => {
    for (const v of VARIANT_ROWS.filter((x) => x.name.startsWith('nibble-'))) {
      const text = (pipelineChoiceOf(v.name, expand) as { pipeline: string }).pipeline;
      const base = passes(expand(v.recipe));
      const changed = passes(text);
      expect(changed).toEqual(base.filter((p) => p.name !== 'alloc-bits' && p.name !== 'mixed-precision' && p.name !== 'gptq').map((p) => (p.name === 'clip-least-error' ? { ...p, options: [['clip-weight', '4']] } : p)));
      expect(printPipeline(parsePipeline(text))).toBe(text);
    }
  });

  it('a paper row stays the recipe itself, and every row has a distinct name', () => {
    for (const r of TABLE_ROWS) expect(pipelineChoiceOf(r.recipe, expand)).toEqual({ recipe: r.recipe });
    expect(new Set(ROW_NAMES).size).toBe(ROW_NAMES.length);
  });

  it('a variant whose replaced text is missing from the recipe fails loudly', () => {
    expect(() => pipelineChoiceOf(VARIANT_ROWS[0].name, () => 'fold-bn,quantize')).toThrow(/is not in/);
  });
});
