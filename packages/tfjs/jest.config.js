module.exports = { ...require('../../jest.preset.js'), displayName: 'tfjs', rootDir: __dirname };
