// Jest runs each test file in a vm context whose typed-array constructors differ
// from the host's. onnxruntime-node checks `data instanceof Float32Array` against
// the host's constructors and rejects sandbox arrays, so the sandbox gets the
// host's constructors instead.
const { TestEnvironment } = require('jest-environment-node');

const HOST_GLOBALS = [
  'ArrayBuffer', 'SharedArrayBuffer', 'DataView',
  'Int8Array', 'Uint8Array', 'Uint8ClampedArray', 'Int16Array', 'Uint16Array',
  'Int32Array', 'Uint32Array', 'Float32Array', 'Float64Array',
  'BigInt64Array', 'BigUint64Array',
];

class NibbleNodeEnvironment extends TestEnvironment {
  constructor(config, context) {
    super(config, context);
    for (const name of HOST_GLOBALS) {
      if (globalThis[name] !== undefined) this.global[name] = globalThis[name];
    }
  }
}

module.exports = NibbleNodeEnvironment;
