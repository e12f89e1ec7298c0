#!/usr/bin/env node
// In a checkout the CLI is TypeScript run through tsx's require hook, so it works without a build step;
// an installed package (npm pack: no src/) runs the ESM build in dist/ (tools/scripts/build-packages.mjs).
const { existsSync } = require('node:fs');
const { join } = require('node:path');

const source = join(__dirname, '..', 'src', 'main.ts');
if (existsSync(source)) {
  require('tsx/cjs');
  require(source).runCli();
} else {
  import('../dist/main.js').then((cli) => cli.runCli());
}
