import { spawnSync } from 'node:child_process';
import { join } from 'node:path';

// The package matrix of ARCHITECTURE.md is held by @nx/enforce-module-boundaries.
// Lint a probe file placed (virtually, via --stdin-filename) inside a package.
const root = join(__dirname, '..', '..');

function lintAs(filePath: string, source: string): { status: number | null; output: string } {
  spawnSync('npx', ['nx', 'show', 'projects'], { cwd: root, env: { ...process.env, NX_DAEMON: 'false' }, encoding: 'utf8' });
  const r = spawnSync('npx', ['eslint', '--stdin', '--stdin-filename', filePath], {
    cwd: root,
    input: source,
    encoding: 'utf8',
    env: { ...process.env, NX_DAEMON: 'false' },
  });
  return { status: r.status, output: `${r.stdout}${r.stderr}` };
}

describe('package boundaries', () => {
  it('fail lint on an upward import (ir importing core)', () => {
    const r = lintAs('packages/ir/src/probe.ts', "import { definePass } from '@nibble/core';\nexport const p = definePass;\n");
    expect(r.status).not.toBe(0);
    expect(r.output).toMatch(/enforce-module-boundaries/);
  }, 60000);

  it('fail lint on core importing the public API package', () => {
    const r = lintAs('packages/core/src/probe.ts', "import { loadModel } from 'nibble';\nexport const l = loadModel;\n");
    expect(r.status).not.toBe(0);
    expect(r.output).toMatch(/enforce-module-boundaries/);
  }, 60000);

  it('pass lint on a downward import (core importing ir)', () => {
    const r = lintAs('packages/core/src/probe.ts', "import { Graph } from '@nibble/ir';\nexport const g = new Graph();\n");
    expect(r.output).not.toMatch(/enforce-module-boundaries/);
    expect(r.status).toBe(0);
  }, 60000);
});
