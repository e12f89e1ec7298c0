module.exports = { ...require('../../jest.preset.js'), displayName: 'pass-graph', rootDir: __dirname };
