import { type GraphBuilder, NibbleError, type Tensor } from '@nibble/ir';
import type { Lowered, TfDim } from './lowered';
import { LAYERS, supportedLayers, type LayerContext } from './layer-ops';

/** A Keras layer as a TF.js layers model stores it. */
interface KerasLayer {
  class_name: string;
  name?: string;
  config: Record<string, unknown>;
  inbound_nodes?: unknown[];
}

/** A reference to a layer output: layer name, call (node) index, output index. */
type TensorRef = [string, number, number];

export interface LayersGraph {
  inputs: { name: string; shape: TfDim[]; dtype: string }[];
  outputs: Lowered[];
  outputNames: string[];
}

function layerName(l: KerasLayer): string {
  return (l.name ?? (l.config?.name as string | undefined)) ?? '';
}

/** The model config: under model_config (Keras h5 conversions) or the topology itself. */
function modelConfig(topology: Record<string, unknown>, file?: string): { className: string; config: unknown } {
  const top = (topology.model_config ?? topology) as { class_name?: string; config?: unknown };
  if (!top || typeof top.class_name !== 'string') {
    throw new NibbleError('E_FILE_FORMAT', `${file ? `${file}: ` : ''}modelTopology has no Keras model config`, { file, hint: 'give a TF.js layers model (format layers-model)' });
  }
  return { className: top.class_name, config: top.config };
}

function refOf(v: unknown): TensorRef | null {
  if (Array.isArray(v) && typeof v[0] === 'string') return [v[0], Number(v[1] ?? 0), Number(v[2] ?? 0)];
  // Keras 3: {class_name: '__keras_tensor__', config: {keras_history: [layer, node, tensor]}}.
  const hist = (v as { config?: { keras_history?: unknown } })?.config?.keras_history;
  return Array.isArray(hist) ? refOf(hist) : null;
}

/** Each call of a layer as the list of tensors it reads (Keras 2 and Keras 3 inbound node formats). */
function calls(layer: KerasLayer): TensorRef[][] {
  return (layer.inbound_nodes ?? []).map((node) => {
    if (Array.isArray(node)) return node.map(refOf).filter((r): r is TensorRef => r !== null);
    const args = (node as { args?: unknown[] }).args ?? [];
    const flat = args.flatMap((a) => (Array.isArray(a) && refOf(a) === null ? a : [a]));
    return flat.map(refOf).filter((r): r is TensorRef => r !== null);
  });
}

function batchShape(cfg: Record<string, unknown>): TfDim[] | null {
  const s = cfg.batch_input_shape ?? cfg.batchInputShape ?? cfg.batch_shape;
  if (Array.isArray(s)) return s.map((d) => (typeof d === 'number' ? d : null));
  const i = cfg.input_shape ?? cfg.inputShape;
  return Array.isArray(i) ? [null, ...i.map((d) => (typeof d === 'number' ? d : null))] : null;
}

/**
 * Lower a layers model (Sequential or functional) to IR nodes. Inputs are
 * created by `addInput`; layers are visited in dependency order.
 */
