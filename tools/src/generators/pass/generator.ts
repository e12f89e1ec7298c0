import { generateFiles, names, type Tree } from '@nx/devkit';
import * as path from 'path';

export interface PassGeneratorSchema {
  /** Pipeline name, kebab-case. */
  name: string;
  /** Folder under packages/ that will hold the pass. */
  package: string;
  /** One line for `nibble passes`. */
  summary?: string;
}

const KEBAB = /^[a-z][a-z0-9]*(-[a-z0-9]+)*$/;

/** Tags whose projects may not import @nibble/core (see the matrix in eslint.config.mjs). */
const CANNOT_IMPORT_CORE = ['type:ir', 'type:quant', 'type:data', 'type:format'];

/**
 * Inside @nibble/core a pass cannot import the package by name (lint forbids
 * a project importing itself) nor through its index (a cycle: the index
 * registers the pass). These are the files that define what a pass needs.
 */
const CORE_MODULE_OF: Record<string, string> = {
  definePass: './pass',
  registerPass: './registry',
  getPass: './registry',
  createPassContext: './context',
  runPipeline: './pass-manager',
  resolvePipeline: './resolve',
};

function coreImport(pkg: string, symbols: string[]): string {
  if (pkg !== 'core') return `import { ${symbols.join(', ')} } from '@nibble/core';`;
  const byModule = new Map<string, string[]>();
  for (const s of symbols) byModule.set(CORE_MODULE_OF[s], [...(byModule.get(CORE_MODULE_OF[s]) ?? []), s]);
  return [...byModule].sort(([a], [b]) => (a < b ? -1 : 1)).map(([m, syms]) => `import { ${syms.join(', ')} } from '${m}';`).join('\n');
}

function tsString(s: string): string {
  return `'${s.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
}

class GeneratorError extends Error {
  constructor(message: string) {
    super(`nibble pass generator: ${message}`);
    this.name = 'GeneratorError';
  }
}

/** Every .ts file under `dir` in the tree (sorted, for deterministic messages). */
function tsFiles(tree: Tree, dir: string): string[] {
  if (!tree.exists(dir)) return [];
  const out: string[] = [];
  for (const child of tree.children(dir).sort()) {
    const p = `${dir}/${child}`;
    if (tree.isFile(p)) {
      if (p.endsWith('.ts')) out.push(p);
    } else if (child !== 'node_modules') {
      out.push(...tsFiles(tree, p));
    }
  }
  return out;
}

/** Where a pass of this name is already defined in the workspace, if anywhere. */
function findExistingPass(tree: Tree, name: string): string | undefined {
  const fileName = `${name}.pass.ts`;
  const declared = new RegExp(`name:\\s*['"]${name}['"]`);
  for (const pkg of tree.exists('packages') ? tree.children('packages').sort() : []) {
    for (const f of tsFiles(tree, `packages/${pkg}/src`)) {
      if (f.endsWith(`/${fileName}`)) return f;
      if (f.endsWith('.spec.ts')) continue;
      const text = tree.read(f, 'utf-8') ?? '';
      if (text.includes('definePass(') && declared.test(text)) return f;
    }
  }
  return undefined;
}

/** End offset of the last top-level import statement, or 0. */
function endOfImports(text: string): number {
  let end = 0;
  for (const m of text.matchAll(/^import\s[^;]*;[^\S\n]*\n?/gm)) end = (m.index ?? 0) + m[0].length;
  return end;
}

/**
 * Add `import { x } from './name.pass'` after the imports, a registerPass
 * import if missing, and the registration at the end (after any other
 * registerPass line without a blank line). The pass object is not exported:
 * the registry is how other packages reach it.
 */
export function addRegistration(text: string, pkg: string, constName: string, name: string): string {
  const lines: string[] = [];
  if (!/import\s*\{[^}]*\bregisterPass\b[^}]*\}/.test(text)) lines.push(coreImport(pkg, ['registerPass']));
  lines.push(`import { ${constName} } from './${name}.pass';`);
  const at = endOfImports(text);
  const imports = `${text.slice(0, at).trimEnd() ? `${text.slice(0, at).trimEnd()}\n` : ''}${lines.join('\n')}\n`;
  const body = text.slice(at).trim();
  const tail = `registerPass(${constName});\n`;
  const gap = /(^|\n)registerPass\([^)]*\);$/.test(body) ? '\n' : '\n\n';
  return `${imports}\n${body ? `${body}${gap}` : ''}${tail}`;
}

/**
 * `nx g @nibble/tools:pass <name> --package <pkg>`: scaffolds
 * packages/<pkg>/src/<name>.pass.ts and <name>.pass.spec.ts and registers the
 * pass in the package's src/passes.ts (when the package keeps one) or src/index.ts.
 */
export async function passGenerator(tree: Tree, options: PassGeneratorSchema): Promise<void> {
  const name = (options.name ?? '').trim();
  const pkg = (options.package ?? '').trim().replace(/^packages\//, '').replace(/\/$/, '');
  if (!KEBAB.test(name)) {
    const suggestion = names(name || 'my-pass').fileName.replace(/[^a-z0-9-]/g, '-').replace(/-+/g, '-').replace(/^-|-$/g, '');
    throw new GeneratorError(
      `pass name '${name}' is not kebab-case; the name is what pipelines write, so use lowercase words joined by '-'${KEBAB.test(suggestion) ? `, e.g. '${suggestion}'` : ''}`,
    );
  }
  const pkgDir = `packages/${pkg}`;
  if (!pkg || !tree.exists(`${pkgDir}/package.json`)) {
    const known = tree.exists('packages') ? tree.children('packages').filter((p) => tree.exists(`packages/${p}/package.json`)).sort() : [];
    throw new GeneratorError(`there is no package '${pkg}' (no ${pkgDir}/package.json); packages: ${known.join(', ') || '(none)'}`);
  }
  const projectJson = tree.exists(`${pkgDir}/project.json`) ? (JSON.parse(tree.read(`${pkgDir}/project.json`, 'utf-8') ?? '{}') as { tags?: string[] }) : {};
  const blocked = (projectJson.tags ?? []).find((t) => CANNOT_IMPORT_CORE.includes(t));
  if (blocked) {
    throw new GeneratorError(`package '${pkg}' is tagged ${blocked}, which may not import @nibble/core, so it cannot hold a pass; put the pass in a pass-* package`);
  }
  const existing = findExistingPass(tree, name);
  if (existing) {
    throw new GeneratorError(`a pass named '${name}' already exists (${existing}); pass names are global, choose another`);
  }

  const constName = `${names(name).propertyName}Pass`;
  const summary = (options.summary ?? '').trim() || `TODO: say in one line what ${name} does`;
  generateFiles(tree, path.join(__dirname, 'files'), `${pkgDir}/src`, {
    name,
    constName,
    summaryLiteral: tsString(summary),
    importCore: (symbols: string[]) => coreImport(pkg, symbols),
  });

  const registryFile = tree.exists(`${pkgDir}/src/passes.ts`) ? `${pkgDir}/src/passes.ts` : `${pkgDir}/src/index.ts`;
  const before = tree.read(registryFile, 'utf-8') ?? '';
  tree.write(registryFile, addRegistration(before, pkg, constName, name));
}

export default passGenerator;
