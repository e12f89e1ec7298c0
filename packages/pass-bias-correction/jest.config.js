module.exports = { ...require('../../jest.preset.js'), displayName: 'pass-bias-correction', rootDir: __dirname };
