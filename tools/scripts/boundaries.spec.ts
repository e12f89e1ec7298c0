import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

// The package matrix of ARCHITECTURE.md is held by @nx/enforce-module-boundaries.
// Lint a probe file placed (virtually, via --stdin-filename) inside a package,
// through `npm run lint`'s own script.
const root = join(__dirname, '..', '..');

function lintAs(filePath: string, source: string, env: NodeJS.ProcessEnv = {}): { status: number | null; output: string } {
  const r = spawnSync(process.execPath, [join(root, 'tools/scripts/lint.mjs'), '--stdin', '--stdin-filename', filePath], {
    cwd: root,
    input: source,
    encoding: 'utf8',
    env: { ...process.env, ...env },
  });
  return { status: r.status, output: `${r.stdout}${r.stderr}` };
}

const UPWARD = "import { definePass } from '@nibble/core';\nexport const p = definePass;\n";

describe('package boundaries', () => {
  it('fail lint on an upward import (ir importing core)', () => {
    const r = lintAs('packages/ir/src/probe.ts', UPWARD);
    expect(r.status).not.toBe(0);
    expect(r.output).toMatch(/enforce-module-boundaries/);
  }, 60000);

  it('fail lint on a fresh clone too: the script computes the project graph the rule reads', () => {
    // Nx keeps the graph in its workspace data directory; empty ones stand for a clone that never ran nx.
    const dir = mkdtempSync(join(tmpdir(), 'nibble-nx-'));
    try {
      const r = lintAs('packages/ir/src/__probe_upward.ts', UPWARD, {
        NX_CACHE_DIRECTORY: join(dir, 'cache'),
        NX_WORKSPACE_DATA_DIRECTORY: join(dir, 'workspace-data'),
      });
      expect(r.output).not.toMatch(/No cached ProjectGraph/);
      expect(r.output).toMatch(/@nx\/enforce-module-boundaries/);
      expect(r.status).not.toBe(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
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
