import { registerKernel } from '../registry';
import { realOfCodes } from './real';

/**
 * Softmax over the last axis: the graph's float output, computed on the
 * host in float64 after readback (exp(x - max) / sum, the wasm kernel's
 * operations) from the exact float64 inputs. The host's Math.exp and
 * AssemblyScript's may differ in the last bit of a float64, which rounding
 * to float32 hides except in rare cases; codes and top-1 are unaffected.
 */
registerKernel({
  opType: 'Softmax',
  compile(node, ctx) {
    const given = ctx.input(node, 0);
    const rank = given.shape.length + 1;
    const axis = node.getInt('axis', -1);
    if ((axis < 0 ? axis + rank : axis) !== rank - 1) return ctx.fail(node, 'only the last axis is supported');
    if (given.clamp) return ctx.fail(node, 'its input is a pending clamp');
    const x = given.kind === 'codes' ? realOfCodes(given) : given;
    ctx.define(node.outputs[0].name, { ...x, fuseQuantize: undefined, buffer: x.buffer, softmax: x.shape[x.shape.length - 1] });
  },
});
