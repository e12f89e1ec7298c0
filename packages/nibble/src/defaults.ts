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

/** The bundled default model of the main job (until the model zoo lands: PP-OCR's direction classifier). */
export function defaultModelPath(): string {
  return join(workspaceRoot(), 'node_modules', '@gutenye', 'ocr-models', 'assets', 'ch_ppocr_mobile_v2.0_cls_infer.onnx');
}
