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

/**
 * Every default the API and the CLI share, in one place: the API falls back
 * to these, and the CLI's help text is written from them.
 */
export const DEFAULTS = Object.freeze({
  /** Calibration samples when none are given (the whole dataset when it is smaller). */
  calibrationSamples: 128,
  /** Samples per run of the float model during calibration: memory holds all activations of one batch (docs/benchmarks.md). */
  calibrationBatch: 32,
  /** Samples per run of the model during evaluation. */
  evaluationBatch: 64,
  /** Seed of the calibration subset. */
  seed: 0,
  /** Calibration samples of the main job (`nibble start`), as the paper's table uses. */
  mainJobSamples: 512,
});
