#!/usr/bin/env node
// Packs the publishable packages (npm pack) and installs the tarballs into a
// scratch project outside the workspace, offline, the way a user's project
// would install them from a registry. Used by e2e/src/pack-install.spec.ts.
//
// Why a lock file: `npm ci` fills npm's cache with the tarballs the
// workspace's package-lock.json names (by integrity) but not with the
// registry's metadata documents, and `npm install --offline` needs those
// to resolve a version range. The scratch project therefore gets a
// package-lock.json: the tarballs by path and integrity, and the npm
// dependencies copied from the workspace's lock (the same versions, already
// cached), so the install reads the cache only.
//
// usage: node tools/scripts/pack-scratch.mjs <scratch-dir> [extra-package-dir ...]
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildPackages, publishablePackages } from './build-packages.mjs';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

function run(cmd, args, opts) {
  const r = spawnSync(cmd, args, { encoding: 'utf8', maxBuffer: 64 << 20, ...opts });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (${r.status})\n${r.stdout}\n${r.stderr}`);
  return r.stdout;
}

/** npm pack each folder into `dest`; the manifests and integrity of what was packed. */
export function packFolders(dirs, dest) {
  mkdirSync(dest, { recursive: true });
  // './' keeps npm from reading 'packages/ir' as a GitHub shorthand.
  const out = run('npm', ['pack', ...dirs.map((d) => `./${d}`), '--pack-destination', dest, '--json', '--silent'], { cwd: ROOT });
  const packed = JSON.parse(out);
  return packed.map((p, i) => ({
    dir: dirs[i],
    name: p.name,
    version: p.version,
    file: join(dest, p.filename),
    integrity: p.integrity,
    manifest: JSON.parse(readFileSync(join(ROOT, dirs[i], 'package.json'), 'utf8')),
  }));
}

/**
 * The workspace lock's entry of `name` as seen from the lock path `from`
 * (node_modules/a/node_modules/b first, then up), the way Node resolves it.
 */
function lockEntryPath(lock, from, name) {
  let base = from;
  for (;;) {
    const candidate = base ? `${base}/node_modules/${name}` : `node_modules/${name}`;
    if (lock.packages[candidate]) return candidate;
    if (!base) return undefined;
    const cut = base.lastIndexOf('/node_modules/');
    base = cut < 0 ? '' : base.slice(0, cut);
  }
}

/** The scratch project's package-lock.json: the tarballs, and the closure of their npm dependencies from the workspace lock. */
export function scratchLock(packed, projectName) {
  const lock = JSON.parse(readFileSync(join(ROOT, 'package-lock.json'), 'utf8'));
  const rootDeps = Object.fromEntries(packed.map((p) => [p.name, `file:tgz/${p.file.split('/').pop()}`]));
  const packages = { '': { name: projectName, version: '1.0.0', dependencies: rootDeps } };
  const ours = new Map(packed.map((p) => [p.name, p]));
  for (const p of packed) {
    const deps = p.manifest.dependencies ?? {};
    const peers = p.manifest.peerDependencies ?? {};
    packages[`node_modules/${p.name}`] = {
      version: p.version,
      resolved: rootDeps[p.name],
      integrity: p.integrity,
      license: p.manifest.license,
      ...(Object.keys(deps).length ? { dependencies: deps } : {}),
      ...(Object.keys(peers).length ? { peerDependencies: peers } : {}),
      ...(p.manifest.peerDependenciesMeta ? { peerDependenciesMeta: p.manifest.peerDependenciesMeta } : {}),
      ...(p.manifest.bin ? { bin: p.manifest.bin } : {}),
    };
  }
  const queue = packed.flatMap((p) => Object.keys(p.manifest.dependencies ?? {}).filter((d) => !ours.has(d)).map((d) => ['', d, p.name]));
  while (queue.length) {
    const [from, name, wanter] = queue.shift();
    const path = lockEntryPath(lock, from, name);
    if (!path) throw new Error(`${wanter} depends on ${name}, which the workspace's package-lock.json does not hold`);
    if (packages[path]) continue;
    const entry = { ...lock.packages[path] };
    delete entry.dev;
    delete entry.devOptional;
    packages[path] = entry;
    for (const d of Object.keys({ ...entry.dependencies, ...entry.optionalDependencies })) {
      if (lockEntryPath(lock, path, d)) queue.push([path, d, entry.name ?? path]);
    }
  }
  return { name: projectName, version: '1.0.0', lockfileVersion: 3, requires: true, packages };
}

/**
 * Build, pack and install into `scratch` (its package.json, lock and
 * node_modules). Extra folders (an example plugin) are packed and installed
 * beside the packages.
 */
export async function packScratchProject(scratch, { extra = [], build = true } = {}) {
  if (build) await buildPackages({ ifStale: true });
  const dirs = [...publishablePackages().map((p) => p.dir), ...extra];
  const packed = packFolders(dirs, join(scratch, 'tgz'));
  const lock = scratchLock(packed, 'nibble-scratch');
  const manifest = { name: 'nibble-scratch', version: '1.0.0', private: true, type: 'module', dependencies: lock.packages[''].dependencies };
  writeFileSync(join(scratch, 'package.json'), `${JSON.stringify(manifest, null, 2)}\n`);
  writeFileSync(join(scratch, 'package-lock.json'), `${JSON.stringify(lock, null, 2)}\n`);
  // onnxruntime-node's install script would fetch CUDA files; its CPU binaries ship in the package.
  run('npm', ['ci', '--offline', '--no-audit', '--no-fund', '--loglevel=error'], {
    cwd: scratch,
    env: { ...process.env, ONNXRUNTIME_NODE_INSTALL: 'skip', npm_config_update_notifier: 'false' },
  });
  return packed;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const [scratch, ...extra] = process.argv.slice(2);
  if (!scratch) {
    console.error('usage: node tools/scripts/pack-scratch.mjs <scratch-dir> [extra-package-dir ...]');
    process.exit(2);
  }
  mkdirSync(scratch, { recursive: true });
  packScratchProject(resolve(scratch), { extra }).then(
    (packed) => console.log(packed.map((p) => `${p.name}@${p.version}`).join('\n')),
    (e) => {
      console.error(`pack-scratch: ${e.message}`);
      process.exit(1);
    },
  );
}
