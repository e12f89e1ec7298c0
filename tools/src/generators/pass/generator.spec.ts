import { type Tree } from '@nx/devkit';
import { createTreeWithEmptyWorkspace } from '@nx/devkit/testing';
import { addRegistration, passGenerator } from './generator';

function workspace(): Tree {
  const tree = createTreeWithEmptyWorkspace();
  tree.write('packages/pass-clipping/package.json', JSON.stringify({ name: '@nibble/pass-clipping' }));
  tree.write('packages/pass-clipping/project.json', JSON.stringify({ name: 'pass-clipping', tags: ['type:pass'] }));
  tree.write('packages/pass-clipping/src/index.ts', "export * from './math/aciq';\n");
  tree.write('packages/quant/package.json', JSON.stringify({ name: '@nibble/quant' }));
  tree.write('packages/quant/project.json', JSON.stringify({ name: 'quant', tags: ['type:quant'] }));
  return tree;
}

const failure = async (p: Promise<unknown>): Promise<string> => {
  try {
    await p;
  } catch (e) {
    return (e as Error).message;
  }
  throw new Error('expected the generator to fail');
};

describe('pass generator', () => {
  it('scaffolds the pass and its spec and registers it in the index', async () => {
    const tree = workspace();
    await passGenerator(tree, { name: 'clip-percentile', package: 'pass-clipping', summary: "clip at the 99.9th percentile (Migacz's choice)" });
    const pass = tree.read('packages/pass-clipping/src/clip-percentile.pass.ts', 'utf-8')!;
    const spec = tree.read('packages/pass-clipping/src/clip-percentile.pass.spec.ts', 'utf-8')!;
    expect(pass).toContain("import { definePass } from '@nibble/core';");
    expect(pass).toContain('export const clipPercentilePass = definePass({');
    expect(pass).toContain("name: 'clip-percentile',");
    expect(pass).toContain("summary: 'clip at the 99.9th percentile (Migacz\\'s choice)',");
    expect(pass).toMatch(/threshold: \{ type: 'number', default: 0\.5/);
    expect(pass).toContain('return { graph, modified: false };');
    expect(spec).toContain("import { createPassContext, getPass, resolvePipeline, runPipeline } from '@nibble/core';");
    expect(spec).toContain("import { clipPercentilePass } from './clip-percentile.pass';");
    expect(spec).toContain("expect(getPass('clip-percentile')).toBe(clipPercentilePass);");
    expect(spec).toContain("await runPipeline(tinyGraph(), 'clip-percentile', createPassContext(), { verifyEach: true });");
    expect(tree.read('packages/pass-clipping/src/index.ts', 'utf-8')).toBe(
      [
        "import { registerPass } from '@nibble/core';",
        "import { clipPercentilePass } from './clip-percentile.pass';",
        '',
        "export * from './math/aciq';",
        '',
        'registerPass(clipPercentilePass);',
        '',
      ].join('\n'),
    );
  });

  it('adds a second pass without repeating the registerPass import', async () => {
    const tree = workspace();
    await passGenerator(tree, { name: 'clip-a', package: 'pass-clipping' });
    await passGenerator(tree, { name: 'clip-b', package: 'pass-clipping' });
    const index = tree.read('packages/pass-clipping/src/index.ts', 'utf-8')!;
    expect(index.match(/import \{ registerPass \}/g)).toHaveLength(1);
    expect(index).toContain("import { clipAPass } from './clip-a.pass';\nimport { clipBPass } from './clip-b.pass';\n");
    expect(index.endsWith('\nregisterPass(clipAPass);\nregisterPass(clipBPass);\n')).toBe(true);
    expect(tree.read('packages/pass-clipping/src/clip-a.pass.ts', 'utf-8')).toContain("summary: 'TODO: say in one line what clip-a does',");
  });

  it('registers in passes.ts when the package keeps one', async () => {
    const tree = workspace();
    tree.write('packages/pass-clipping/src/passes.ts', "import { registerPass } from '@nibble/core';\n");
    await passGenerator(tree, { name: 'clip-kl', package: 'pass-clipping' });
    expect(tree.read('packages/pass-clipping/src/passes.ts', 'utf-8')).toBe(
      "import { registerPass } from '@nibble/core';\nimport { clipKlPass } from './clip-kl.pass';\n\nregisterPass(clipKlPass);\n",
    );
    expect(tree.read('packages/pass-clipping/src/index.ts', 'utf-8')).toBe("export * from './math/aciq';\n");
  });

  it('creates the index when the package has none', async () => {
    const tree = workspace();
    tree.delete('packages/pass-clipping/src/index.ts');
    await passGenerator(tree, { name: 'clip-mse', package: 'pass-clipping' });
    expect(tree.read('packages/pass-clipping/src/index.ts', 'utf-8')).toBe(
      "import { registerPass } from '@nibble/core';\nimport { clipMsePass } from './clip-mse.pass';\n\nregisterPass(clipMsePass);\n",
    );
  });

  it('refuses a name that already exists, in this or another package', async () => {
    const tree = workspace();
    await passGenerator(tree, { name: 'clip-aciq', package: 'pass-clipping' });
    const snapshot = tree.read('packages/pass-clipping/src/index.ts', 'utf-8');
    expect(await failure(passGenerator(tree, { name: 'clip-aciq', package: 'pass-clipping' }))).toBe(
      "nibble pass generator: a pass named 'clip-aciq' already exists (packages/pass-clipping/src/clip-aciq.pass.ts); pass names are global, choose another",
    );
    expect(tree.read('packages/pass-clipping/src/index.ts', 'utf-8')).toBe(snapshot);
    // A pass defined in a file of another name is found by its declared name.
    tree.write('packages/pass-graph/package.json', '{}');
    tree.write('packages/pass-graph/src/fold.ts', "export const foldBn = definePass({\n  name: 'fold-bn',\n  summary: 's',\n  run: (g) => ({ graph: g, modified: false }),\n});\n");
    expect(await failure(passGenerator(tree, { name: 'fold-bn', package: 'pass-clipping' }))).toMatch(/'fold-bn' already exists \(packages\/pass-graph\/src\/fold\.ts\)/);
  });

  it.each([
    ['ClipAciq', "e.g. 'clip-aciq'"],
    ['clip_aciq', "e.g. 'clip-aciq'"],
    ['clip--aciq', 'not kebab-case'],
    ['-clip', 'not kebab-case'],
    ['', 'not kebab-case'],
  ])('refuses the name %j', async (name, what) => {
    const tree = workspace();
    const msg = await failure(passGenerator(tree, { name, package: 'pass-clipping' }));
    expect(msg).toContain(`pass name '${name}' is not kebab-case`);
    expect(msg).toContain(what);
    expect(tree.children('packages/pass-clipping/src')).toEqual(['index.ts']);
  });

  it('refuses a missing package and one that may not import core', async () => {
    const tree = workspace();
    expect(await failure(passGenerator(tree, { name: 'x-y', package: 'pass-nope' }))).toBe(
      "nibble pass generator: there is no package 'pass-nope' (no packages/pass-nope/package.json); packages: pass-clipping, quant",
    );
    expect(await failure(passGenerator(tree, { name: 'x-y', package: 'quant' }))).toMatch(/tagged type:quant, which may not import @nibble\/core/);
  });

  it('imports core modules relatively inside @nibble/core', async () => {
    const tree = workspace();
    tree.write('packages/core/package.json', '{}');
    tree.write('packages/core/src/index.ts', "export * from './executor';\n");
    await passGenerator(tree, { name: 'demo-pass', package: 'core' });
    expect(tree.read('packages/core/src/demo-pass.pass.ts', 'utf-8')).toContain("import { definePass } from './pass';");
    expect(tree.read('packages/core/src/demo-pass.pass.spec.ts', 'utf-8')).toContain(
      "import { createPassContext } from './context';\nimport { runPipeline } from './pass-manager';\nimport { getPass } from './registry';\nimport { resolvePipeline } from './resolve';\n",
    );
    expect(tree.read('packages/core/src/index.ts', 'utf-8')).toContain("import { registerPass } from './registry';");
  });

  it('keeps multi-line imports whole when inserting', () => {
    const text = "import {\n  a,\n  b,\n} from './ab';\nimport type { C } from './c';\n\nexport { a, b };\nexport type { C };\n";
    expect(addRegistration(text, 'pass-x', 'fooPass', 'foo')).toBe(
      "import {\n  a,\n  b,\n} from './ab';\nimport type { C } from './c';\nimport { registerPass } from '@nibble/core';\nimport { fooPass } from './foo.pass';\n\nexport { a, b };\nexport type { C };\n\nregisterPass(fooPass);\n",
    );
  });
});
