import { readFileSync } from 'node:fs';
import {
  createModel, Graph, GraphBuilder, IO_TRANSPOSES_KEY, layoutShape, type Model, NHWC_TO_NCHW, NibbleError, SOURCE_FORMAT_KEY, SOURCE_LAYOUT_KEY, type Tensor,
  type Value, type ValueLayout, errorInFile } from '@nibble/ir';
import type { Lowered, LowerContext } from './context';
import { decodeConstant, dequantizeAffine, float16ToFloat32, irDtype, tensorBytes } from './constants';
import { densify } from './densify';
import { LOWERINGS, supportedTfliteOps } from './lowerings';
import { parseTfliteFile, type TfliteFile, type TfliteOperator, type TfliteSubgraph, type TfliteTensor } from './model-file';

export interface ReadTfliteOptions {
  /** Path or name of the file, for error messages and the model's doc string. */
  file?: string;
}

/** Read a float32 TFLite flatbuffer into the IR: ONNX operators, NCHW activations. */
export function readTflite(bytes: Uint8Array, options: ReadTfliteOptions = {}): Model {
  try {
    const tfl = parseTfliteFile(bytes, options.file);
    return new Importer(tfl, tfl.subgraphs[0], options.file).run();
  } catch (e) {
    throw errorInFile(e, options.file);
  }
}

/** Read a .tflite file (see readTflite). */
export function readTfliteFile(path: string): Model {
  let bytes: Buffer;
  try {
    bytes = readFileSync(path);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new NibbleError(code === 'ENOENT' ? 'E_FILE_NOT_FOUND' : 'E_FILE_FORMAT', `${path}: ${code === 'ENOENT' ? 'no such file' : 'cannot be read'}`, {
      file: path,
      hint: 'check the path of the .tflite file',
      cause: e,
    });
  }
  return readTflite(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength), { file: path });
}

class Importer {
  private readonly graph: Graph;
  private readonly em: GraphBuilder;
  private readonly lowered = new Map<number, Lowered>();
  /** Constant contents by tensor index: file buffers (decoded on first use) and folded results. */
  private readonly constants = new Map<number, Tensor>();
  private readonly ioTransposes: { inputs: Record<string, number[]>; outputs: Record<string, number[]> } = { inputs: {}, outputs: {} };

  constructor(
    private readonly tfl: TfliteFile,
    private readonly sg: TfliteSubgraph,
    private readonly file?: string,
  ) {
    this.graph = new Graph(sg.name || 'main');
    this.em = new GraphBuilder(this.graph);
  }

  run(): Model {
    for (const i of this.sg.inputs) this.addInput(this.sg.tensors[i]);
    for (const op of this.sg.operators) this.lowerOperator(op);
    for (const i of this.sg.outputs) this.addOutput(this.sg.tensors[i]);
    this.dropUnusedInitializers();
    this.graph.verify();
    const model = createModel(this.graph, 21, 10);
    model.docString = this.tfl.description;
    model.metadata.set(SOURCE_FORMAT_KEY, 'tflite');
    model.metadata.set(SOURCE_LAYOUT_KEY, 'NHWC');
    model.metadata.set(IO_TRANSPOSES_KEY, JSON.stringify(this.ioTransposes));
    return model;
  }

  private where(): string {
    return this.file ? `${this.file}: ` : '';
  }

  private addInput(t: TfliteTensor): void {
    const dtype = irDtype(t, this.file);
    this.rejectQuantized(t);
    const layout: ValueLayout = t.shape.length === 4 && dtype === 'float32' ? 'nchw' : 'plain';
    const v = this.graph.addInput(this.graph.uniqueName(t.name), { dtype, shape: layoutShape(t.shape, layout) });
    if (layout === 'nchw') this.ioTransposes.inputs[v.name] = NHWC_TO_NCHW;
    this.lowered.set(t.index, { value: v, layout, shape: t.shape });
  }

  private addOutput(t: TfliteTensor): void {
    let l = this.lowered.get(t.index);
    if (!l) {
      const c = this.constant(t.index);
      if (!c) throw this.tfl.fb.formatError(`graph output '${t.name}' is never written by an operator`);
      l = { value: this.em.constant(t.name, c), layout: 'plain', shape: t.shape };
    }
    // Rank-4 float outputs leave in NCHW like the inputs, so the model is NCHW end to end.
    const layout: ValueLayout = t.shape.length === 4 && (l.value.type?.dtype ?? 'float32') === 'float32' ? 'nchw' : 'plain';
    let v = this.em.as(l, layout);
    if (v.isGraphInput || v.isInitializer || v.isGraphOutput) {
      v = this.em.node('Identity', [v], {}, `${t.name}/output`, layoutShape(t.shape, layout), v.type?.dtype);
    }
    if (v.name !== t.name && !this.graph.value(t.name)) v.rename(t.name);
    else if (v.name !== t.name) {
      const holder = this.graph.value(t.name)!;
      if (!holder.isGraphInput && !holder.isGraphOutput && !holder.isInitializer) {
        holder.rename(this.graph.uniqueName(`${t.name}/${l.layout}`));
        v.rename(t.name);
      }
    }
    if (layout === 'nchw') this.ioTransposes.outputs[v.name] = NHWC_TO_NCHW;
    this.graph.addOutput(v);
  }

