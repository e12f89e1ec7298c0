#!/usr/bin/env node
// Builds every publishable package (packages/*, apps/cli) into its dist/:
//
//   dist/index.js           ESM for Node (the package's src/index.ts, one file; every package it imports stays external)
//   dist/index.browser.js   ESM for browsers, only where the package has Node-only parts (see BROWSER_SHIMS)
//   dist/types/**.d.ts      declarations (one tsc run over every package, then per package)
//   dist/package.json       {"type":"module"}, so the package root stays CommonJS for the dev tools (jest configs)
//
// Development never needs this: tsx, tsc and jest resolve @nibble/* to src/ through tsconfig.base.json's paths.
// The build is for `npm pack` (e2e/src/pack-install.spec.ts) and browser bundles (e2e/src/browser-bundle.spec.ts).
//
// usage: node tools/scripts/build-packages.mjs [--sync-manifests] [--no-types] [--only name,name]
//   --sync-manifests  write each package.json's publishing fields (version, main, types, exports, files,
//                     dependencies) from what the build found; without it a stale package.json fails the build
//   --no-types        skip the declarations (tsc), for a quick JS-only build
//   --if-stale        do nothing when the last full build saw the same sources (tmp/build-packages.stamp)
//
// Builds take a lock (tmp/build-packages.lock), so specs that build at the same time (Jest runs files in
// parallel) wait for each other instead of deleting each other's dist/.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { builtinModules, createRequire } from 'node:module';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const require = createRequire(import.meta.url);
const esbuild = require('esbuild');

/** Test support and tools are never published. */
const UNPUBLISHED = new Set(['@nibble/testing', '@nibble/tools']);
const TYPES_OUT = join(ROOT, 'tmp', 'build-types');
const STAMP = join(ROOT, 'tmp', 'build-packages.stamp');
const LOCK = join(ROOT, 'tmp', 'build-packages.lock');
/** A lock older than this was left by a killed build. */
const STALE_LOCK_MS = 10 * 60 * 1000;
const NODE_BUILTINS = new Set(builtinModules.filter((m) => !m.startsWith('_')));

/**
 * Modules the browser build replaces by stubs that throw a NibbleError when
 * called: Node's built-ins (file system, paths, zlib, os), onnxruntime-node
 * (the browser runs onnxruntime-web) and pngjs (built on Node's zlib and
 * streams). Stubs keep one public API for both conditions: in a browser,
 * `loadModel(path)` fails with "needs Node" instead of the bundle failing,
 * and the byte-level APIs (readOnnx(bytes), quantize, evaluate on a Dataset)
 * work unchanged. Nothing here runs at import time, so a stub is only ever
 * reached by a call that needs Node.
 */
const BROWSER_SHIMS = new Set(['onnxruntime-node', 'pngjs']);

/**
 * Packages the sources import only at run time and only for an optional
 * feature (`nibble bench --backend tfjs-wasm`), failing with a hint when
 * they are absent: optional peer dependencies, so installing nibble does not
 * pull TF.js, and stubs in the browser build, so a web bundler does not
 * have to resolve them.
 */
const OPTIONAL_PEERS = new Set(['@tensorflow/tfjs', '@tensorflow/tfjs-backend-wasm']);

export function isNodeBuiltin(spec) {
  return spec.startsWith('node:') || NODE_BUILTINS.has(spec) || NODE_BUILTINS.has(spec.split('/')[0]);
}

/** 'a/b/c' -> 'a', '@s/a/b' -> '@s/a'. */
export function packageOf(spec) {
  const parts = spec.split('/');
  return spec.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0];
}

export function publishablePackages() {
  const dirs = [...readdirSync(join(ROOT, 'packages')).map((d) => join('packages', d)), join('apps', 'cli')];
  return dirs
    .filter((d) => existsSync(join(ROOT, d, 'package.json')))
    .map((dir) => {
      const manifest = JSON.parse(readFileSync(join(ROOT, dir, 'package.json'), 'utf8'));
      const entry = existsSync(join(ROOT, dir, 'src', 'index.ts')) ? 'index' : 'main';
      return { dir, name: manifest.name, manifest, entry, isCli: Boolean(manifest.bin) };
    })
    .filter((p) => !UNPUBLISHED.has(p.name) && existsSync(join(ROOT, p.dir, 'src', `${p.entry}.ts`)));
}

