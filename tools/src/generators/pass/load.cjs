// Nx loads generator factories with require(). Node 20 cannot strip types and
// the workspace has neither ts-node nor @swc-node, so load the TypeScript
// source through tsx (a dev dependency), scoped to this one require.
const { require: tsxRequire } = require('tsx/cjs/api');

module.exports = tsxRequire('./generator.ts', __filename);