export function lowerLayersModel(
  em: GraphBuilder,
  topology: Record<string, unknown>,
  weights: Map<string, Tensor>,
  addInput: (name: string, shape: TfDim[], dtype: string) => Lowered,
  file?: string,
): LayersGraph {
  const where = file ? `${file}: ` : '';
  const { className, config } = modelConfig(topology, file);
  let layers: KerasLayer[];
  let inputRefs: TensorRef[];
  let outputRefs: TensorRef[];
  if (className === 'Sequential') {
    const list = (Array.isArray(config) ? config : (config as { layers?: KerasLayer[] }).layers) ?? [];
    ({ layers, inputRefs, outputRefs } = sequentialAsFunctional(list, file));
  } else if (className === 'Model' || className === 'Functional') {
    const c = config as { layers?: KerasLayer[]; input_layers?: unknown[]; output_layers?: unknown[] };
    layers = c.layers ?? [];
    const refs = (v: unknown[] | undefined): TensorRef[] => {
      const list = Array.isArray(v) && typeof v[0] === 'string' ? [v] : v ?? [];
      return list.map(refOf).filter((r): r is TensorRef => r !== null);
    };
    inputRefs = refs(c.input_layers);
    outputRefs = refs(c.output_layers);
  } else {
    throw new NibbleError('E_UNSUPPORTED', `${where}model class ${className} is not supported`, { file, hint: 'nibble reads Sequential and functional (Model) layers models' });
  }

  const byName = new Map(layers.map((l) => [layerName(l), l]));
  const tensors = new Map<string, Lowered>();
  const key = (r: TensorRef): string => `${r[0]}:${r[1]}:${r[2]}`;
  const inputs: LayersGraph['inputs'] = [];
  for (const r of inputRefs) {
    const l = byName.get(r[0]);
    const shape = l ? batchShape(l.config) : null;
    if (!l || !shape) throw new NibbleError('E_FILE_FORMAT', `${where}model input '${r[0]}' has no InputLayer with a shape`, { file, node: r[0], hint: 'the model.json is corrupt' });
    const dtype = (l.config.dtype as string | undefined) ?? 'float32';
    tensors.set(key(r), addInput(r[0], shape, dtype));
    inputs.push({ name: r[0], shape, dtype });
  }

  // Visit calls until every one is done; each pass must make progress or the graph has a cycle.
  const pending = layers.flatMap((l) => (l.class_name === 'InputLayer' ? [] : calls(l).map((refs, node) => ({ l, refs, node }))));
  while (pending.length) {
    const before = pending.length;
    for (let i = 0; i < pending.length; i++) {
      const { l, refs, node } = pending[i];
      if (!refs.every((r) => tensors.has(key(r)))) continue;
      const name = layerName(l);
      const outName = node === 0 ? name : `${name}_${node}`;
      const lower = LAYERS[l.class_name];
      if (!lower) {
        throw new NibbleError('E_UNSUPPORTED_OP', `${where}layer '${name}' is a ${l.class_name}, which nibble does not support`, {
          file,
          node: name,
          op: l.class_name,
          hint: `supported layers: ${supportedLayers().join(', ')}`,
        });
      }
      tensors.set(`${name}:${node}:0`, lower(layerContext(em, l, name, outName, refs.map((r) => tensors.get(key(r))!), weights, file)));
      pending.splice(i--, 1);
    }
    if (pending.length === before) {
      const stuck = pending[0];
      const missing = stuck.refs.find((r) => !tensors.has(key(r)))!;
      throw new NibbleError('E_FILE_FORMAT', `${where}layer '${layerName(stuck.l)}' reads '${missing[0]}', which no layer produces (or a cycle)`, {
        file,
        node: layerName(stuck.l),
        hint: 'the model.json is corrupt',
      });
    }
  }
  const outputs = outputRefs.map((r) => {
    const t = tensors.get(key(r));
    if (!t) throw new NibbleError('E_FILE_FORMAT', `${where}model output '${r[0]}' is not produced by any layer`, { file, node: r[0] });
    return t;
  });
  return { inputs, outputs, outputNames: outputRefs.map((r) => (r[1] === 0 ? r[0] : `${r[0]}_${r[1]}`)) };
}

function sequentialAsFunctional(list: KerasLayer[], file?: string): { layers: KerasLayer[]; inputRefs: TensorRef[]; outputRefs: TensorRef[] } {
  if (list.length === 0) throw new NibbleError('E_FILE_FORMAT', `${file ? `${file}: ` : ''}Sequential model has no layers`, { file });
  const layers: KerasLayer[] = [];
  let prev: string;
  if (list[0].class_name === 'InputLayer') {
    layers.push(list[0]);
    prev = layerName(list[0]);
    list = list.slice(1);
  } else {
    const shape = batchShape(list[0].config);
    if (!shape) throw new NibbleError('E_FILE_FORMAT', `${file ? `${file}: ` : ''}the first layer of the Sequential model has no input shape`, { file });
    prev = 'input';
    layers.push({ class_name: 'InputLayer', name: prev, config: { batch_input_shape: shape, dtype: list[0].config.dtype ?? 'float32' } });
  }
  const input = prev;
  for (const l of list) {
    layers.push({ ...l, inbound_nodes: [[[prev, 0, 0, {}]]] });
    prev = layerName(l);
  }
  return { layers, inputRefs: [[input, 0, 0]], outputRefs: [[prev, 0, 0]] };
}

function layerContext(
  em: GraphBuilder,
  l: KerasLayer,
  layerNameStr: string,
  name: string,
  inputs: Lowered[],
  weights: Map<string, Tensor>,
  file?: string,
): LayerContext {
  const error = (message: string, hint?: string): NibbleError =>
    new NibbleError('E_UNSUPPORTED', `${file ? `${file}: ` : ''}layer '${layerNameStr}' (${l.class_name}): ${message}`, { file, node: layerNameStr, op: l.class_name, hint });
  const find = (w: string): Tensor | null => {
    const exact = weights.get(`${layerNameStr}/${w}`);
    if (exact) return exact;
    // Converters may prefix the model name or suffix TF's output index.
    for (const [k, t] of weights) {
      const base = k.replace(/:0$/, '');
      if (base === `${layerNameStr}/${w}` || base.endsWith(`/${layerNameStr}/${w}`)) return t;
    }
    return null;
  };
  return {
    em,
    className: l.class_name,
    name,
    layerName: layerNameStr,
    config: l.config ?? {},
    inputs,
    weight(w) {
      const t = find(w);
      if (!t) {
        throw new NibbleError('E_FILE_FORMAT', `${file ? `${file}: ` : ''}layer '${layerNameStr}' (${l.class_name}) has no weight '${w}' in the weights manifest`, {
          file,
          node: layerNameStr,
          hint: `expected a weight named '${layerNameStr}/${w}'; the manifest does not match the topology`,
        });
      }
      return t;
    },
    optionalWeight: find,
    error,
  };
}
