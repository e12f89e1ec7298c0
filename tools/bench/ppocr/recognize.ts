import type { Model } from '@nibble/ir';
import { createOrtExecutor } from '@nibble/runtime';
import type { CalibrationData } from '@nibble/stats';
import { type CharacterSet, ctcGreedyDecode, type Decoded } from './ctc';
import { REC_HEIGHT, REC_WIDTH, stack } from './ocr-inputs';

const BATCH = 8;

/** Batches of recognition inputs ([3, 48, 320] each) as calibration data. */
export function recCalibrationData(inputs: readonly Float32Array[], description: string): CalibrationData {
  return {
    samples: inputs.length,
    description,
    async *batches() {
      for (let i = 0; i < inputs.length; i += BATCH) yield { x: stack(inputs.slice(i, i + BATCH), [3, REC_HEIGHT, REC_WIDTH]) };
    },
  };
}

/** Levenshtein distance between two strings, by code point (insertions, deletions, substitutions cost 1). */
export function editDistance(a: string, b: string): number {
  const x = Array.from(a);
  const y = Array.from(b);
  let row = Array.from({ length: y.length + 1 }, (_, j) => j);
  for (let i = 1; i <= x.length; i++) {
    const next = [i];
    for (let j = 1; j <= y.length; j++) next.push(Math.min(row[j] + 1, next[j - 1] + 1, row[j - 1] + (x[i - 1] === y[j - 1] ? 0 : 1)));
    row = next;
  }
  return row[y.length];
}

/** Reads every crop: the softmax output decoded greedily, and the raw output ([steps, classes] each) for comparisons. */
export async function recognize(model: Model, inputs: readonly Float32Array[], set: CharacterSet): Promise<{ decoded: Decoded[]; outputs: Float32Array[] }> {
  const executor = await createOrtExecutor(model);
  try {
    const decoded: Decoded[] = [];
    const outputs: Float32Array[] = [];
    for (let i = 0; i < inputs.length; i += BATCH) {
      const part = inputs.slice(i, i + BATCH);
      const r = await executor.run({ [executor.inputNames[0]]: stack(part, [3, REC_HEIGHT, REC_WIDTH]) });
      const y = r[executor.outputNames[0]];
      const [n, steps, classes] = y.shape as number[];
      if (n !== part.length || classes !== set.chars.length) throw new Error(`recognition output [${y.shape.join(',')}] for ${part.length} crops and ${set.chars.length} classes`);
      const data = y.data as Float32Array;
      for (let k = 0; k < n; k++) {
        const one = new Float32Array(data.subarray(k * steps * classes, (k + 1) * steps * classes));
        outputs.push(one);
        decoded.push(ctcGreedyDecode(one, steps, set));
      }
    }
    return { decoded, outputs };
  } finally {
    await executor.dispose();
  }
}
