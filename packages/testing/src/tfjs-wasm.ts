import { dirname, join } from 'node:path';

type Tf = typeof import('@tensorflow/tfjs');

/**
 * TensorFlow.js on its wasm backend, the reference the TF.js importer is
 * checked against. The backend is chosen before any tensor exists. TF.js is
 * loaded on the first call, not with the package.
 */
export async function tfWasm(): Promise<Tf> {
  const tf: Tf = await import('@tensorflow/tfjs');
  if (tf.getBackend() !== 'wasm') {
    const { setWasmPaths } = await import('@tensorflow/tfjs-backend-wasm');
    setWasmPaths(`${join(dirname(require.resolve('@tensorflow/tfjs-backend-wasm/package.json')), 'dist')}/`);
    await tf.setBackend('wasm');
    await tf.ready();
  }
  return tf;
}
