import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';
import { buildPackages, buildPhotoAssets, edgeDemoPlugin } from './src/build/demo-plugin';

/*
 * The edge demo: `npx vite --config apps/edge-demo/vite.config.ts` serves it,
 * `npx vite build --config apps/edge-demo/vite.config.ts [--outDir DIR]` builds it.
 *
 * Why the built packages and not an alias to src/: the page is the proof that
 * nibble works in a web developer's bundle, so it resolves 'nibble' the way an
 * installed copy resolves, through the exports map's `browser` condition
 * (Vite's default for client code) to dist/index.browser.js, where the
 * Node-only parts (files, onnxruntime-node, zlib) are stubs that throw. The
 * sources import node:fs, node:path and onnxruntime-node at their top level
 * (datasets.ts, ort-module.ts, ...): aliased, Vite would externalize those as
 * empty modules and the page would fail at import time, or worse, later.
 * The cost is one build of the packages, skipped when their sources have not
 * changed (build-packages.mjs --if-stale).
 */

const APP = dirname(fileURLToPath(import.meta.url));
const ROOT = resolve(APP, '..', '..');

export default defineConfig(({ command }) => {
  buildPackages(ROOT);
  buildPhotoAssets(ROOT);
  return {
    root: APP,
    base: './',
    // Nothing from the network at run time: no CDN, no fonts; onnxruntime-web's wasm files become assets of the build.
    plugins: [edgeDemoPlugin(ROOT)],
    resolve: { conditions: ['browser', 'module', 'import', 'default'] },
    // onnxruntime-web finds its .wasm and .mjs beside its own module (new URL(..., import.meta.url)); pre-bundling
    // it into .vite/deps would move the module away from them, so the dev server serves it as it is.
    optimizeDeps: { exclude: ['onnxruntime-web'] },
    build: { outDir: join(APP, 'dist'), emptyOutDir: true, target: 'es2022', chunkSizeWarningLimit: 4096, assetsInlineLimit: 0 },
    server: { fs: { allow: [ROOT] } },
    logLevel: command === 'build' ? 'warn' : 'info',
  };
});