function walk(dir, keep) {
  if (!existsSync(dir)) return [];
  return readdirSync(dir).flatMap((n) => {
    const p = join(dir, n);
    return statSync(p).isDirectory() ? walk(p, keep) : keep(p) ? [p] : [];
  });
}

/** Product source files: not specs, not test support. */
function productSources(pkgDir) {
  return walk(join(ROOT, pkgDir, 'src'), (p) => p.endsWith('.ts') && !p.endsWith('.spec.ts') && !/[\\/]testing[\\/]/.test(p));
}

const IMPORT_RE = /(?:\bfrom\s*|\bimport\s*\(\s*|\bimport\s+|\brequire\s*\(\s*)['"]([^'"\s]+)['"]/g;

/** Every package a package's product sources import (types included: their .d.ts name them too). */
// A preserved type reference (TypeScript keeps it in the declarations only with preserve="true") names a package the
// declarations need at the user's side, as an import would (@nibble/backend-webgpu's GPU types).
const TYPE_REFERENCE_RE = /^\/\/\/\s*<reference\s+types="([^"]+)"\s+preserve="true"\s*\/>/gm;

export function importedPackages(pkgDir) {
  const found = new Set();
  for (const file of productSources(pkgDir)) {
    const text = readFileSync(file, 'utf8');
    for (const m of text.matchAll(TYPE_REFERENCE_RE)) found.add(packageOf(m[1]));
    for (const m of text.matchAll(IMPORT_RE)) {
      const spec = m[1];
      if (spec.startsWith('.') || spec.startsWith('/') || isNodeBuiltin(spec)) continue;
      found.add(packageOf(spec));
    }
  }
  return [...found].sort();
}

function shimModuleSource(spec) {
  const bare = spec.replace(/^node:/, '');
  let names = [];
  if (isNodeBuiltin(spec)) names = Object.keys(require(bare));
  else if (spec === 'pngjs') names = ['PNG'];
  else if (spec === 'onnxruntime-node') names = ['InferenceSession', 'Tensor', 'env'];
  names = names.filter((n) => /^[A-Za-z_$][\w$]*$/.test(n) && n !== 'default');
  const fail = `() => { throw new NibbleError('E_UNSUPPORTED', ${JSON.stringify(`${spec} is not available in a browser`)}, { hint: 'this call needs Node (files, onnxruntime-node, PNG decoding); in a browser pass bytes, a Dataset or RawImage pixels instead' }); }`;
  return [
    "import { NibbleError } from '@nibble/ir';",
    `const fail = ${fail};`,
    // Every export is a Proxy: reads give the proxy again (ort.InferenceSession.create), a call or `new` fails.
    // `then` stays undefined so that `await import(...)` of a stub resolves.
    'const stub = new Proxy(function () {}, { get: (_t, k) => (k === "then" ? undefined : stub), apply: fail, construct: fail });',
    'export default stub;',
    ...names.map((n) => `export const ${n} = stub;`),
  ].join('\n');
}

const browserShims = {
  name: 'nibble-browser-shims',
  setup(build) {
    build.onResolve({ filter: /^[^./]/ }, (args) => {
      if (isNodeBuiltin(args.path) || BROWSER_SHIMS.has(args.path) || OPTIONAL_PEERS.has(packageOf(args.path))) return { path: args.path, namespace: 'nibble-browser-shim' };
      return undefined;
    });
    build.onLoad({ filter: /.*/, namespace: 'nibble-browser-shim' }, (args) => ({ contents: shimModuleSource(args.path), loader: 'js', resolveDir: ROOT }));
  },
};

/**
 * The ESM build for Node keeps the CommonJS names the sources use
 * (`__dirname` for bundled files, `require.resolve` for package files).
 */
const NODE_CJS_BANNER = [
  "import { createRequire as __nibbleCreateRequire } from 'node:module';",
  "import { fileURLToPath as __nibbleFileURLToPath } from 'node:url';",
  "import { dirname as __nibbleDirname } from 'node:path';",
  'const require = __nibbleCreateRequire(import.meta.url);',
  'const __filename = __nibbleFileURLToPath(import.meta.url);',
  'const __dirname = __nibbleDirname(__filename);',
].join('\n');

