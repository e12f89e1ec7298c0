module.exports = { ...require('../../jest.preset.js'), displayName: 'pass-quantize', rootDir: __dirname };
