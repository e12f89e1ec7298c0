import { type Graph, NibbleError, Tensor, type Value } from '@nibble/ir';
import { type AffineParams, channelLevelRange } from './params';

/** A grid as float ops see it: per channel the lowest and highest level and the step (a constant channel: lo = hi, step 1). */
export interface LevelGrid {
  lo: Float64Array;
  hi: Float64Array;
  step: Float64Array;
  /** Channel axis of the value, or null for one grid. */
  axis: number | null;
}

/** The levels of affine parameters as a LevelGrid (a channel with no scale, or 0 bits, at `constant[c]`). */
export function levelGridOf(p: AffineParams, constant?: ArrayLike<number>): LevelGrid {
  const n = p.scale.length;
  const g: LevelGrid = { lo: new Float64Array(n), hi: new Float64Array(n), step: new Float64Array(n), axis: p.axis };
  for (let c = 0; c < n; c++) {
    const [qmin, qmax] = channelLevelRange(p, c);
    const flat = p.bits[c] === 0 || !(p.scale[c] > 0);
    g.lo[c] = flat ? constant?.[c] ?? (qmin - p.zeroPoint[c]) * p.scale[c] : (qmin - p.zeroPoint[c]) * p.scale[c];
    g.hi[c] = flat ? g.lo[c] : (qmax - p.zeroPoint[c]) * p.scale[c];
    g.step[c] = flat ? 1 : p.scale[c];
  }
  return g;
}

/**
 * Puts lo + step * Round((clamp(x, lo, hi) - lo) / step) between `value`
 * (of rank `rank`) and every node reading it, in float ops any ONNX runtime
 * runs (ONNX Round is half to even): the value on its grid, for measuring a
 * quantized model in a float engine. Returns the fake-quantized value.
 */
export function insertFakeQuantize(graph: Graph, value: Value, grid: LevelGrid, rank: number): Value {
  const channels = grid.lo.length;
  if (grid.axis !== null && (grid.axis < 0 || grid.axis >= rank)) {
    throw new NibbleError('E_SHAPE', `'${value.name}': grid axis ${grid.axis} outside rank ${rank}`, { value: value.name });
  }
  const shape = grid.axis === null ? [] : Array.from({ length: rank }, (_, i) => (i === grid.axis ? channels : 1));
  const constant = (tag: string, v: Float64Array) => graph.addInitializer(graph.uniqueName(`${value.name}_fq_${tag}`), Tensor.from('float32', shape, grid.axis === null ? v.subarray(0, 1) : v));
  const [lo, hi, step] = [constant('lo', grid.lo), constant('hi', grid.hi), constant('step', grid.step)];
  const readers = [...value.uses];
  const op = (opType: string, inputs: Value[]): Value => graph.addNode({ opType, name: graph.uniqueName(`${value.name}_fq_${opType}`), inputs, outputs: [graph.uniqueName(`${value.name}_fq_${opType}_out`)] }).outputs[0];
  const clamped = op('Max', [op('Min', [value, hi]), lo]);
  const y = op('Add', [op('Mul', [op('Round', [op('Div', [op('Sub', [clamped, lo]), step])]), step]), lo]);
  for (const u of readers) u.node.replaceInput(u.index, y);
  graph.topologicalSort();
  return y;
}
