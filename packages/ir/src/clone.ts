import { Graph, Value } from './graph';
import type { Model } from './graph';
import type { QuantAnnotation } from './quant-annotation';

function cloneQuant(q: QuantAnnotation): QuantAnnotation {
  return {
    ...q,
    range: q.range && { lo: q.range.lo.slice(), hi: q.range.hi.slice() },
    bits: q.bits?.slice(),
    ...(q.levels ? { levels: q.levels.slice() } : {}),
    scale: q.scale?.slice(),
    zeroPoint: q.zeroPoint?.slice(),
  };
}

/**
 * A deep copy of the graph structure. Tensors are shared: they are immutable
 * by convention, and passes replace a weight with a new Tensor, never write
 * into one.
 */
export function cloneGraph(g: Graph): Graph {
  const out = new Graph(g.name);
  out.docString = g.docString;
  const map = new Map<Value, Value>();
  const copyValueFacts = (from: Value, to: Value): void => {
    to.type = from.type && { dtype: from.type.dtype, shape: from.type.shape && [...from.type.shape] };
    to.docString = from.docString;
    if (from.quant) to.quant = cloneQuant(from.quant);
    Object.assign(to.meta, from.meta);
    map.set(from, to);
  };
  for (const v of g.initializers) copyValueFacts(v, out.addInitializer(v.name, v.const!));
  for (const v of g.inputs) {
    if (map.has(v)) out.inputs.push(map.get(v)!);
    else copyValueFacts(v, out.addInput(v.name));
  }
  for (const n of g.nodes) {
    const copy = out.addNode({
      opType: n.opType,
      domain: n.domain,
      name: n.name,
      docString: n.docString,
      inputs: n.inputs.map((v) => (v ? map.get(v) ?? null : null)),
      outputs: n.outputs.map((v) => v.name),
      attributes: Object.fromEntries(n.attributes),
    });
    n.outputs.forEach((v, i) => copyValueFacts(v, copy.outputs[i]));
  }
  for (const v of g.outputs) out.addOutput(map.get(v)!);
  return out;
}

export function cloneModel(m: Model): Model {
  return { ...m, graph: cloneGraph(m.graph), opsetImports: new Map(m.opsetImports), metadata: new Map(m.metadata) };
}
