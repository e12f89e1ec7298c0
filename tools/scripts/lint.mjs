#!/usr/bin/env node
// `npm run lint`: ESLint over the workspace with the package matrix enforced.
//
// @nx/enforce-module-boundaries reads Nx's cached project graph and, when there
// is none (a fresh clone), prints a warning and skips itself, so lint would pass
// an upward import. Compute the graph first (without the daemon, so it is
// written to the workspace data directory that the rule reads), then run ESLint
// and exit with its status.
//
//   node tools/scripts/lint.mjs                 packages, apps, tools (and e2e when present)
//   node tools/scripts/lint.mjs <eslint args>   those arguments instead of the folders
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const FOLDERS = ['packages', 'apps', 'tools', 'e2e'];

const graph = spawnSync('npx', ['nx', 'show', 'projects'], {
  cwd: root,
  encoding: 'utf8',
  env: { ...process.env, NX_DAEMON: 'false' },
});
if (graph.status !== 0) {
  process.stderr.write(`${graph.stdout ?? ''}${graph.stderr ?? ''}`);
  console.error('lint: Nx could not compute the project graph, so the package boundaries cannot be checked (see above)');
  process.exit(graph.status || 1);
}

const args = process.argv.slice(2);
const targets = args.length ? args : FOLDERS.filter((f) => existsSync(join(root, f)));
const eslint = spawnSync('npx', ['eslint', ...targets, '--max-warnings', '0'], { cwd: root, stdio: 'inherit' });
process.exit(eslint.status ?? 1);
