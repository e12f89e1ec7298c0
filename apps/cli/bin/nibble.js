#!/usr/bin/env node
// The CLI is TypeScript run through tsx's require hook, so a checkout works without a build step.
require('tsx/cjs');
require('../src/main.ts').runCli();
