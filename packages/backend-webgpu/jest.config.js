// The adapter loader (src/gpu.ts) points Vulkan at SwiftShader when VK_ICD_FILENAMES is unset, but inside
// Jest's sandbox process.env is a copy that never reaches the C environment Dawn reads: set it here, in
// Jest's own process, before the workers that inherit it start.
const fs = require('fs');
const ICD = '/usr/lib/chromium/vk_swiftshader_icd.json';
if (!process.env.VK_ICD_FILENAMES && fs.existsSync(ICD)) process.env.VK_ICD_FILENAMES = ICD;

module.exports = { ...require('../../jest.preset.js'), displayName: 'backend-webgpu', rootDir: __dirname };
