import { attr, type Attribute, type DType, type Graph, inferShapes, type Model, NibbleError, type Node, Tensor, type Value } from '@nibble/ir';

/*
 * Raising a model's default-domain opset to 21, the first opset whose
 * QuantizeLinear/DequantizeLinear take int4/uint4. An opset import applies to
 * every node of the domain, so the nodes written against an older opset are
 * rewritten to the opset-21 form of the same computation. Only the ops whose
 * signature or meaning changed between opset 7 (the oldest nibble reads) and
 * 21 need anything; each rewrite below says in which opset the change came.
 * Ops that were removed without a successor fail with E_UNSUPPORTED.
 */

export const QDQ_OPSET = 21;
export const QDQ_IR_VERSION = 10;

/** Experimental ops of old opsets that opset 21 no longer has. */
const SOFTMAX_FAMILY = new Set(['Softmax', 'LogSoftmax', 'Hardmax']);

const REMOVED = new Set(['ImageScaler', 'Crop', 'Affine', 'ScaledTanh', 'ParametricSoftplus', 'GivenTensorFill', 'Scale', 'DynamicSlice']);

/** Reductions whose `axes` attribute became an input, and the opset that did it. */
const REDUCE_AXES_INPUT: Record<string, number> = {
  ReduceSum: 13, ReduceMean: 18, ReduceMax: 18, ReduceMin: 18, ReduceProd: 18,
  ReduceL1: 18, ReduceL2: 18, ReduceLogSum: 18, ReduceLogSumExp: 18, ReduceSumSquare: 18,
};

interface Rewrite {
  graph: Graph;
  node: Node;
  from: number;
}

function unsupported(node: Node, what: string, hint: string): NibbleError {
  return new NibbleError('E_UNSUPPORTED', `node '${node.name}' (${node.opType}): ${what}`, { node: node.name, op: node.opType, hint });
}

/** A new initializer named after the node, for an attribute that became an input. */
function constInput(r: Rewrite, suffix: string, tensor: Tensor): Value {
  return r.graph.addInitializer(r.graph.uniqueName(`${r.node.name}_${suffix}`), tensor);
}

const int64s = (values: readonly number[]): Tensor => Tensor.from('int64', [values.length], values);

function floatDType(v: Value | null | undefined): DType {
  const d = v?.type?.dtype ?? v?.const?.dtype;
  return d === 'float16' || d === 'float64' ? d : 'float32';
}

/** Put `inputs` at positions 1.. of the node (null = an omitted optional input, written as ''), keeping input 0. */
function setTrailingInputs(node: Node, inputs: (Value | null)[]): void {
  for (let i = 0; i < inputs.length; i++) {
    if (i + 1 < node.inputs.length) node.replaceInput(i + 1, inputs[i]);
    else node.appendInput(inputs[i]);
  }
}

/** Move an ints attribute into a new int64 input at `index` (1-based position after the data input). */
function intsAttrToInput(r: Rewrite, name: string, index: number): void {
  const a = r.node.getAttr(name, 'ints');
  r.node.attributes.delete(name);
  if (a === undefined) return;
  const trailing: (Value | null)[] = r.node.inputs.slice(1);
  while (trailing.length < index - 1) trailing.push(null);
  trailing[index - 1] = constInput(r, name, int64s(a));
  setTrailingInputs(r.node, trailing);
}

function upgradeClip(r: Rewrite): void {
  // Opset 11: min and max became optional inputs.
  const min = r.node.getAttr('min', 'float');
  const max = r.node.getAttr('max', 'float');
  r.node.attributes.delete('min');
  r.node.attributes.delete('max');
  const dtype = floatDType(r.node.inputs[0]);
  const bound = (v: number | undefined, s: string): Value | null => (v === undefined ? null : constInput(r, s, Tensor.from(dtype, [], [v])));
  setTrailingInputs(r.node, [bound(min, 'min'), bound(max, 'max')]);
}

function upgradeSlice(r: Rewrite): void {
  // Opset 10: starts, ends, axes became inputs (and steps was added).
  const starts = r.node.getAttr('starts', 'ints');
  const ends = r.node.getAttr('ends', 'ints');
  const axes = r.node.getAttr('axes', 'ints');
  if (!starts || !ends) throw unsupported(r.node, 'has no starts/ends attributes', 'the model is malformed');
  for (const k of ['starts', 'ends', 'axes']) r.node.attributes.delete(k);
  setTrailingInputs(r.node, [
    constInput(r, 'starts', int64s(starts)),
    constInput(r, 'ends', int64s(ends)),
    axes ? constInput(r, 'axes', int64s(axes)) : null,
  ]);
}

function upgradePad(r: Rewrite): void {
  // Opset 11: pads and the constant value became inputs.
  const pads = r.node.getAttr('pads', 'ints') ?? r.node.getAttr('paddings', 'ints');
  if (!pads) throw unsupported(r.node, 'has no pads attribute', 'the model is malformed');
  const value = r.node.getFloat('value', 0);
  for (const k of ['pads', 'paddings', 'value']) r.node.attributes.delete(k);
  const mode = r.node.getString('mode', 'constant');
  setTrailingInputs(r.node, [
    constInput(r, 'pads', int64s(pads)),
    mode === 'constant' && value !== 0 ? constInput(r, 'value', Tensor.from(floatDType(r.node.inputs[0]), [], [value])) : null,
  ]);
}

