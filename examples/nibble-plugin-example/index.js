// An example nibble plugin: one pass, clamp-weights, written against nibble's public API only.
//
// Min/max weight quantization spends its few 4-bit levels on the whole range of a layer's
// weights, so one outlier widens every step. Clamping each weight tensor to mean ± sigma·std
// first trades a small error on the outliers for a finer grid everywhere else.
// Use it by name:  nibble quantize m.onnx --plugin nibble-plugin-example --pipeline "...,clamp-weights{sigma=3},quant-policy,..."
import { definePass, Tensor } from 'nibble';

/** Operators whose input 1 is a weight that quantization puts on an integer grid. */
const WEIGHTED = new Set(['Conv', 'Gemm', 'MatMul']);

function meanStd(values) {
  let sum = 0;
  for (const x of values) sum += x;
  const mean = sum / values.length;
  let sq = 0;
  for (const x of values) sq += (x - mean) * (x - mean);
  return { mean, std: Math.sqrt(sq / values.length) };
}

export const clampWeightsPass = definePass({
  name: 'clamp-weights',
  summary: 'clamp each Conv/Gemm/MatMul weight tensor to mean ± sigma·std (before quant-policy)',
  description: [
    'Every float32 constant weight (input 1 of Conv, Gemm, MatMul) is clamped to its tensor\'s',
    'mean ± sigma standard deviations, so min/max ranges chosen afterwards are not set by outliers.',
    'Records, per weight, how many elements moved and the largest change.',
  ].join('\n'),
  options: {
    sigma: { type: 'number', default: 4, min: 0.5, max: 100, description: 'half-width of the kept range, in standard deviations' },
  },
  preserves: [],
  run(graph, ctx, opts) {
    let modified = false;
    const seen = new Set();
    for (const node of graph.nodes) {
      const w = WEIGHTED.has(node.opType) ? node.inputs[1] : null;
      if (!w || !w.const || w.const.dtype !== 'float32' || seen.has(w)) continue;
      seen.add(w);
      const values = w.const.toFloat64();
      const { mean, std } = meanStd(values);
      const lo = mean - opts.sigma * std;
      const hi = mean + opts.sigma * std;
      let moved = 0;
      let largest = 0;
      const out = new Float32Array(values.length);
      for (let i = 0; i < values.length; i++) {
        const x = Math.min(hi, Math.max(lo, values[i]));
        if (x !== values[i]) {
          moved++;
          largest = Math.max(largest, Math.abs(values[i] - x));
        }
        out[i] = x;
      }
      ctx.report.record('clamped', { elements: values.length, moved, largestChange: largest, lo, hi }, w.name);
      if (moved > 0) {
        // Tensors are shared between clones: a pass replaces a weight, never writes into it.
        w.const = new Tensor('float32', w.const.shape, out);
        modified = true;
      }
    }
    return { graph, modified };
  },
});

/** What nibble's loadPlugin (and `--plugin`) registers. */
export const passes = [clampWeightsPass];
