module.exports = { ...require('../../jest.preset.js'), displayName: 'nibble', rootDir: __dirname };
