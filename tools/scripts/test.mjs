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

// Lint is `npm run lint`'s script: it computes Nx's project graph first, which the module-boundary rule reads.
for (const [name, cmd, args] of [['typecheck', 'npx', ['tsc', '-p', 'tsconfig.check.json']], ['lint', 'node', ['tools/scripts/lint.mjs']]]) {
  if (step(name, cmd, args)) passed++;
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