  /** Constant contents of tensor i, or null for activations. */
  private constant(i: number): Tensor | null {
    const have = this.constants.get(i);
    if (have) return have;
    // An omitted optional input (-1, or absent from a short list) holds nothing.
    if (!(i >= 0)) return null;
    const t = this.sg.tensors[i];
    if (this.lowered.has(i) || !tensorBytes(this.tfl, t)) return null;
    const c = t.sparsity ? densify(this.tfl, t) : decodeConstant(this.tfl, t);
    this.constants.set(i, c);
    return c;
  }

  private rejectQuantized(t: TfliteTensor): void {
    if (t.quantization && t.type !== 'FLOAT32' && t.type !== 'INT32' && t.type !== 'INT64') {
      throw new NibbleError('E_UNSUPPORTED', `${this.where()}tensor '${t.name}' is quantized (${t.type}); nibble reads float32 TFLite models`, {
        file: this.file,
        value: t.name,
        hint: 'convert the float model (float32 or float16 weights) to TFLite, and quantize it with nibble',
      });
    }
  }

  private lowerOperator(op: TfliteOperator): void {
    const name = op.code.name;
    const outName = op.outputs.length ? this.sg.tensors[op.outputs[0]]?.name ?? `op${op.index}` : `op${op.index}`;
    if (name === 'DEQUANTIZE' || name === 'DENSIFY') {
      if (this.foldConstant(op)) return;
    }
    const lower = LOWERINGS[name];
    if (!lower) {
      const custom = op.code.customCode !== undefined;
      throw new NibbleError(
        'E_UNSUPPORTED_OP',
        `${this.where()}operator ${op.index} '${outName}' uses ${custom ? 'custom operator' : 'TFLite operator'} ${name}, which nibble does not support`,
        { file: this.file, node: outName, op: name, hint: `supported TFLite operators: ${supportedTfliteOps().join(', ')}` },
      );
    }
    for (const i of op.outputs) this.rejectQuantized(this.sg.tensors[i]);
    lower(this.context(op, outName));
    for (const i of op.outputs) {
      if (!this.lowered.has(i) && !this.constants.has(i)) {
        throw new NibbleError('E_INTERNAL', `lowering of ${name} did not produce output '${this.sg.tensors[i].name}'`, { node: outName, op: name });
      }
    }
  }

  /** DEQUANTIZE / DENSIFY of a constant: compute the result now, emit nothing. */
  private foldConstant(op: TfliteOperator): boolean {
    const src = this.constant(op.inputs[0]);
    if (!src) return false;
    const inT = this.sg.tensors[op.inputs[0]];
    let result = src;
    if (op.code.name === 'DEQUANTIZE') {
      if (src.dtype === 'float16') result = float16ToFloat32(src);
      else if (src.dtype === 'float32') result = src;
      else result = dequantizeAffine(src, inT, this.file);
    }
    this.constants.set(op.outputs[0], result);
    return true;
  }

  private context(op: TfliteOperator, name: string): LowerContext {
    const self = this;
    const tensorAt = (list: number[], i: number, what: string): TfliteTensor => {
      const idx = list[i];
      if (idx === undefined || idx < 0) throw ctx.error(`has no ${what} ${i}`);
      return self.sg.tensors[idx];
    };
    const ctx: LowerContext = {
      model: this.tfl,
      subgraph: this.sg,
      op,
      em: this.em,
      file: this.file,
      options: op.options,
      name,
      hasInput: (i) => op.inputs[i] !== undefined && op.inputs[i] >= 0,
      inputTensor: (i) => tensorAt(op.inputs, i, 'input'),
      outputTensor: (i) => tensorAt(op.outputs, i, 'output'),
      input(i) {
        const t = tensorAt(op.inputs, i, 'input');
        const have = self.lowered.get(t.index);
        if (have) return have;
        const c = self.constant(t.index);
        if (!c) throw self.tfl.fb.formatError(`operator ${op.index} (${op.code.name}) reads '${t.name}' before any operator writes it`);
        const l: Lowered = { value: self.em.constant(t.name, c), layout: 'plain', shape: t.shape };
        self.lowered.set(t.index, l);
        return l;
      },
      constant: (i) => self.constant(tensorAt(op.inputs, i, 'input').index),
      requireConstant(i, role) {
        const c = ctx.constant(i);
        if (!c) {
          throw ctx.error(`its ${role} '${ctx.inputTensor(i).name}' is computed at run time; nibble needs it constant`, 'only constant weights, shapes and paddings are supported');
        }
        if (c.dtype === 'float16') return float16ToFloat32(c);
        return c;
      },
      requireIntegers(i, role) {
        const c = ctx.requireConstant(i, role);
        if (c.dtype !== 'int32' && c.dtype !== 'int64' && c.dtype !== 'int8' && c.dtype !== 'int16' && c.dtype !== 'uint8') {
          throw ctx.error(`its ${role} '${ctx.inputTensor(i).name}' is ${c.dtype}; it must hold integers`, 'the file is malformed or written by an unsupported converter');
        }
        return c.toNumbers();
      },
      setOutput(i, value: Value, layout) {
        const t = tensorAt(op.outputs, i, 'output');
        self.lowered.set(t.index, { value, layout, shape: t.shape });
      },
      error: (message, hint) =>
        new NibbleError('E_UNSUPPORTED', `${self.where()}operator ${op.index} '${name}' (${op.code.name}): ${message}`, {
          file: self.file,
          node: name,
          op: op.code.name,
          hint,
        }),
    };
    return ctx;
  }

  private dropUnusedInitializers(): void {
    for (const v of [...this.graph.initializers]) {
      if (v.uses.length === 0 && !v.isGraphOutput) this.graph.removeInitializer(v);
    }
  }
}