function esbuildOptions(pkg, platform) {
  return {
    entryPoints: [join(ROOT, pkg.dir, 'src', `${pkg.entry}.ts`)],
    bundle: true,
    format: 'esm',
    platform,
    target: platform === 'node' ? 'node20' : 'es2022',
    // Every bare import stays external: @nibble/* resolve to their own installed packages (one pass registry).
    packages: 'external',
    // Not tsconfig.base.json: its paths would pull other packages' sources into this bundle.
    tsconfigRaw: { compilerOptions: { target: 'ES2022', useDefineForClassFields: true } },
    // apps/cli's main.ts runs itself under tsx (`require.main === module`); the built bin calls runCli() instead.
    define: pkg.isCli ? { 'require.main': 'null', module: 'undefined' } : {},
    legalComments: 'none',
    metafile: true,
    write: false,
    logLevel: 'silent',
  };
}

async function bundle(pkg, platform) {
  if (platform === 'browser') {
    const r = await esbuild.build({ ...esbuildOptions(pkg, platform), plugins: [browserShims] });
    const shims = Object.keys(r.metafile.inputs).filter((k) => k.startsWith('nibble-browser-shim:')).map((k) => k.slice('nibble-browser-shim:'.length));
    return { text: r.outputFiles[0].text, shims: [...new Set(shims)].sort() };
  }
  const first = await esbuild.build(esbuildOptions(pkg, platform));
  const text = first.outputFiles[0].text;
  if (!/\b(__dirname|__filename|require)\b/.test(text)) return { text };
  const second = await esbuild.build({ ...esbuildOptions(pkg, platform), banner: { js: NODE_CJS_BANNER } });
  return { text: second.outputFiles[0].text };
}

function buildTypes() {
  rmSync(TYPES_OUT, { recursive: true, force: true });
  const tsc = join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
  const r = spawnSync(process.execPath, [tsc, '-p', join(ROOT, 'tools', 'scripts', 'tsconfig.build-types.json')], { encoding: 'utf8' });
  if (r.status === 0) return;
  // tsc still emits on type errors, which `npm run typecheck` reports; errors of the declarations themselves
  // (a type that cannot be named: TS2742, TS4xxx) would leave broken .d.ts files and fail the build.
  const lines = `${r.stdout}${r.stderr}`.split('\n').filter((l) => /error TS\d+/.test(l));
  const declarationErrors = lines.filter((l) => /error TS(2742|2883|4\d{3}):/.test(l));
  if (declarationErrors.length || lines.length === 0) throw new Error(`declarations: tsc failed\n${r.stdout}${r.stderr}`);
  console.warn(`build-packages: ${lines.length} type error(s), declarations written anyway (npm run typecheck lists them)`);
}

/**
 * Declarations as Node's ESM resolution reads them: relative specifiers get
 * their '.js', and a type tsc inferred from another package's source file
 * (`import("packages/core/src/pass").Pass`) is named through that package's
 * public entry, which must export it.
 */
