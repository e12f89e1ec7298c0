// webgpu/*.spec.ts run @nibble/backend-webgpu in Node: Dawn reads VK_ICD_FILENAMES from the C environment,
// which Jest's sandboxed process.env never reaches, so SwiftShader's driver is named here, in Jest's own
// process, before the workers that inherit it start (as packages/backend-webgpu/jest.config.js does).
const fs = require('fs');
const ICD = '/usr/lib/chromium/vk_swiftshader_icd.json';
if (!process.env.VK_ICD_FILENAMES && fs.existsSync(ICD)) process.env.VK_ICD_FILENAMES = ICD;

module.exports = { ...require('../../jest.preset.js'), displayName: 'bench', rootDir: __dirname };
