#!/usr/bin/env node
// The whole test suite: type check, lint (package boundaries), then Jest.
// Prints one closing line `tests: N passed, N failed` (type check and lint
// count as one test each) and exits non-zero if anything failed.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

let passed = 0;
let failed = 0;
const step = (name, cmd, args, env = {}) => {
  console.log(`\n== ${name}: ${cmd} ${args.join(' ')}`);
  const r = spawnSync(cmd, args, { stdio: 'inherit', env: { ...process.env, ...env } });
  return r.status === 0;
};

// The module-boundary lint rule reads Nx's project graph; compute it first.
process.env.NX_DAEMON = 'false';
spawnSync('npx', ['nx', 'show', 'projects'], { stdio: 'ignore' });

for (const [name, args] of [['typecheck', ['tsc', '-p', 'tsconfig.check.json']], ['lint', ['eslint', 'packages', 'apps', 'tools', '--max-warnings', '0']]]) {
  if (step(name, 'npx', args)) passed++;
  else { failed++; console.log(`${name} FAILED`); }
}

const dir = mkdtempSync(join(tmpdir(), 'nibble-jest-'));
const report = join(dir, 'report.json');
const extra = process.argv.slice(2);
step('jest', 'npx', ['jest', '--json', `--outputFile=${report}`, ...extra], {
  NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ''} --experimental-vm-modules --no-warnings`.trim(),
});
try {
  const r = JSON.parse(readFileSync(report, 'utf8'));
  passed += r.numPassedTests;
  failed += r.numFailedTests;
  // A suite that fails to load has no failed tests but must still fail the run.
  failed += r.testResults.filter((s) => s.status === 'failed' && s.assertionResults.every((a) => a.status !== 'failed')).length;
} catch {
  failed++;
  console.log('jest produced no report');
}
rmSync(dir, { recursive: true, force: true });
console.log(`\ntests: ${passed} passed, ${failed} failed`);
process.exit(failed === 0 ? 0 : 1);
