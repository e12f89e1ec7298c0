import {
  createModel, type DType, Graph, GraphBuilder, IO_TRANSPOSES_KEY, layoutShape, type Model, NHWC_TO_NCHW, NibbleError, SOURCE_FORMAT_KEY, SOURCE_LAYOUT_KEY,
  type ValueLayout,
} from '@nibble/ir';
import type { Lowered, TfDim } from './lowered';
import { lowerGraphModel } from './graph-model';
import { lowerLayersModel } from './layers-model';
import { resolveSource, type TfjsSource } from './source';
import { loadWeights, parseManifest } from './weights';

export type TfjsFormat = 'layers-model' | 'graph-model';

export interface ReadTfjsOptions {
  /** Shapes (TensorFlow's NHWC order, -1 for unknown) for graph-model inputs whose rank the file leaves unknown, or to override theirs. */
  inputShapes?: Record<string, number[]>;
}

function detectFormat(json: Record<string, unknown>, file?: string): TfjsFormat {
  const declared = json.format;
  if (declared === 'layers-model' || declared === 'graph-model') return declared;
  const topo = json.modelTopology as Record<string, unknown> | undefined;
  if (topo && Array.isArray(topo.node)) return 'graph-model';
  if (topo && (topo.model_config || topo.class_name)) return 'layers-model';
  throw new NibbleError('E_FILE_FORMAT', `${file ? `${file}: ` : ''}not a TensorFlow.js model: no layers topology or graph nodes`, {
    file,
    hint: 'give the model.json written by the TensorFlow.js converter (layers-model or graph-model)',
  });
}

/**
 * Read a TensorFlow.js layers or graph model into the IR: ONNX operators on
 * NCHW activations. `source` is a path (model.json, or the directory holding
 * it and its shards) or the model held in memory.
 */
export async function readTfjsModel(source: TfjsSource, options: ReadTfjsOptions = {}): Promise<Model> {
  const { json, weights: shards, file } = await resolveSource(source);
  const format = detectFormat(json, file);
  const weights = await loadWeights(parseManifest(json.weightsManifest, file), shards, file);
  const graph = new Graph(format === 'graph-model' ? 'tfjs_graph' : String(((json.modelTopology as Record<string, unknown>)?.model_config as { config?: { name?: string } })?.config?.name ?? 'tfjs_model'));
  // TF.js models often flatten a pooled 1x1 image: a Reshape moves it between layouts without a Transpose.
  const em = new GraphBuilder(graph, { reshapeUnitImages: true });
  const io = { inputs: {} as Record<string, number[]>, outputs: {} as Record<string, number[]> };

  const addInput = (name: string, shape: TfDim[], dtype: string): Lowered => {
    const d: DType = dtype === 'int32' ? 'int32' : 'float32';
    const layout: ValueLayout = shape.length === 4 && d === 'float32' ? 'nchw' : 'plain';
    // An unknown leading dimension is the batch: give it a name so runtimes see one symbolic dim.
    const ir = layoutShape(shape, layout).map((dim, i) => (dim === null && i === 0 ? 'N' : dim));
    const v = graph.addInput(graph.uniqueName(name), { dtype: d, shape: ir });
    if (layout === 'nchw') io.inputs[v.name] = NHWC_TO_NCHW;
    return { value: v, layout, shape };
  };

  let lowered: ReturnType<typeof lowerLayersModel>;
  try {
    lowered = format === 'graph-model'
      ? lowerGraphModel(em, json, weights, addInput, file, Object.fromEntries(Object.entries(options.inputShapes ?? {}).map(([k, v]) => [k, v.map((d) => (d < 0 ? null : d))])))
      : lowerLayersModel(em, json.modelTopology as Record<string, unknown>, weights, addInput, file);
  } catch (e) {
    // A topology of the wrong shape (a list that is not a list, a null layer: what the fuzzer finds)
    // surfaces as a TypeError deep in the lowering; the user's file is at fault, so say which file.
    if (!(e instanceof TypeError)) throw e;
    throw new NibbleError('E_FILE_FORMAT', `${file ? `${file}: ` : ''}the model topology is malformed (${e.message})`, {
      file, cause: e, hint: 'give the model.json written by the TensorFlow.js converter, unedited',
    });
  }

  lowered.outputs.forEach((l, i) => {
    const name = lowered.outputNames[i];
    const layout: ValueLayout = l.shape.length === 4 && (l.value.type?.dtype ?? 'float32') === 'float32' ? 'nchw' : 'plain';
    let v = em.as(l, layout);
    if (v.isGraphInput || v.isInitializer || v.isGraphOutput) {
      v = em.node('Identity', [v], {}, `${name}/output`, layoutShape(l.shape, layout), v.type?.dtype);
    }
    if (v.name !== name) {
      const holder = graph.value(name);
      if (holder && !holder.isGraphInput && !holder.isGraphOutput && !holder.isInitializer) holder.rename(graph.uniqueName(`${name}/${l.layout}`));
      if (!graph.value(name)) v.rename(name);
    }
    if (v.type?.shape?.[0] === null) v.type = { ...v.type, shape: ['N', ...v.type.shape.slice(1)] };
    if (layout === 'nchw') io.outputs[v.name] = NHWC_TO_NCHW;
    graph.addOutput(v);
  });
  for (const v of [...graph.initializers]) if (v.uses.length === 0 && !v.isGraphOutput) graph.removeInitializer(v);
  graph.verify();

  const model = createModel(graph, 21, 10);
  model.metadata.set(SOURCE_FORMAT_KEY, `tfjs-${format}`);
  model.metadata.set(SOURCE_LAYOUT_KEY, 'NHWC');
  model.metadata.set(IO_TRANSPOSES_KEY, JSON.stringify(io));
  const by = [json.generatedBy, json.convertedBy].filter((s) => typeof s === 'string').join('; ');
  if (by) model.docString = `TensorFlow.js ${format} (${by})`;
  return model;
}
