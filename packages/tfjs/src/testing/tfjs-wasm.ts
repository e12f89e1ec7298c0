import { dirname, join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';

/**
 * TensorFlow.js on its wasm backend, the reference the TF.js importer is
 * checked against. The backend is chosen before any tensor exists.
 */
export async function tfWasm(): Promise<typeof tf> {
  if (tf.getBackend() !== 'wasm') {
    setWasmPaths(`${join(dirname(require.resolve('@tensorflow/tfjs-backend-wasm/package.json')), 'dist')}/`);
    await tf.setBackend('wasm');
    await tf.ready();
  }
  return tf;
}