function rewriteDeclaration(text, fileOut, exportsOf) {
  const fixRelative = (spec) => {
    if (!spec.startsWith('.')) return spec;
    const base = resolve(dirname(fileOut), spec);
    if (existsSync(`${base}.d.ts`)) return `${spec}.js`;
    if (existsSync(join(base, 'index.d.ts'))) return `${spec}/index.js`;
    return spec;
  };
  return text
    .replace(/(\bfrom\s*|\bimport\s*\(\s*|\bimport\s+)(['"])(\.[^'"]*)\2/g, (_m, pre, q, spec) => `${pre}${q}${fixRelative(spec)}${q}`)
    .replace(/import\((['"])((?:packages|apps)\/[^'"]+)\1\)\.([A-Za-z_$][\w$]*)/g, (m, q, path, member) => {
      const owner = path.split('/').slice(0, 2).join('/');
      const ownerPkg = exportsOf(owner);
      if (!ownerPkg) throw new Error(`${relative(ROOT, fileOut)}: a type from ${path}, which is no published package`);
      if (!ownerPkg.exported.has(member)) {
        throw new Error(`${relative(ROOT, fileOut)}: the inferred type ${member} lives in ${path}; export it from ${owner}/src/index.ts or annotate the declaration`);
      }
      return `import(${q}${ownerPkg.name}${q}).${member}`;
    });
}

function exportedNames(indexDts) {
  const text = readFileSync(indexDts, 'utf8');
  const names = new Set();
  for (const m of text.matchAll(/export\s*(?:type\s*)?\{([^}]*)\}/g)) {
    for (const part of m[1].split(',')) {
      const name = part.trim().replace(/^type\s+/, '').split(/\s+as\s+/).pop()?.trim();
      if (name) names.add(name);
    }
  }
  for (const m of text.matchAll(/export\s+(?:declare\s+)?(?:const|function|class|interface|type|enum)\s+([A-Za-z_$][\w$]*)/g)) names.add(m[1]);
  return names;
}

function copyTypes(pkg, all) {
  const from = join(TYPES_OUT, pkg.dir, 'src');
  const to = join(ROOT, pkg.dir, 'dist', 'types');
  const exportsOf = (dir) => {
    const p = all.find((q) => q.dir === dir);
    if (!p) return undefined;
    p.exported ??= exportedNames(join(TYPES_OUT, p.dir, 'src', `${p.entry}.d.ts`));
    return p;
  };
  for (const file of walk(from, (p) => p.endsWith('.d.ts'))) {
    if (/[\\/]testing[\\/]/.test(file)) continue;
    const out = join(to, relative(from, file));
    mkdirSync(dirname(out), { recursive: true });
    writeFileSync(out, readFileSync(file, 'utf8'));
  }
  for (const out of walk(to, (p) => p.endsWith('.d.ts'))) writeFileSync(out, rewriteDeclaration(readFileSync(out, 'utf8'), out, exportsOf));
}

/** The publishing fields of a package.json, from what its build found. */
export function manifestFields(pkg, { hasBrowser, versions, workspaceVersion }) {
  const deps = {};
  const peers = {};
  for (const name of importedPackages(pkg.dir)) {
    if (name === pkg.name) continue;
    const version = name === 'nibble' || name.startsWith('@nibble/') ? workspaceVersion : versions[name];
    if (!version) throw new Error(`${pkg.dir}: imports ${name}, which the root package.json does not list`);
    (OPTIONAL_PEERS.has(name) ? peers : deps)[name] = version;
  }
  const js = pkg.entry === 'index' ? './dist/index.js' : `./dist/${pkg.entry}.js`;
  const types = `./dist/types/${pkg.entry}.d.ts`;
  const dot = hasBrowser ? { types, browser: js.replace(/\.js$/, '.browser.js'), node: js, default: js } : { types, default: js };
  return {
    version: workspaceVersion,
    main: js.slice(2),
    types: types.slice(2),
    ...(hasBrowser ? { browser: { [js]: js.replace(/\.js$/, '.browser.js') } } : {}),
    exports: { '.': dot, './package.json': './package.json' },
    files: pkg.isCli ? ['bin', 'dist'] : ['dist'],
    dependencies: deps,
    peerDependencies: peers,
    peerDependenciesMeta: Object.fromEntries(Object.keys(peers).map((n) => [n, { optional: true }])),
  };
}

const FIELD_ORDER = ['name', 'version', 'description', 'license', 'type', 'main', 'types', 'browser', 'exports', 'bin', 'files', 'scripts', 'dependencies', 'peerDependencies', 'peerDependenciesMeta'];

function applyManifest(manifest, fields) {
  const merged = { ...manifest, ...fields };
  delete merged.private;
  if (!fields.browser) delete merged.browser;
  for (const k of ['dependencies', 'peerDependencies', 'peerDependenciesMeta']) if (Object.keys(fields[k]).length === 0) delete merged[k];
  const ordered = {};
  for (const k of FIELD_ORDER) if (k in merged) ordered[k] = merged[k];
  for (const k of Object.keys(merged)) if (!(k in ordered)) ordered[k] = merged[k];
  return ordered;
}

function writeAtomic(path, text) {
  const tmp = `${path}.tmp-${process.pid}`;
  writeFileSync(tmp, text);
  renameSync(tmp, path);
}

/** A digest of everything the build reads: sources, manifests, configs and this script. */
function inputsDigest(pkgs) {
  const h = createHash('sha256');
  const files = [
    join(ROOT, 'package.json'), join(ROOT, 'package-lock.json'), join(ROOT, 'tsconfig.base.json'), fileURLToPath(import.meta.url),
    join(ROOT, 'tools', 'scripts', 'tsconfig.build-types.json'),
    ...pkgs.flatMap((p) => [join(ROOT, p.dir, 'package.json'), ...productSources(p.dir).sort()]),
  ];
  for (const f of files) h.update(`${relative(ROOT, f)}\0`).update(readFileSync(f)).update('\0');
  return h.digest('hex');
}

function sleep(ms) {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

function withLock(fn) {
  mkdirSync(dirname(LOCK), { recursive: true });
  for (;;) {
    try {
      mkdirSync(LOCK);
      break;
    } catch (e) {
      if (e.code !== 'EEXIST') throw e;
      try {
        if (Date.now() - statSync(LOCK).mtimeMs > STALE_LOCK_MS) rmSync(LOCK, { recursive: true, force: true });
      } catch { /* released meanwhile */ }
      sleep(250);
    }
  }
  return Promise.resolve().then(fn).finally(() => rmSync(LOCK, { recursive: true, force: true }));
}

export function buildPackages(options = {}) {
  return withLock(() => buildUnlocked(options));
}

async function buildUnlocked({ syncManifests = false, types = true, only, ifStale = false } = {}) {
  const all0 = publishablePackages();
  const digest = types && !only ? inputsDigest(all0) : undefined;
  if (ifStale && digest && existsSync(STAMP) && readFileSync(STAMP, 'utf8') === digest && all0.every((p) => existsSync(join(ROOT, p.dir, 'dist')))) {
    return all0.map((p) => ({ name: p.name, dir: p.dir, browserShims: [], skipped: true }));
  }
  rmSync(STAMP, { force: true });
  const root = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'));
  const versions = { ...root.devDependencies, ...root.dependencies };
  const all = all0;
  const pkgs = only ? all.filter((p) => only.includes(p.name)) : all;
  if (types) buildTypes();
  const stale = [];
  const results = [];
  for (const pkg of pkgs) {
    const dist = join(ROOT, pkg.dir, 'dist');
    rmSync(dist, { recursive: true, force: true });
    mkdirSync(dist, { recursive: true });
    const node = await bundle(pkg, 'node');
    const browser = pkg.isCli ? { shims: [] } : await bundle(pkg, 'browser');
    const hasBrowser = browser.shims.length > 0;
    writeFileSync(join(dist, `${pkg.entry}.js`), node.text);
    if (hasBrowser) writeFileSync(join(dist, `${pkg.entry}.browser.js`), browser.text);
    writeFileSync(join(dist, 'package.json'), '{ "type": "module" }\n');
    if (types) copyTypes(pkg, all);
    const fields = manifestFields(pkg, { hasBrowser, versions, workspaceVersion: root.version });
    const wanted = applyManifest(pkg.manifest, fields);
    const text = `${JSON.stringify(wanted, null, 2)}\n`;
    const path = join(ROOT, pkg.dir, 'package.json');
    if (readFileSync(path, 'utf8') !== text) {
      if (syncManifests) writeAtomic(path, text);
      else stale.push(pkg.dir);
    }
    results.push({ name: pkg.name, dir: pkg.dir, browserShims: browser.shims });
  }
  if (stale.length) {
    throw new Error(`package.json out of date with the sources' imports or the build: ${stale.join(', ')}; run node tools/scripts/build-packages.mjs --sync-manifests`);
  }
  // The digest was taken before building; a manifest the build rewrote makes the next run build again.
  if (digest && !syncManifests) writeFileSync(STAMP, digest);
  return results;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const args = process.argv.slice(2);
  const onlyAt = args.indexOf('--only');
  buildPackages({
    syncManifests: args.includes('--sync-manifests'),
    types: !args.includes('--no-types'),
    only: onlyAt >= 0 ? args[onlyAt + 1].split(',') : undefined,
    ifStale: args.includes('--if-stale'),
  }).then(
    (r) => {
      if (r.every((p) => p.skipped)) return console.log('build-packages: dist/ is up to date');
      for (const p of r) console.log(`${p.name.padEnd(30)} ${p.dir}${p.browserShims.length ? `  browser stubs: ${p.browserShims.join(' ')}` : ''}`);
    },
    (e) => {
      console.error(`build-packages: ${e.message}`);
      process.exit(1);
    },
  );
}
