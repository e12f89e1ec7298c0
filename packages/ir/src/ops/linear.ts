import type { Node } from '../graph';
import { type Dims, broadcastShapes, defineOp, fmtDims, inDtype, inShape, isNum, requireSameDtype, shapeError, typeOf } from './infer-util';

/* Matrix products: Gemm and numpy-style MatMul. */

/** numpy matmul: 1-D operands are promoted and the added axis removed; batch axes broadcast. */
export function matmulShape(node: Node, a: Dims | undefined, b: Dims | undefined): Dims | undefined {
  if (!a || !b) return undefined;
  if (a.length === 0 || b.length === 0) throw shapeError(node, 'MatMul operands must have rank >= 1');
  const a2 = a.length === 1 ? [1, a[0]] : a;
  const b2 = b.length === 1 ? [b[0], 1] : b;
  const ka = a2[a2.length - 1];
  const kb = b2[b2.length - 2];
  if (isNum(ka) && isNum(kb) && ka !== kb) {
    throw shapeError(node, `inner dimensions differ: ${fmtDims(a)} x ${fmtDims(b)} (${ka} vs ${kb})`);
  }
  const batch = broadcastShapes(node, [a2.slice(0, -2), b2.slice(0, -2)])!;
  const out: Dims = [...batch];
  if (a.length !== 1) out.push(a2[a2.length - 2]);
  if (b.length !== 1) out.push(b2[b2.length - 1]);
  return out;
}

defineOp('MatMul', 'matrix product with numpy broadcasting', (node) => [
  typeOf(requireSameDtype(node, [0, 1]), matmulShape(node, inShape(node, 0), inShape(node, 1))),
]);

defineOp('Gemm', 'alpha * op(A) * op(B) + beta * C, op = optional transpose', (node) => {
  const dtype = requireSameDtype(node, [0, 1]);
  const a = inShape(node, 0);
  const b = inShape(node, 1);
  for (const [s, name] of [[a, 'A'], [b, 'B']] as const) {
    if (s && s.length !== 2) throw shapeError(node, `${name} ${fmtDims(s)} must be 2-D`);
  }
  const ta = node.getInt('transA', 0) !== 0;
  const tb = node.getInt('transB', 0) !== 0;
  const m = a ? a[ta ? 1 : 0] : null;
  const ka = a ? a[ta ? 0 : 1] : null;
  const kb = b ? b[tb ? 1 : 0] : null;
  const n = b ? b[tb ? 0 : 1] : null;
  if (isNum(ka) && isNum(kb) && ka !== kb) {
    throw shapeError(node, `inner dimensions differ: A ${fmtDims(a)} (transA=${+ta}) and B ${fmtDims(b)} (transB=${+tb})`);
  }
  const out: Dims = [m, n];
  const c = inShape(node, 2);
  if (c) {
    // C broadcasts one way, to [M, N].
    const bc = broadcastShapes(node, [out, c])!;
    if (bc.length !== 2) throw shapeError(node, `C ${fmtDims(c)} does not broadcast to [M, N]`);
    bc.forEach((d, i) => {
      if (isNum(d) && isNum(out[i]) && d !== out[i]) throw shapeError(node, `C ${fmtDims(c)} does not broadcast to ${fmtDims(out)}`);
      if (out[i] === null) out[i] = isNum(c[c.length - 2 + i]) && c[c.length - 2 + i] !== 1 ? c[c.length - 2 + i] : null;
    });
  }
  return [typeOf(dtype ?? inDtype(node, 0), a || b ? out : undefined)];
});
