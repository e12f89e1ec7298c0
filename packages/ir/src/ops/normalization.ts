import type { Node } from '../graph';
import { type Dims, defineOp, dtypeOfCode, fmtDims, inDtype, inShape, normalizeAxis, sameAs, shapeError, typeOf, unifyDim } from './infer-util';

/* Normalizations: per-channel parameters checked against the input's channel axis. */

function checkChannelParams(node: Node, inputs: number[]): number | string | null {
  const x = inShape(node, 0);
  if (x && x.length < 2) throw shapeError(node, `input ${fmtDims(x)} needs a channel axis`);
  let c = x ? x[1] : null;
  for (const i of inputs) {
    const p = inShape(node, i);
    if (!p) continue;
    if (p.length !== 1) throw shapeError(node, `input ${i} ${fmtDims(p)} must be 1-D, one entry per channel`);
    c = unifyDim(node, c, p[0], `input ${i} length differs from the ${x ? 'input' : 'other parameters\''} channel count`);
  }
  return c;
}

defineOp('BatchNormalization', '(x - mean) / sqrt(var + epsilon) * scale + B per channel', (node) => {
  const c = checkChannelParams(node, [1, 2, 3, 4]);
  const stats = typeOf(inDtype(node, 3) ?? inDtype(node, 0), [c]);
  return node.outputs.map((_, i) => (i === 0 ? sameAs(node) : stats && { ...stats, shape: [c] }));
});

defineOp('InstanceNormalization', 'per-sample, per-channel normalization with scale and B', (node) => {
  checkChannelParams(node, [1, 2]);
  return [sameAs(node)];
});

defineOp('LRN', 'local response normalization across channels', (node) => [sameAs(node)]);

defineOp('LayerNormalization', 'normalization over the axes from `axis` on; optional Mean and InvStdDev outputs', (node) => {
  const x = inShape(node, 0);
  const statsDtype = dtypeOfCode(node.getInt('stash_type', 1));
  let stats: Dims | undefined;
  if (x) {
    const axis = normalizeAxis(node, node.getInt('axis', -1), x.length);
    stats = x.map((d, i) => (i < axis ? d : 1));
  }
  return [sameAs(node), typeOf(statsDtype, stats), typeOf(statsDtype, stats && [...stats])];
});
