// Lint holds the package matrix of ARCHITECTURE.md: each project's tags say
// what it is, and @nx/enforce-module-boundaries fails an import that points up.
import nx from '@nx/eslint-plugin';
import tseslint from 'typescript-eslint';

const onlyDependOn = (...tags) => tags;

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
  {
    sourceTag: 'type:api',
    onlyDependOnLibsWithTags: onlyDependOn('type:ir', 'type:quant', 'type:core', 'type:stats', 'type:data', 'type:format', 'type:runtime', 'type:pass-graph', 'type:pass', 'type:backend'),
  },
  { sourceTag: 'type:app', onlyDependOnLibsWithTags: onlyDependOn('type:api') },
  { sourceTag: 'type:tools', onlyDependOnLibsWithTags: onlyDependOn('*') },
  // Helpers shared by tests (tools/test-support): tests reach them through the allow list below; production code cannot.
  // Core and stats: the fake calibration that the quantization passes' tests share serves the calibration analysis.
  { sourceTag: 'type:test-support', onlyDependOnLibsWithTags: onlyDependOn('type:ir', 'type:core', 'type:stats', 'type:data') },
];


const boundaries = (allow) => ({
  '@nx/enforce-module-boundaries': [
    'error',
    { enforceBuildableLibDependency: false, allow, depConstraints: DEP_CONSTRAINTS },
  ],
});

export default [
  { ignores: ['**/node_modules/**', '**/dist/**', '**/out/**', '**/generated/**', '**/*.js', '**/*.mjs', '**/*.cjs'] },
  {
    files: ['**/*.ts'],
    languageOptions: { parser: tseslint.parser },
    plugins: { '@nx': nx },
    rules: boundaries([]),
  },
  {
    // Tests may reach any package's public API for an independent reference
    // (e.g. a format package's test running the model in @nibble/runtime);
    // production code may not.
    files: ['**/*.spec.ts', '**/testing/**/*.ts'],
    rules: boundaries(['@nibble/*', 'nibble']),
  },
];
