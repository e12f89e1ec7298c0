import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';

/** The checkout's root (where the bundled models and data live), found from this file. */
export function workspaceRoot(): string {
  let dir = __dirname;
  while (!existsSync(join(dir, 'nx.json'))) {
    const up = dirname(dir);
    if (up === dir) return process.cwd();
    dir = up;
  }
  return dir;
}

/** The bundled default model of the main job: the zoo's Fashion-MNIST ResNet-20 (models/manifest.json). */
export function defaultModelPath(): string {
  return join(workspaceRoot(), 'models', 'fmnist-resnet20.onnx');
}
