import { constantTensor, type Node } from '@nibble/ir';
import type { CompileContext } from '../plan';
import { registerKernel } from '../registry';

/**
 * Max/Min with a constant per-channel bound: the clamp the QDQ lowering puts
 * before a QuantizeLinear. As in the wasm plan it becomes part of that
 * QuantizeLinear (a pending clamp, no step).
 */
function pendingClamp(which: 'lo' | 'hi') {
  return (node: Node, ctx: CompileContext): void => {
    const x = ctx.input(node, 0);
    const t = constantTensor(node.inputs[1]);
    if (x.kind !== 'real' || !t || node.inputs.length !== 2) return ctx.fail(node, 'only the per-channel clamp of a real value by a constant, before QuantizeLinear, is supported');
    const readers = node.outputs[0].uses.map((u) => u.node.opType);
    if (readers.some((op) => op !== 'QuantizeLinear' && op !== 'Min' && op !== 'Max')) return ctx.fail(node, `its output is read by ${readers.join(', ')}; only a following QuantizeLinear is supported`);
    const clamp = { ...(x.clamp ?? { source: x }), [which]: t.toFloat64() };
    // A table value stays a table under the clamp: QuantizeLinear applies the clamp in the table.
    ctx.define(node.outputs[0].name, { ...x, table: undefined, buffer: x.buffer, clamp });
  };
}

registerKernel({ opType: 'Max', compile: pendingClamp('lo') });
registerKernel({ opType: 'Min', compile: pendingClamp('hi') });
