module.exports = { ...require('../../jest.preset.js'), displayName: 'pass-allocation', rootDir: __dirname };
