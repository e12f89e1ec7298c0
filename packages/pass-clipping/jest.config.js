module.exports = { ...require('../../jest.preset.js'), displayName: 'pass-clipping', rootDir: __dirname };
