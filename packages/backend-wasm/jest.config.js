module.exports = { ...require('../../jest.preset.js'), displayName: 'backend-wasm', rootDir: __dirname };