/**
 * Before opset 13, Softmax/LogSoftmax/Hardmax flattened the input to 2-D at
 * `axis` (default 1) and normalised each row; since 13 they normalise along
 * the one axis (default -1). Where the two agree (the axis is the last one)
 * only the attribute is made explicit; otherwise the old meaning is spelled
 * out: Flatten(axis), the op on axis 1, Reshape back to the input's shape.
 */
function upgradeSoftmaxFamily(r: Rewrite): void {
  const { node, graph } = r;
  const axis = node.getInt('axis', 1);
  const rank = node.inputs[0]?.type?.shape?.length;
  if (axis === -1 || (rank !== undefined && (axis + rank) % rank === rank - 1)) {
    node.setAttr('axis', attr.int(-1));
    return;
  }
  const x = node.input(0);
  const out = node.outputs[0];
  const flat = graph.insertNodeBefore(node, {
    opType: 'Flatten', name: graph.uniqueName(`${node.name}_flatten`), inputs: [x], outputs: [graph.uniqueName(`${node.name}_2d`)],
    attributes: { axis: attr.int(axis) },
  });
  const shape = graph.insertNodeBefore(node, {
    opType: 'Shape', name: graph.uniqueName(`${node.name}_shape`), inputs: [x], outputs: [graph.uniqueName(`${node.name}_input_shape`)],
  });
  const op = graph.insertNodeBefore(node, {
    opType: node.opType, name: graph.uniqueName(`${node.name}_2d_op`), inputs: [flat.outputs[0]], outputs: [graph.uniqueName(`${node.name}_rows`)],
    attributes: { axis: attr.int(1) },
  });
  const reshape = graph.insertNodeAfter(node, {
    opType: 'Reshape', name: graph.uniqueName(`${node.name}_reshape`), inputs: [op.outputs[0], shape.outputs[0]], outputs: [graph.uniqueName(`${node.name}_nd`)],
  });
  reshape.outputs[0].type = out.type && { ...out.type, shape: out.type.shape && [...out.type.shape] };
  out.replaceAllUsesWith(reshape.outputs[0]);
  graph.removeNode(node);
}

function upgradeSplit(r: Rewrite, from: number): void {
  // Opset 13: split became an input; opset 18: without it, num_outputs is required.
  if (from < 13) intsAttrToInput(r, 'split', 1);
  if (!r.node.inputs[1] && !r.node.attributes.has('num_outputs')) r.node.setAttr('num_outputs', attr.int(r.node.outputs.length));
}

function upgradeDropout(r: Rewrite): void {
  // Opset 12: ratio became an input; at inference Dropout is the identity, so the ratio is dropped.
  // Opset 10 made the mask bool; a model reading the old float mask cannot be carried over.
  if (r.from < 10 && r.node.outputs[1] && (r.node.outputs[1].uses.length > 0 || r.node.outputs[1].isGraphOutput)) {
    throw unsupported(r.node, 'its mask output is read, and the mask changed type in opset 10', 'remove the Dropout node (it is the identity at inference)');
  }
  for (const k of ['ratio', 'is_test']) r.node.attributes.delete(k);
}

function upgradeTopK(r: Rewrite): void {
  // Opset 10: k became an input of shape [1].
  const k = r.node.getAttr('k', 'int');
  if (k === undefined) throw unsupported(r.node, 'has no k attribute', 'the model is malformed');
  r.node.attributes.delete('k');
  setTrailingInputs(r.node, [constInput(r, 'k', int64s([k]))]);
}

/**
 * Upsample (deprecated in opset 10) and Resize-10 map input coordinates as
 * x_in = x_out / scale and take the floor for nearest: Resize-11's
 * 'asymmetric' transform with nearest_mode 'floor'.
 */
function toResize11(r: Rewrite): Node {
  const { node, graph } = r;
  let scales = node.inputs[1] ?? null;
  if (node.opType === 'Upsample' && r.from < 9) {
    const s = node.getAttr('scales', 'floats');
    if (!s) throw unsupported(node, 'has no scales', 'the model is malformed');
    scales = constInput(r, 'scales', Tensor.from('float32', [s.length], s));
  }
  const modeText = node.getString('mode', 'nearest');
  const mode = modeText === 'bilinear' ? 'linear' : modeText;
  if (mode !== 'nearest' && mode !== 'linear') throw unsupported(node, `mode '${modeText}' has no Resize equivalent`, 'use nearest or linear');
  const attributes: Record<string, Attribute> = { mode: attr.string(mode), coordinate_transformation_mode: attr.string('asymmetric') };
  if (mode === 'nearest') attributes.nearest_mode = attr.string('floor');
  const resize = graph.insertNodeBefore(node, {
    opType: 'Resize', name: graph.uniqueName(`${node.name}_resize`), inputs: [node.input(0), null, scales], outputs: [graph.uniqueName(`${node.outputs[0].name}_resized`)], attributes,
  });
  resize.outputs[0].type = node.outputs[0].type;
  node.outputs[0].replaceAllUsesWith(resize.outputs[0]);
  graph.removeNode(node);
  return resize;
}

