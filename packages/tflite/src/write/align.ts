import { constantTensor, createModel, type Graph, type Node, Tensor } from '@nibble/ir';
import { TfliteWriter, type WriteTfliteOptions } from './writer';

/*
 * The simulation of a tflite-targeted model computes what TFLite computes
 * only if its layers add the bias TFLite adds: the int32 bias the writer
 * rounds, plus the accumulator offset of TFLite's two-step requantization
 * (requant.ts). This rewrites each Conv / Gemm bias of the quantized IR to
 * that value. Writing the aligned model again gives the same int32 biases
 * (the writer subtracts the offset it added), so the step is idempotent and
 * the file is unchanged by it.
 */

/** Replace each written layer's float bias by the one TFLite effectively adds; returns the number of layers changed. */
export function alignBiasesToTflite(graph: Graph, options: WriteTfliteOptions = {}): number {
  const w = new TfliteWriter(createModel(graph), options);
  w.write();
  let changed = 0;
  for (const [node, bias] of w.biases) if (setBias(graph, node, bias.effective)) changed++;
  return changed;
}

/**
 * Point the node's bias input at `values` (float32). The fresh initializer
 * takes the old one's name once the old one has no other reader, and a
 * new bias the name the writer gives a missing one, so the file written
 * from the aligned IR is byte for byte the file written before.
 */
function setBias(g: Graph, node: Node, values: Float64Array): boolean {
  const old = node.inputs[2] ?? null;
  const now = old ? constantTensor(old)?.toFloat64() : undefined;
  const fresh = Tensor.from('float32', [values.length], values);
  const stored = fresh.toFloat64();
  if (now && now.length === stored.length && now.every((v, i) => v === stored[i])) return false;
  // A fresh initializer: the old one may be shared with another layer.
  const v = g.addInitializer(g.uniqueName(`${old?.name ?? node.name}_tflite`), fresh);
  if (old) node.replaceInput(2, v);
  else {
    while (node.inputs.length < 2) node.appendInput(null);
    node.appendInput(v);
  }
  let name = `${node.name}/bias`;
  if (old && old.isInitializer && old.uses.length === 0 && !old.isGraphOutput && !old.isGraphInput) {
    name = old.name;
    g.removeInitializer(old);
  } else if (old) return true;
  if (g.uniqueName(name) === name) v.rename(name);
  return true;
}
