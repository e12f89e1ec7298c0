// The tools project's own specs (generators, scripts); tools/bench and tools/zoo are projects of their own.
module.exports = { ...require('../jest.preset.js'), displayName: 'tools', rootDir: __dirname, roots: ['<rootDir>/src', '<rootDir>/scripts'] };
