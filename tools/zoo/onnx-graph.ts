import { attr, createModel, Graph, inferShapes, Model, Tensor, Value } from '@nibble/ir';
import { Arch, INPUT, inferShapes as archShapes } from './arch';
import { samePadding } from './conv-grad';
import { BN_EPSILON } from './forward';

/** Trained values by '<layer>/<weight>' name, in TF.js layouts (HWIO kernels, [in,out] dense). */
export type WeightMap = Map<string, { shape: number[]; data: Float32Array }>;

export const ONNX_INPUT = 'input';
export const ONNX_OUTPUT = 'logits';

/** HWIO (or depthwise [kh,kw,C,1]) -> OIHW (depthwise: [C,1,kh,kw]). */
function toOIHW(w: { shape: number[]; data: Float32Array }, depthwise: boolean): Tensor {
  const [kh, kw, ci, co] = w.shape;
  const outC = depthwise ? ci : co;
  const inC = depthwise ? 1 : ci;
  const out = new Float32Array(w.data.length);
  for (let o = 0; o < outC; o++) {
    for (let i = 0; i < inC; i++) {
      for (let y = 0; y < kh; y++) {
        for (let x = 0; x < kw; x++) {
          const src = depthwise ? ((y * kw + x) * ci + o) * co : ((y * kw + x) * ci + i) * co + o;
          out[((o * inC + i) * kh + y) * kw + x] = w.data[src];
        }
      }
    }
  }
  return new Tensor('float32', [outC, inC, kh, kw], out);
}

/** [in,out] -> [out,in] for Gemm with transB=1 (the layout most importers expect). */
function transpose2d(w: { shape: number[]; data: Float32Array }): Tensor {
  const [r, c] = w.shape;
  const out = new Float32Array(r * c);
  for (let i = 0; i < r; i++) for (let j = 0; j < c; j++) out[j * r + i] = w.data[i * c + j];
  return new Tensor('float32', [c, r], out);
}

/**
 * The architecture as an ONNX-semantics graph (NCHW, opset 21): Conv with
 * explicit TF-'same' pads, BatchNormalization kept unfolded (folding is a
 * pass of ours), Relu, Clip(0,6) with min/max as inputs, Add, MaxPool,
 * GlobalAveragePool, Flatten, Gemm. The batch dimension is symbolic.
 */
export function buildOnnxModel(arch: Arch, weights: WeightMap, metadata: Record<string, string> = {}): Model {
  const g = new Graph(`fmnist_${arch.name}`);
  const { shapes, params } = archShapes(arch);
  const [h0, w0, c0] = arch.inputShape;
  const values = new Map<string, Value>([[INPUT, g.addInput(ONNX_INPUT, { dtype: 'float32', shape: ['batch', c0, h0, w0] })]]);
  const weight = (name: string): { shape: number[]; data: Float32Array } => {
    const w = weights.get(name);
    if (!w) throw new Error(`${arch.name}: no trained value for '${name}'`);
    const want = params.get(name)!;
    if (w.shape.join() !== want.join()) throw new Error(`${arch.name}: '${name}' has shape [${w.shape}], the architecture needs [${want}]`);
    return w;
  };
  const init = (name: string, t: Tensor): Value => g.addInitializer(name, t);
  const vec = (name: string): Tensor => {
    const w = weight(name);
    return new Tensor('float32', w.shape, Float32Array.from(w.data));
  };
  let clipMin: Value | null = null;
  let clipMax: Value | null = null;
  const get = (n: string): Value => values.get(n)!;
  for (const l of arch.layers) {
    let out: Value;
    switch (l.kind) {
      case 'conv':
      case 'dwconv': {
        const [hin, win, cin] = shapes.get(l.input)!;
        const depthwise = l.kind === 'dwconv';
        const wname = depthwise ? `${l.name}/depthwise_kernel` : `${l.name}/kernel`;
        const ph = samePadding(hin, l.kernel, l.stride);
        const pw = samePadding(win, l.kernel, l.stride);
        const node = g.addNode({
          opType: 'Conv',
          name: l.name,
          inputs: [get(l.input), init(`${l.name}.weight`, toOIHW(weight(wname), depthwise))],
          outputs: [l.name],
          attributes: {
            kernel_shape: attr.ints([l.kernel, l.kernel]),
            strides: attr.ints([l.stride, l.stride]),
            pads: attr.ints([ph.before, pw.before, ph.after, pw.after]),
            dilations: attr.ints([1, 1]),
            group: attr.int(depthwise ? cin : 1),
          },
        });
        out = node.outputs[0];
        break;
      }
      case 'bn': {
        const node = g.addNode({
          opType: 'BatchNormalization',
          name: l.name,
          inputs: [
            get(l.input),
            init(`${l.name}.scale`, vec(`${l.name}/gamma`)),
            init(`${l.name}.bias`, vec(`${l.name}/beta`)),
            init(`${l.name}.mean`, vec(`${l.name}/moving_mean`)),
            init(`${l.name}.var`, vec(`${l.name}/moving_variance`)),
          ],
          outputs: [l.name],
          attributes: { epsilon: attr.float(BN_EPSILON) },
        });
        out = node.outputs[0];
        break;
      }
      case 'relu':
        out = g.addNode({ opType: 'Relu', name: l.name, inputs: [get(l.input)], outputs: [l.name] }).outputs[0];
        break;
      case 'relu6':
        clipMin ??= init('relu6.min', Tensor.scalar('float32', 0));
        clipMax ??= init('relu6.max', Tensor.scalar('float32', 6));
        out = g.addNode({ opType: 'Clip', name: l.name, inputs: [get(l.input), clipMin, clipMax], outputs: [l.name] }).outputs[0];
        break;
      case 'add':
        out = g.addNode({ opType: 'Add', name: l.name, inputs: [get(l.inputs[0]), get(l.inputs[1])], outputs: [l.name] }).outputs[0];
        break;
      case 'maxpool':
        out = g.addNode({
          opType: 'MaxPool',
          name: l.name,
          inputs: [get(l.input)],
          outputs: [l.name],
          attributes: { kernel_shape: attr.ints([l.size, l.size]), strides: attr.ints([l.size, l.size]), pads: attr.ints([0, 0, 0, 0]) },
        }).outputs[0];
        break;
      case 'gap': {
        const pooled = g.addNode({ opType: 'GlobalAveragePool', name: l.name, inputs: [get(l.input)], outputs: [`${l.name}_4d`] }).outputs[0];
        out = g.addNode({ opType: 'Flatten', name: `${l.name}_flatten`, inputs: [pooled], outputs: [l.name], attributes: { axis: attr.int(1) } }).outputs[0];
        break;
      }
      case 'dense': {
        const outName = l.name === arch.output ? ONNX_OUTPUT : l.name;
        out = g.addNode({
          opType: 'Gemm',
          name: l.name,
          inputs: [get(l.input), init(`${l.name}.weight`, transpose2d(weight(`${l.name}/kernel`))), init(`${l.name}.bias`, vec(`${l.name}/bias`))],
          outputs: [outName],
          attributes: { transB: attr.int(1) },
        }).outputs[0];
        break;
      }
    }
    values.set(l.name, out);
  }
  const logits = get(arch.output);
  logits.type = { dtype: 'float32', shape: ['batch', arch.classes] };
  g.addOutput(logits);
  inferShapes(g);
  g.verify();
  const model = createModel(g, 21, 10);
  model.producerName = 'nibble-zoo';
  model.docString = arch.description;
  for (const [k, v] of Object.entries(metadata)) model.metadata.set(k, v);
  return model;
}
