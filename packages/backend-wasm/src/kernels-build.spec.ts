import { spawnSync } from 'node:child_process';
import { join } from 'node:path';

/*
 * The committed module (src/generated/kernels-wasm.ts) must be what a fresh
 * build of assembly/*.ts gives, byte for byte: the build script rebuilds it
 * with asc from npm and compares.
 */
it('the committed kernels equal a fresh AssemblyScript build', () => {
  const r = spawnSync(process.execPath, [join(__dirname, '..', 'scripts', 'build.mjs'), '--check'], { encoding: 'utf8' });
  expect(r.stdout + r.stderr).toMatch(/equals a fresh build/);
  expect(r.status).toBe(0);
}, 60_000);
