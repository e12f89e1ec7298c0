import { constantTensor, createModel, type Graph, type Node, Tensor, type Value } from '@nibble/ir';
import { roundingCorrectionOf } from './rounding';
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
  for (const [node, bias] of w.affineBiases) if (setAddend(graph, node, bias.effective)) changed++;
  for (const { value, offset } of w.roundings.values()) if (setRounding(graph, value, offset)) changed++;
  return changed;
}

/**
 * The simulation's model of a symmetric requantization (rounding.ts):
 * t' = t + Sign(t) * c after the operator's output t, c per channel
 * ([1, C, 1, 1]) or one value. t' takes t's name, readers and quantization
 * annotation (t is renamed `<name>/pre_rounding`), so the file written
 * again names its tensors as before. An existing correction gets the new
 * c; a zero offset everywhere needs none.
 */
function setRounding(g: Graph, t: Value, offset: Float64Array): boolean {
  const existing = roundingCorrectionOf(t);
  const shape = offset.length > 1 ? [1, offset.length, 1, 1] : [];
  const fresh = Tensor.from('float32', shape, offset);
  if (existing) {
    const now = constantTensor(existing.constant)!.toFloat64();
    const want = fresh.toFloat64();
    if (now.length === want.length && now.every((v, i) => v === want[i])) return false;
    const k = existing.mul.inputs.indexOf(existing.constant);
    existing.mul.replaceInput(k, g.addInitializer(g.uniqueName(existing.constant.name), fresh));
    if (existing.constant.isInitializer && existing.constant.uses.length === 0) g.removeInitializer(existing.constant);
    return true;
  }
  if (offset.every((c) => c === 0) || !t.producer) return false;
  const name = t.name;
  const readers = [...t.uses];
  const output = t.isGraphOutput;
  t.rename(g.uniqueName(`${name}/pre_rounding`));
  const sign = g.insertNodeAfter(t.producer, { opType: 'Sign', name: g.uniqueName(`${name}/rounding_sign`), inputs: [t], outputs: 1 });
  sign.outputs[0].type = t.type;
  const c = g.addInitializer(g.uniqueName(`${name}/rounding_offset`), fresh);
  const mul = g.insertNodeAfter(sign, { opType: 'Mul', name: g.uniqueName(`${name}/rounding_offset_mul`), inputs: [sign.outputs[0], c], outputs: 1 });
  mul.outputs[0].type = t.type;
  const add = g.insertNodeAfter(mul, { opType: 'Add', name: g.uniqueName(`${name}/rounding`), inputs: [t, mul.outputs[0]], outputs: [name] });
  const y = add.outputs[0];
  y.type = t.type;
  for (const u of readers) u.node.replaceInput(u.index, y);
  if (output) for (let i = 0; i < g.outputs.length; i++) if (g.outputs[i] === t) g.outputs[i] = y;
  y.quant = t.quant;
  t.quant = undefined;
  for (const [k, v] of Object.entries(t.meta)) y.meta[k] = v;
  return true;
}

/**
 * The Add of an affine map written as a 1x1 depthwise convolution: its
 * constant operand becomes the per-channel bias TFLite adds in effect
 * ([1, C, 1, 1], float32), under the old name when nothing else reads it.
 */
function setAddend(g: Graph, node: Node, values: Float64Array): boolean {
  const k = node.inputs.findIndex((v) => v !== null && constantTensor(v) !== undefined);
  const old = node.inputs[k]!;
  const now = constantTensor(old)!;
  const fresh = Tensor.from('float32', [1, values.length, 1, 1], values);
  const stored = fresh.toFloat64();
  const current = now.toFloat64();
  if (now.size === stored.length && current.every((v, i) => v === stored[i])) return false;
  const v = g.addInitializer(g.uniqueName(`${old.name}_tflite`), fresh);
  node.replaceInput(k, v);
  if (old.isInitializer && old.uses.length === 0 && !old.isGraphOutput && !old.isGraphInput) {
    const name = old.name;
    g.removeInitializer(old);
    if (g.uniqueName(name) === name) v.rename(name);
  }
  return true;
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
