import { describePass, getPass, listPasses } from 'nibble';
import { cli } from '../testing/run-cli';

describe('nibble passes', () => {
  it('lists every registered pass with its summary, one line each', async () => {
    const r = await cli('passes');
    expect(r.code).toBe(0);
    const registered = listPasses();
    // Importing the facade registers the pass packages; an empty registry would make the rest vacuous.
    expect(registered.map((p) => p.name)).toEqual(expect.arrayContaining(['clip-aciq', 'fold-bn', 'quantize']));
    const lines = r.out.split('\n');
    for (const p of registered) {
      expect(lines.some((l) => l.startsWith(`${p.name} `) && l.trimEnd().endsWith(p.summary))).toBe(true);
    }
    expect(lines.filter((l) => /^[a-z][a-z0-9-]*  +\S/.test(l))).toHaveLength(registered.length);
  });

  it('--json gives every registered pass with its declared options', async () => {
    const r = await cli('passes', '--json');
    expect(r.code).toBe(0);
    const passes = JSON.parse(r.out) as { name: string; summary: string; description: string | null; options: Record<string, unknown>[] }[];
    expect(passes.map((p) => p.name)).toEqual(listPasses().map((p) => p.name));
    for (const p of passes) {
      const pass = getPass(p.name);
      expect(p.summary).toBe(pass.summary);
      expect(p.options).toHaveLength(Object.keys(pass.options).length);
    }
    const aciq = passes.find((p) => p.name === 'clip-aciq')!;
    expect(aciq.description).toContain('dist=auto');
    expect(aciq.options).toContainEqual({
      name: 'dist',
      type: 'enum',
      default: 'laplace',
      description: expect.any(String),
      choices: ['laplace', 'gauss', 'auto'],
    });
    // camelCase declarations are listed by the kebab-case name written in pipelines.
    expect(aciq.options).toContainEqual(expect.objectContaining({ name: 'cap-observed', type: 'boolean', default: false }));
  });

  it('shows one pass: its help text, or its data with --json', async () => {
    const text = await cli('passes', 'clip-aciq');
    expect(text.code).toBe(0);
    expect(text.out.trimEnd()).toBe(describePass(getPass('clip-aciq')));
    expect(text.out).toContain('dist (one of laplace, gauss, auto; default laplace)');
    const json = await cli('passes', 'clip-aciq', '--json');
    expect(json.code).toBe(0);
    const info = JSON.parse(json.out);
    expect(info.name).toBe('clip-aciq');
    expect(info.options.find((o: { name: string }) => o.name === 'dist').choices).toEqual(['laplace', 'gauss', 'auto']);
  });

  it('an unknown pass: exit 2, the nearest name suggested, no stack', async () => {
    const r = await cli('passes', 'clip-aciqq');
    expect(r.code).toBe(2);
    expect(r.out).toBe('');
    expect(r.err).toContain("unknown pass 'clip-aciqq'");
    expect(r.err).toContain("did you mean 'clip-aciq'?");
    expect(r.err).not.toMatch(/\n\s+at /);
    const j = await cli('passes', 'clip-aciqq', '--json');
    expect(j.code).toBe(2);
    expect(JSON.parse(j.err).error.code).toBe('E_UNKNOWN_PASS');
  });

  it('more than one pass name is a usage error', async () => {
    const r = await cli('passes', 'clip-aciq', 'fold-bn');
    expect(r.code).toBe(2);
    expect(r.err).toContain('usage: nibble passes');
  });
});