function renameOp(r: Rewrite, opType: string): void {
  const { node, graph } = r;
  const copy = graph.insertNodeBefore(node, {
    opType, name: graph.uniqueName(`${node.name}_${opType}`), inputs: [...node.inputs], outputs: node.outputs.map((o) => graph.uniqueName(`${o.name}_v`)),
    attributes: Object.fromEntries(node.attributes),
  });
  node.outputs.forEach((o, i) => {
    copy.outputs[i].type = o.type;
    o.replaceAllUsesWith(copy.outputs[i]);
  });
  graph.removeNode(node);
}

function upgradeNode(r: Rewrite): void {
  const { node, from } = r;
  const op = node.opType;
  if (REMOVED.has(op)) throw unsupported(node, `is an experimental operator that opset ${QDQ_OPSET} no longer has`, 'replace it with standard operators before quantizing');
  const reduceAt = REDUCE_AXES_INPUT[op];
  if (reduceAt !== undefined) {
    if (from < reduceAt) intsAttrToInput(r, 'axes', 1);
    return;
  }
  switch (op) {
    case 'Clip': if (from < 11) upgradeClip(r); return;
    case 'Slice': if (from < 10) upgradeSlice(r); return;
    case 'Pad': if (from < 11) upgradePad(r); return;
    case 'Squeeze': case 'Unsqueeze': if (from < 13) intsAttrToInput(r, 'axes', 1); return;
    case 'Softmax': case 'LogSoftmax': case 'Hardmax': if (from < 13) upgradeSoftmaxFamily(r); return;
    case 'Split': upgradeSplit(r, from); return;
    case 'Dropout': if (from < 12) upgradeDropout(r); return;
    case 'TopK': if (from < 10) upgradeTopK(r); return;
    case 'Upsample': toResize11(r); return;
    case 'Resize': if (from < 11) toResize11(r); return;
    case 'Scatter': renameOp(r, 'ScatterElements'); return;
    case 'BatchNormalization':
      // Opset 9 removed `spatial` (1 = the only meaning kept).
      if (node.getInt('spatial', 1) !== 1) throw unsupported(node, 'spatial=0 was removed in opset 9', 'fold the BatchNormalization into the preceding layer first');
      node.attributes.delete('spatial');
      return;
    case 'RoiAlign':
      // Opset 16 changed the default coordinate mode; keep the old one explicitly.
      if (from < 16 && !node.attributes.has('coordinate_transformation_mode')) node.setAttr('coordinate_transformation_mode', attr.string('output_half_pixel'));
      return;
    case 'GridSample': {
      // Opset 20 renamed the modes.
      const mode = node.getString('mode', 'bilinear');
      if (from < 20) node.setAttr('mode', attr.string(mode === 'bilinear' ? 'linear' : mode === 'bicubic' ? 'cubic' : mode));
      return;
    }
    default:
  }
}

function upgradeGraph(graph: Graph, from: number): void {
  for (const node of [...graph.nodes]) {
    for (const a of node.attributes.values()) {
      if (a.type === 'graph') upgradeGraph(a.value, from);
      if (a.type === 'graphs') a.value.forEach((g) => upgradeGraph(g, from));
    }
    if (node.domain === '' || node.domain === 'ai.onnx') upgradeNode({ graph, node, from });
  }
}

/**
 * Rewrite `model` in place to opset 21 and IR 10 (a model already there is
 * left alone). Call it on a clone: the caller's model keeps its opset.
 */
export function upgradeToQdqOpset(model: Model): void {
  const from = model.opsetImports.get('');
  if (from === undefined) {
    throw new NibbleError('E_UNSUPPORTED', 'the model imports no version of the default ONNX operator set', { hint: 'nibble reads models built from standard ONNX operators' });
  }
  if (from > QDQ_OPSET) {
    throw new NibbleError('E_UNSUPPORTED', `the model uses opset ${from}; the QDQ export writes opset ${QDQ_OPSET}`, { hint: `export the float model at opset ${QDQ_OPSET} or lower` });
  }
  if (from < QDQ_OPSET) {
    // Softmax's rewrite is a plain attribute change when the input's rank is known; find it if it is not.
    const softmaxes = model.graph.nodes.filter((n) => SOFTMAX_FAMILY.has(n.opType) && n.inputs[0]?.type?.shape === undefined);
    if (from < 13 && softmaxes.length > 0) {
      try {
        inferShapes(model.graph, { opset: from });
      } catch {
        // Without the rank the general Flatten/Reshape form is used, which is right for any rank.
      }
    }
    upgradeGraph(model.graph, from);
  }
  model.opsetImports.set('', QDQ_OPSET);
  model.irVersion = Math.max(model.irVersion, QDQ_IR_VERSION);
}
