import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';

/**
 * The wasm backend is the only fast one that installs here (tfjs-node needs a
 * download). Its multithreaded build is disabled under Node by the package
 * itself (WASM_HAS_MULTITHREAD_SUPPORT is false when IS_NODE, and its workers
 * are browser Blob workers), so training runs on one thread.
 */
export async function initWasmBackend(): Promise<typeof tf> {
  if (tf.getBackend() === 'wasm') return tf;
  const dist = path.join(path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm/package.json')), 'dist') + path.sep;
  setWasmPaths(dist);
  const ok = await tf.setBackend('wasm');
  if (!ok) throw new Error(`could not initialise the TF.js wasm backend from ${dist}`);
  await tf.ready();
  return tf;
}

export { tf };
