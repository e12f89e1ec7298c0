import { constantTensor } from '@nibble/ir';
import { registerKernel } from '../registry';
import { sizeOf } from '../plan';
import { resolveWeight } from '../weights';
import { emitLayer } from './layer';

/** Gemm with a constant B: a 1x1 conv over the K features of one sample. */
registerKernel({
  opType: 'Gemm',
  compile(node, ctx) {
    const x = ctx.input(node, 0);
    if (node.getInt('transA', 0) !== 0) return ctx.fail(node, 'transA=1 is not supported');
    if (node.getFloat('alpha', 1) !== 1 || node.getFloat('beta', 1) !== 1) return ctx.fail(node, 'alpha and beta other than 1 are not supported');
    const transB = node.getInt('transB', 0) === 1;
    const w = resolveWeight(node.inputs[1] ?? undefined, transB ? 0 : 1);
    if (!w || w.shape.length !== 2) return ctx.fail(node, 'B must be a constant matrix (float, or DequantizeLinear of an integer tensor)');
    const [N, K] = transB ? w.shape : [w.shape[1], w.shape[0]];
    if (sizeOf(x.shape) !== K) return ctx.fail(node, `A has ${sizeOf(x.shape)} features per sample, B expects ${K}`);
    // Levels as [N, K] (output-major), the layout of a [N, K, 1, 1] conv weight.
    const levels = transB ? w.levels : new Float64Array(N * K);
    if (!transB) for (let k = 0; k < K; k++) for (let n = 0; n < N; n++) levels[n * K + k] = w.levels[k * N + n];
    const cT = node.inputs[2] ? constantTensor(node.inputs[2]) : undefined;
    if (node.inputs[2] && !cT) return ctx.fail(node, 'C must be a constant');
    let bias: Float64Array | undefined;
    if (cT) {
      const c = cT.toFloat64();
      if (c.length !== 1 && c.length !== N) return ctx.fail(node, `C of ${c.length} values does not broadcast per output feature`);
      bias = c.length === N ? c : new Float64Array(N).fill(c[0]);
    }
    const flat = { ...x, shape: [K, 1, 1] };
    emitLayer(ctx, node, flat, { ...w, shape: [N, K, 1, 1], axis: 0, levels }, bias,
      { group: 1, kh: 1, kw: 1, sh: 1, sw: 1, dh: 1, dw: 1, pt: 0, pl: 0, pb: 0, pr: 0 }, [N]);
  },
});
