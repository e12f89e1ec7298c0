// Shared Jest settings for every project. ts-jest only transpiles (isolatedModules);
// type checking is `npm run typecheck`, which the test command runs first.
const path = require('path');
const { compilerOptions } = require('./tsconfig.base.json');

const moduleNameMapper = {};
for (const [name, [target]] of Object.entries(compilerOptions.paths)) {
  moduleNameMapper[`^${name.replace('/', '\\/')}$`] = path.join(__dirname, target);
}

module.exports = {
  testEnvironment: path.join(__dirname, 'packages/testing/jest/node-environment.js'),
  transform: {
    '^.+\\.ts$': ['ts-jest', { tsconfig: path.join(__dirname, 'tsconfig.spec.json') }],
  },
  moduleFileExtensions: ['ts', 'js', 'json'],
  testMatch: ['**/*.spec.ts'],
  testPathIgnorePatterns: ['/node_modules/', '/dist/'],
  moduleNameMapper,
  // CI is a loaded 2-core machine: a test that takes 2 s alone can take 20 s there. Specs bound work, not time.
  testTimeout: 60_000,
};
