import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import { workspaceRoot } from './workspace';

/*
 * Test support stays with the tests: lint (eslint.config.mjs, the tags in the
 * project.json files) fails a production file that imports @nibble/testing or
 * anything under tools/, and no file under packages/ imports from tools/.
 */

const root = workspaceRoot();
const env = { ...process.env, NX_DAEMON: 'false' };

interface LintMessage {
  ruleId: string | null;
  message: string;
}

/** ESLint's messages for each of `files` (paths relative to the root), from one run. */
function lint(files: string[]): Map<string, LintMessage[]> {
  const r = spawnSync('npx', ['eslint', '--format', 'json', ...files], { cwd: root, env, encoding: 'utf8' });
  if (!r.stdout.trim().startsWith('[')) throw new Error(`eslint gave no report (status ${r.status}): ${r.stderr}`);
  const report = JSON.parse(r.stdout) as { filePath: string; messages: LintMessage[] }[];
  return new Map(report.map((f) => [relative(root, f.filePath), f.messages]));
}

describe('lint keeps test support out of production code', () => {
  // The boundary rule reads Nx's project graph: compute it first.
  beforeAll(() => {
    spawnSync('npx', ['nx', 'show', 'projects'], { cwd: root, env, encoding: 'utf8' });
  }, 120_000);

  it('fails a production file that imports @nibble/testing or tools/, naming the boundary rule; passes a downward import', () => {
    // A temporary folder inside a package: its files belong to that project.
    const dir = mkdtempSync(join(root, 'packages', 'core', 'src', 'lint-probe-'));
    try {
      const toTools = relative(dir, join(root, 'tools', 'bench', 'resnet'));
      const probes = {
        testing: "import { lcg } from '@nibble/testing';\nexport const probe = lcg;\n",
        toolsPath: `import { randomResnet20 } from '${toTools}';\nexport const probe = randomResnet20;\n`,
        toolsPackage: "import { passGenerator } from '@nibble/tools';\nexport const probe = passGenerator;\n",
        downward: "import { Graph } from '@nibble/ir';\nexport const probe = new Graph('probe');\n",
      };
      const files = Object.fromEntries(Object.entries(probes).map(([name, text]) => {
        const file = join(dir, `${name}.ts`);
        writeFileSync(file, text);
        return [name, relative(root, file)];
      })) as Record<keyof typeof probes, string>;
      const result = lint(Object.values(files));
      const boundaryErrors = (file: string): string[] =>
        (result.get(file) ?? []).filter((m) => m.ruleId === '@nx/enforce-module-boundaries').map((m) => m.message);

      expect(boundaryErrors(files.testing)).toEqual([expect.stringMatching(/type:core.*can only depend on libs tagged/)]);
      expect(boundaryErrors(files.toolsPath)).toEqual([expect.stringMatching(/cannot be imported by a relative or absolute path/)]);
      expect(boundaryErrors(files.toolsPackage)).toEqual([expect.stringMatching(/type:core.*can only depend on libs tagged/)]);
      expect(result.get(files.downward)).toEqual([]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 120_000);
});

/** Every source file under `dir` (no node_modules, no build output). */
function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    if (name === 'node_modules' || name === 'dist' || name === 'out') return [];
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return sources(path);
    return /\.(ts|js|mjs|cjs)$/.test(name) ? [path] : [];
  });
}

/** What an import, export, require() or import() names. */
const SPECIFIER = /(?:\bfrom\s*|\brequire\s*\(\s*|\bimport\s*\(\s*|^\s*import\s+)(['"])([^'"]+)\1/gm;

/** The specifiers in `text` (the source of `file`) that reach into tools/: a path there, or @nibble/tools. */
function toolsImports(file: string, text: string): string[] {
  const tools = join(root, 'tools');
  return [...text.matchAll(SPECIFIER)].map((m) => m[2]).filter((spec) => {
    if (spec.startsWith('.') || isAbsolute(spec)) {
      const target = resolve(dirname(file), spec);
      return target === tools || target.startsWith(`${tools}${sep}`);
    }
    return spec === '@nibble/tools' || spec.startsWith('@nibble/tools/');
  });
}

describe('no file under packages/ imports from tools/', () => {
  it('has no import, export, require() or import() of a path into tools/ or of @nibble/tools', () => {
    // This file is left out: its probes and examples name tools/ on purpose.
    const offenders = sources(join(root, 'packages')).filter((file) => file !== __filename).flatMap((file) =>
      toolsImports(file, readFileSync(file, 'utf8')).map((spec) => `${relative(root, file)}: ${spec}`));
    expect(offenders).toEqual([]);
  });

  it('would catch one (the check itself)', () => {
    const file = join(root, 'packages', 'tflite', 'src', 'testing', 'reference.ts');
    const caught = (text: string): string[] => toolsImports(file, text);
    expect(caught("import { x } from '../../../../tools/test-support/src';")).toEqual(['../../../../tools/test-support/src']);
    expect(caught("const r = require('../../../../tools/tflite-ref/run.cjs');")).toHaveLength(1);
    expect(caught("export { y } from '@nibble/tools';\nimport '../../../../tools/bench/shared/doc-section';")).toHaveLength(2);
    expect(caught("const m = await import('../../../../tools');")).toHaveLength(1);
    // Not an import (the TFLite reference client starts tools/tflite-ref as a process), nor another package.
    expect(caught("import { x } from '@nibble/testing';\nimport { y } from '../../tools-like';\nconst dir = join(root, 'tools', 'tflite-ref');")).toEqual([]);
  });
});
