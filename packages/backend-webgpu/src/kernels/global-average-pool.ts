import type { Node } from '@nibble/ir';
import { channelParams, type CompileContext, type PlannedValue } from '../plan';
import { registerKernel } from '../registry';
import { SUM_SHADER } from '../wgsl';

/**
 * GlobalAveragePool of codes: the GPU sums each channel (d = sum(q) - HW * zp,
 * exact int32), and the real value is the wasm kernel's (d * s) / HW, a
 * monotone function of d.
 */
export function globalAveragePool(node: Node, ctx: CompileContext, x: PlannedValue): void {
  if (x.shape.length !== 3 || x.clamp) return ctx.fail(node, 'only [N,C,H,W] inputs are supported');
  if (x.kind !== 'codes') return ctx.fail(node, 'the mean of float64 values is not supported', 'WGSL has no float64: quantize with --target wasm, or run with --backend wasm');
  const [C, H, W] = x.shape;
  const HW = H * W;
  const { scale, zeroPoint } = channelParams(x, C);
  const y = ctx.define(node.outputs[0].name, { kind: 'real', base: 'i32', value: (c, d) => (d * scale[c]) / HW, shape: [C, 1, 1], channels: C, inner: 1 });
  ctx.emit(node, 'globalAvgPoolCodes', () => ({ key: 'sum', wgsl: () => SUM_SHADER, bindings: [{ buf: x.buffer }, { data: zeroPoint }, { write: y.buffer }], params: [C, HW], groups: [Math.ceil(C / 64), 1] }));
}

registerKernel({
  opType: 'GlobalAveragePool',
  compile(node, ctx) {
    globalAveragePool(node, ctx, ctx.input(node, 0));
  },
});
