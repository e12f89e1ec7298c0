// Lint holds the package matrix of ARCHITECTURE.md: each project's tags say
// what it is, and @nx/enforce-module-boundaries fails an import that points up.
import { readFileSync } from 'node:fs';
import nx from '@nx/eslint-plugin';
import tseslint from 'typescript-eslint';

const onlyDependOn = (...tags) => tags;

// Every library of the product: what tools and tests may reach.
const PACKAGES = ['type:ir', 'type:quant', 'type:core', 'type:stats', 'type:data', 'type:format', 'type:runtime', 'type:pass-graph', 'type:pass', 'type:backend', 'type:api'];

const DEP_CONSTRAINTS = [
  { sourceTag: 'type:ir', onlyDependOnLibsWithTags: onlyDependOn() },
  { sourceTag: 'type:quant', onlyDependOnLibsWithTags: onlyDependOn('type:ir') },
  { sourceTag: 'type:core', onlyDependOnLibsWithTags: onlyDependOn('type:ir') },
  { sourceTag: 'type:stats', onlyDependOnLibsWithTags: onlyDependOn('type:ir', 'type:core') },
  { sourceTag: 'type:data', onlyDependOnLibsWithTags: onlyDependOn('type:ir') },
  { sourceTag: 'type:format', onlyDependOnLibsWithTags: onlyDependOn('type:ir', 'type:quant') },
  { sourceTag: 'type:runtime', onlyDependOnLibsWithTags: onlyDependOn('type:ir', 'type:core', 'type:format') },
  { sourceTag: 'type:pass-graph', onlyDependOnLibsWithTags: onlyDependOn('type:ir', 'type:core') },
  { sourceTag: 'type:pass', onlyDependOnLibsWithTags: onlyDependOn('type:ir', 'type:quant', 'type:core', 'type:stats') },
  { sourceTag: 'type:backend', onlyDependOnLibsWithTags: onlyDependOn('type:ir', 'type:quant', 'type:core') },
  { sourceTag: 'type:api', onlyDependOnLibsWithTags: onlyDependOn(...PACKAGES.filter((t) => t !== 'type:api')) },
  { sourceTag: 'type:app', onlyDependOnLibsWithTags: onlyDependOn('type:api') },
  // Tools (generators, benchmarks, zoo training): any package, never test support or another tool.
  { sourceTag: 'type:tools', onlyDependOnLibsWithTags: onlyDependOn(...PACKAGES) },
  { sourceTag: 'type:bench', onlyDependOnLibsWithTags: onlyDependOn(...PACKAGES) },
  { sourceTag: 'type:zoo', onlyDependOnLibsWithTags: onlyDependOn(...PACKAGES) },
  { sourceTag: 'type:fuzz', onlyDependOnLibsWithTags: onlyDependOn(...PACKAGES) },
  // @nibble/testing sits beside the tools: it may use any package, and only tests may use it.
  // (Its own tag too: with the cycles through it ignored below, Nx checks its files' imports
  // of each other as dependencies.)
  { sourceTag: 'type:testing', onlyDependOnLibsWithTags: onlyDependOn(...PACKAGES, 'type:testing') },
  { sourceTag: 'type:e2e', onlyDependOnLibsWithTags: onlyDependOn(...PACKAGES, 'type:testing') },
];

// The import names of the projects under packages/ (tsconfig.base.json's paths):
// what a test may import from any project. Not @nibble/tools, nothing under tools/.
// The rule reads an allow entry without a wildcard as a regular expression, so
// each is anchored ('nibble' alone would match '@nibble/tools').
const { compilerOptions } = JSON.parse(readFileSync(new URL('./tsconfig.base.json', import.meta.url), 'utf8'));
const PACKAGE_IMPORTS = Object.entries(compilerOptions.paths)
  .filter(([, [target]]) => target.startsWith('packages/'))
  .map(([name]) => `^${name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`);

// Nx's project graph counts the imports of specs too. Specs of low packages import
// @nibble/testing, which imports the packages it drives (stats, core, data, ...), so
// a path through it can close a loop that production code never walks. Production
// code cannot import @nibble/testing (the constraints above), so a cycle through it
// is a test-time one and is not reported; every other cycle still is.
const IGNORED_CYCLES = [['testing', '*']];

const boundaries = (allow) => ({
  '@nx/enforce-module-boundaries': [
    'error',
    { enforceBuildableLibDependency: false, allow, depConstraints: DEP_CONSTRAINTS, ignoredCircularDependencies: IGNORED_CYCLES },
  ],
});

// Specs and the helpers beside them: `*.spec.ts`, and `testing/` folders
// (a package's src/testing/, and @nibble/testing itself, packages/testing/).
const TEST_FILES = ['**/*.spec.ts', '**/src/testing/**/*.ts', 'packages/testing/**/*.ts'];

export default [
  { ignores: ['**/node_modules/**', '**/dist/**', '**/out/**', '**/generated/**', '**/*.js', '**/*.mjs', '**/*.cjs'] },
  {
    files: ['**/*.ts'],
    languageOptions: { parser: tseslint.parser },
    plugins: { '@nx': nx },
    rules: {
      ...boundaries([]),
      // Production code never reaches a test helper: not @nibble/testing (the boundary rule
      // also fails that), not a package's own src/testing/ folder.
      'no-restricted-imports': ['error', {
        patterns: [{ regex: '(^|/)testing(/|$)', message: 'test support is for specs (*.spec.ts) and testing/ helpers only' }],
      }],
    },
  },
  {
    // Tests may reach any package's public API for an independent reference
    // (e.g. a format package's test running the model in @nibble/runtime) and
    // @nibble/testing; production code may not. Nothing reaches into tools/.
    files: TEST_FILES,
    rules: { ...boundaries(PACKAGE_IMPORTS), 'no-restricted-imports': 'off' },
  },
];
