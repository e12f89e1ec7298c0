import { Tensor } from '../tensor';
import type { Node, Value } from '../graph';
import type { InferContext, KnownValue } from './registry';

/** Constants larger than this are not turned into KnownValues (they are weights, not shapes). */
const MAX_KNOWN_ELEMENTS = 4096;

function encodeStrings(values: string[]): Uint8Array[] {
  const enc = new TextEncoder();
  return values.map((s) => enc.encode(s));
}

/** The tensor a Constant node produces, from whichever `value*` attribute it carries. */
export function constantNodeTensor(node: Node): Tensor | undefined {
  if (node.opType !== 'Constant' || (node.domain !== '' && node.domain !== 'ai.onnx')) return undefined;
  // Not cached: attributes are mutable, and building a tensor from value_ints is cheap.
  let t: Tensor | undefined;
  for (const [name, a] of node.attributes) {
    if (name === 'value' && a.type === 'tensor') t = a.value;
    else if (name === 'value_float' && a.type === 'float') t = Tensor.from('float32', [], [a.value]);
    else if (name === 'value_floats' && a.type === 'floats') t = Tensor.from('float32', [a.value.length], a.value);
    else if (name === 'value_int' && a.type === 'int') t = Tensor.from('int64', [], [a.value]);
    else if (name === 'value_ints' && a.type === 'ints') t = Tensor.from('int64', [a.value.length], a.value);
    else if (name === 'value_string' && a.type === 'string') t = new Tensor('string', [], encodeStrings([a.value]));
    else if (name === 'value_strings' && a.type === 'strings') t = new Tensor('string', [a.value.length], encodeStrings(a.value));
  }
  return t;
}

/** Contents of an initializer or a Constant node's output; undefined for anything computed. */
export function constantTensor(v: Value | null | undefined): Tensor | undefined {
  if (!v) return undefined;
  if (v.const) return v.const;
  const p = v.producer;
  return p && p.outputs[0] === v ? constantNodeTensor(p) : undefined;
}

export function knownFromTensor(t: Tensor): KnownValue | undefined {
  if (t.dtype === 'string' || t.size > MAX_KNOWN_ELEMENTS) return undefined;
  return { dtype: t.dtype, shape: [...t.shape], data: t.toNumbers() };
}

/**
 * A context reading constants from the graph. `propagated` holds contents
 * found by data propagation during a whole-graph inference run.
 */
export function createInferContext(opset = 21, propagated?: Map<Value, KnownValue>): InferContext {
  return {
    opset,
    constant: constantTensor,
    known(v) {
      if (!v) return undefined;
      const p = propagated?.get(v);
      if (p) return p;
      const t = constantTensor(v);
      return t ? knownFromTensor(t) : undefined;
    },
  };
}
