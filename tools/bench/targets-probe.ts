/*
 * Element-level comparison of a tflite file with the simulation of the same
 * constrained scheme (issue 11), for tools/bench/targets.ts --probe: the
 * file written with every int8 activation as an output (writeTflite's
 * `intermediates`), run by TFLite 2.9 (tools/tflite-ref), against the
 * simulation's DequantizeLinear outputs in onnxruntime (Q/DQ run exactly).
 * For each quantized activation of the IR it prints how many elements of the
 * file's tensor of that name differ from the simulation's levels, and by how
 * many levels (the histogram of TFLite minus simulation).
 *
 *   npx tsx tools/bench/targets.ts --probe fmnist-resnet20 w4a4-all [--limit 100]
 */
import { type Model, Tensor } from '@nibble/ir';
import { lowerToQdq } from '@nibble/onnx';
import { createOrtExecutor } from '@nibble/runtime';
import { choosePreprocess, createTfliteExecutor, loadModel, quantize } from 'nibble';
import { parseTfliteFile, toTfliteLayout, writeTflite } from '@nibble/tflite';
import { openDataset } from '@nibble/data';

/** The simulation's quantized value of each IR activation (by the IR value's name), in the file's layout. */
export async function simulated(model: Model, feed: Record<string, Tensor>): Promise<Map<string, Float64Array>> {
  const lowered = lowerToQdq(model);
  const g = lowered.graph;
  const of = new Map<string, string>();
  for (const n of g.nodes) {
    const q = n.inputs[0]?.producer;
    if (n.opType !== 'DequantizeLinear' || q?.opType !== 'QuantizeLinear') continue;
    // Back through the lowering's clamp (Max/Min) to the value the annotation was on.
    let v = q.inputs[0]!;
    while (v.producer && (v.producer.opType === 'Min' || v.producer.opType === 'Max')) v = v.producer.inputs[0]!;
    of.set(n.outputs[0].name, v.name);
    if (!n.outputs[0].isGraphOutput) g.addOutput(n.outputs[0]);
  }
  const ex = await createOrtExecutor(lowered, { exactQdq: true });
  try {
    const out = await ex.run(feed, ex.outputNames);
    const byValue = new Map<string, Float64Array>();
    for (const [name, t] of Object.entries(out)) if (of.has(name)) byValue.set(of.get(name)!, toTfliteLayout(t).data);
    return byValue;
  } finally {
    await ex.dispose();
  }
}

export async function probeTflite(modelName: string, recipe: string, limit: number): Promise<void> {
  const model = await loadModel(`models/${modelName}.onnx`);
  const q = await quantize(model, { recipe, data: 'fashion-mnist:calib', samples: 256, target: 'tflite' });
  const input = q.model.graph.inputs[0].name;
  // The first `limit` test images, preprocessed as evaluate and quantize preprocess them.
  const choice = choosePreprocess('fashion-mnist:test', model);
  const test = await openDataset('fashion-mnist:test', { preprocess: choice.source === 'none' ? undefined : choice.text });
  let x: Tensor | undefined;
  for await (const b of test.batches({ batchSize: limit, limit })) x ??= b.inputs;
  console.log(`${modelName} ${recipe}: TFLite 2.9 levels minus the simulation's, ${limit} test images (pipeline ${q.report.pipeline})`);
  for (const row of await levelDifferences(q.model, { [input]: x! }, limit)) console.log(row.line);
}

/** One quantized activation: elements of the file's tensor off the simulation's levels, and the histogram of TFLite minus simulation. */
export interface LevelDifference {
  name: string;
  off: number;
  n: number;
  histogram: Map<number, number>;
  line: string;
}

/** Every int8 activation of the tflite file written from `model` (at `batch`) as TFLite 2.9 computes it, against the simulation's levels. */
export async function levelDifferences(model: Model, feed: Record<string, Tensor>, batch: number): Promise<LevelDifference[]> {
  const input = Object.keys(feed)[0];
  const sim = await simulated(model, feed);
  const bytes = writeTflite(model, { batch, intermediates: true });
  const file = createTfliteExecutor(bytes, { input, output: model.graph.outputs[0].name }, batch);
  const r = Object.entries(await file.run(feed)).map(([name, t]) => ({ name, data: t.toFloat64() }));
  const sg = parseTfliteFile(bytes).subgraphs[0];
  const grids = new Map(sg.tensors.filter((t) => t.type === 'INT8' && t.quantization).map((t) => [t.name, t.quantization!]));
  const rows: LevelDifference[] = [];
  for (const out of r) {
    // The writer renames a tensor whose float twin carries the value's name (the input's QUANTIZE output, the logits).
    const s = sim.get(out.name) ?? sim.get(out.name.replace(/\/int8$/, ''));
    const grid = grids.get(out.name);
    if (!s || !grid) continue;
    const [scale, zp] = [grid.scale[0], grid.zeroPoint[0]];
    const hist = new Map<number, number>();
    let off = 0;
    for (let i = 0; i < s.length; i++) {
      const d = out.data[i] - (Math.round(s[i] / scale) + zp);
      if (d === 0) continue;
      off++;
      hist.set(d, (hist.get(d) ?? 0) + 1);
    }
    const h = [...hist].sort((a, b) => a[0] - b[0]).map(([d, c]) => `${d > 0 ? '+' : ''}${d}: ${c}`).join(', ');
    rows.push({ name: out.name, off, n: s.length, histogram: hist, line: `${out.name.padEnd(32)} ${String(off).padStart(9)} of ${String(s.length).padEnd(9)} off  ${h}` });
  }
  return rows;
}
