module.exports = { ...require('../../jest.preset.js'), displayName: 'tflite', rootDir: __dirname };
