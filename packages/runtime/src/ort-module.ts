import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { NibbleError } from '@nibble/ir';

/** The API both onnxruntime-node and onnxruntime-web export (onnxruntime-common's). */
export type Ort = typeof import('onnxruntime-common');

export type OrtBackend = 'node' | 'web';

/**
 * The execution provider each backend runs on. Both packages register their
 * backends in the one onnxruntime-common registry: onnxruntime-web takes
 * 'cpu' and 'wasm' at priority 10, onnxruntime-node 'cpu' at 100. Naming the
 * provider explicitly keeps a web session off the native binding and a node
 * session off wasm, whichever package was loaded first.
 */
export const EXECUTION_PROVIDER: Record<OrtBackend, string> = { node: 'cpu', web: 'wasm' };

let webReady: Promise<Ort> | undefined;

/**
 * onnxruntime-web, set up to run under Node without fetching anything: the
 * wasm files come from the package's own dist/ directory, and one thread, so
 * no worker is spawned. Its loader imports an ES module at run time, which
 * inside Jest needs NODE_OPTIONS=--experimental-vm-modules.
 */
async function loadWeb(): Promise<Ort> {
  const ort = (await import('onnxruntime-web')) as Ort;
  // In a browser the bundler serves the wasm files beside onnxruntime-web's module; only Node needs a file URL.
  if (typeof process !== 'undefined' && process.versions?.node) {
    const dist = dirname(require.resolve('onnxruntime-web'));
    ort.env.wasm.wasmPaths = `${pathToFileURL(join(dist, '/')).href}`;
  }
  ort.env.wasm.numThreads = 1;
  ort.env.wasm.proxy = false;
  return ort;
}

export async function loadOrt(backend: OrtBackend): Promise<Ort> {
  try {
    if (backend === 'node') return (await import('onnxruntime-node')) as Ort;
    webReady ??= loadWeb();
    return await webReady;
  } catch (e) {
    webReady = undefined;
    throw new NibbleError('E_RUNTIME', `cannot load onnxruntime-${backend}: ${(e as Error).message}`, {
      option: 'backend',
      hint: `install it with ONNXRUNTIME_NODE_INSTALL=skip npm ci${backend === 'web' ? '; under Jest, set NODE_OPTIONS=--experimental-vm-modules' : ''}`,
      cause: e,
    });
  }
}
