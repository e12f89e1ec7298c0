import { constantTensor, type Dim, type Model, NibbleError, type Node, type Value } from '@nibble/ir';
import { buildTflite, type TestOperator, type TestTensor } from './flatbuffer-builder';
import type { TfliteBias } from './filters';
import { type Grid, gridOf, tfliteError } from './grid';
import { EMITTERS, supportedWriterOps } from './emitters';
import { isRoundingCorrection, roundingCorrectionOf, symmetricOffsetLevels } from './rounding';

/*
 * nibble's quantized IR (ONNX ops, NCHW, annotations; docs/quantized-ir.md)
 * to a full-integer TFLite model: every activation an int8 tensor of one
 * scale and zero point, filters int8 (or INT4) per output channel, biases
 * int32. Rank-4 activations are NHWC in the file. Values whose grid the IR
 * leaves implicit get it from their producer: a ReLU after a grid that
 * starts at 0 is that grid (the int8 saturation is the ReLU), MaxPool,
 * Flatten and Reshape keep their input's grid. What the file cannot hold
 * (a float activation, a per-channel grid, an op without an int8 kernel
 * here) is a typed error naming the node: nothing is dropped silently.
 */

export interface WriteTfliteOptions {
  /** Filter container: int8, or int4 (TFLite's INT4 tensors, two per byte) where a filter's levels fit it. */
  weights?: 'int8' | 'int4';
  /** float: QUANTIZE after each float input, DEQUANTIZE before each float output (default); int8: int8 inputs and outputs. */
  io?: 'float' | 'int8';
  /** The target's name, for errors (default tflite). */
  target?: string;
  /** Path of the file to be written, for errors. */
  file?: string;
  /**
   * The batch the file's shapes state (default 1, with -1 in the shape
   * signatures). Runtimes that cannot resize inputs (TFLite 2.9 through
   * tfjs-tflite) run a file written for their batch.
   */
  batch?: number;
  /**
   * Also list every int8 activation tensor among the file's outputs, after
   * the model's own: for element-level comparisons with the simulation
   * (tools/bench/targets.ts --probe). Not for deployment.
   */
  intermediates?: boolean;
  /**
   * Hard-swish as a table of its 256 int8 levels (CAST, ADD, GATHER: the
   * simulation's levels exactly; default), or TFLite's HARD_SWISH kernel
   * (16-bit fixed point: a level off on a few inputs).
   */
  hardSwish?: 'table' | 'kernel';
  /**
   * Global average pooling as TFLite's MEAN (default; it rounds in float32: a level off on a few outputs),
   * or as a depthwise conv of equal weights over the whole image (integer sums, one requantization the
   * simulation models exactly, at H * W * C filter bytes per pool).
   */
  averagePool?: 'mean' | 'conv';
}

/** A value as the file holds it: tensor index, grid, and whether its rank-4 layout is NHWC. */
export interface Slot {
  index: number;
  grid: Grid;
  shape: number[];
}

/** Operator versions the int8 kernels are registered under (TFLite's op_version rules for int8 operands). */
const INT8_VERSIONS: Record<string, number> = {
  CONV_2D: 3, DEPTHWISE_CONV_2D: 3, SOFTMAX: 1, FULLY_CONNECTED: 4, ADD: 2, MAX_POOL_2D: 2, AVERAGE_POOL_2D: 2, MEAN: 2, CONCATENATION: 2,
  PAD: 2, QUANTIZE: 2, DEQUANTIZE: 2, MINIMUM: 2, MAXIMUM: 2, TRANSPOSE: 2, RESHAPE: 1,
  MUL: 2, LOGISTIC: 2, HARD_SWISH: 1, RESIZE_NEAREST_NEIGHBOR: 3, TRANSPOSE_CONV: 3, GATHER: 2, CAST: 1,
};

/** Where a later ReLU can be fused: the operator that writes the tensor and its activation field. */
interface Fusable {
  op: TestOperator;
  field: number;
}

export class TfliteWriter {
  readonly target: string;
  readonly tensors: TestTensor[] = [];
  readonly operators: TestOperator[] = [];
  private readonly slots = new Map<Value, Slot>();
  private readonly fusable = new Map<number, Fusable>();
  private readonly names = new Set<string>();
  /** Graph outputs computed in float after the last integer tensor (a Softmax on the logits). */
  private readonly floatOutputs = new Map<Value, number>();
  /** Graph inputs without a grid: float tensors of the file. */
  private readonly floatInputs = new Map<Value, number>();
  /** The int32 bias written for each Conv / Gemm, with the float bias TFLite effectively adds (alignBiasesToTflite). */
  readonly biases = new Map<Node, TfliteBias>();
  /** The same for the Add of each affine map a * x + b written as a 1x1 DEPTHWISE_CONV_2D (ops-elementwise.ts): b is its constant operand. */
  readonly affineBiases = new Map<Node, TfliteBias>();
  /**
   * Operators whose kernel rounds symmetrically about zero (rounding.ts):
   * the value they write and the offset c (real units, per channel or one)
   * the simulation adds as t + Sign(t) c before quantizing it.
   */
  readonly roundings = new Map<Node, { value: Value; offset: Float64Array }>();

  constructor(readonly model: Model, readonly options: WriteTfliteOptions) {
    this.target = options.target ?? 'tflite';
  }

  write(): Uint8Array {
    const g = this.model.graph;
    const inputs = g.inputs.filter((v) => !v.isInitializer).map((v) => this.addInput(v));
    for (const n of g.nodes) this.emit(n);
    const outputs = g.outputs.map((v) => this.addOutput(v));
    if (this.options.intermediates) {
      this.tensors.forEach((t, i) => {
        if (t.type === 'INT8' && !t.data && !outputs.includes(i)) outputs.push(i);
      });
    }
    return buildTflite({
      tensors: this.tensors, operators: this.operators, inputs, outputs, versions: INT8_VERSIONS,
      // The model's metadata (nibble's preprocessing among it) travels as TFLite metadata entries.
      metadata: [...this.model.metadata].map(([name, value]) => ({ name, data: new TextEncoder().encode(value) })),
      description: `nibble ${this.target}: full-integer int8${this.options.weights === 'int4' ? ' (INT4 filters)' : ''}`,
    });
  }

  // --- tensors -------------------------------------------------------------

  private unique(name: string): string {
    let n = name;
    for (let i = 1; this.names.has(n); i++) n = `${name}_${i}`;
    this.names.add(n);
    return n;
  }

  addTensor(t: Omit<TestTensor, 'name'> & { name: string }): number {
    this.tensors.push({ ...t, name: this.unique(t.name) });
    return this.tensors.length - 1;
  }

  /** An int8 activation tensor on `grid`; a symbolic batch is 1 in the shape and -1 in the signature. */
  activation(name: string, shape: number[], grid: Grid, batchFree: boolean): number {
    return this.addTensor({
      name, shape, type: 'INT8', quantization: { scale: [grid.scale], zeroPoint: [grid.zeroPoint] },
      ...(batchFree ? { shapeSignature: [-1, ...shape.slice(1)] } : {}),
    });
  }

  int32(name: string, values: number[], shape = [values.length]): number {
    return this.addTensor({ name, shape, type: 'INT32', data: Int32Array.from(values) });
  }

  /** The file's shape of a value (NHWC for rank 4), and whether its batch is symbolic. */
  fileShape(v: Value, node?: Node): { shape: number[]; batchFree: boolean } {
    const dims = v.type?.shape;
    if (!dims) throw tfliteError(this.target, node, v, 'the value\'s shape is unknown', 'give the model inputs static shapes except the batch');
    const batchFree = typeof dims[0] !== 'number' && this.options.batch === undefined;
    const shape = dims.map((d: Dim, i) => {
      if (typeof d === 'number') return d;
      if (i === 0) return this.options.batch ?? 1;
      throw tfliteError(this.target, node, v, `dimension ${i} is symbolic ('${d}')`, 'TFLite needs static shapes except the batch');
    });
    return { shape: shape.length === 4 ? [shape[0], shape[2], shape[3], shape[1]] : shape, batchFree };
  }

  // --- slots ---------------------------------------------------------------

  /** The float tensor of a graph input the IR left unquantized, if v is one. */
  floatInput(v: Value | null | undefined): number | undefined {
    return v ? this.floatInputs.get(v) : undefined;
  }

  slot(v: Value | null | undefined, node: Node): Slot {
    const s = v ? this.slots.get(v) : undefined;
    if (!s && v && this.floatInputs.has(v)) {
      throw tfliteError(this.target, node, v, 'the network input has no quantization grid',
        `a full-integer file quantizes its input: quantize with the target's plan (quant-policy{integer-inputs=true}): nibble quantize --target ${this.target}`);
    }
    if (!s) {
      throw tfliteError(this.target, node, v ?? undefined, 'the input is not an int8 tensor of the file (a float value, or a constant operand TFLite has no int8 kernel for)',
        `every activation must be quantized per tensor: quantize with the target's plan (nibble quantize --target ${this.target})`);
    }
    return s;
  }

  alias(v: Value, s: Slot): void {
    this.slots.set(v, s);
  }

  /** Record that `node` writes v through a requantization that rounds symmetrically about zero, with real multipliers `multipliers` (rounding.ts). */
  symmetricRounding(node: Node, v: Value, multipliers: number[], outputScale: number): void {
    this.roundings.set(node, { value: v, offset: Float64Array.from(multipliers, (m) => symmetricOffsetLevels(m) * outputScale) });
  }

  /** The grid of a value the node writes: its own annotation (or its rounding correction's), else `fallback` (a grid-preserving op's input grid). */
  outputGrid(node: Node, v: Value, fallback?: Grid): Grid {
    const corrected = roundingCorrectionOf(v)?.add.outputs[0];
    const own = gridOf(v, this.target, node) ?? (corrected ? gridOf(corrected, this.target, node) : undefined);
    if (own) return own;
    if (fallback) return fallback;
    throw tfliteError(this.target, node, v, 'the output has no quantization grid (float in the quantized model)',
      `TFLite's integer kernels need a per-tensor int8 grid on every activation: quantize with the target's plan (nibble quantize --target ${this.target})`);
  }

  /**
   * Emit an operator writing value v on `grid`. A grid with fewer levels
   * than int8 (4-bit activations) is clamped to its own levels after the
   * operator by MINIMUM / MAXIMUM with int8 constants on the same grid:
   * TFLite's kernels saturate only to the fused activation's range within
   * [-128, 127], and clamping after rounding picks the level the
   * simulation's clamp-then-round picks (the bounds are grid points).
   */
  produce(node: Node, v: Value, grid: Grid, op: Omit<TestOperator, 'outputs'>, activationField?: number, clamp = true): Slot {
    const { shape, batchFree } = this.fileShape(v, node);
    // The corrected value (rounding.ts) names the tensor: it is what the simulation quantizes.
    const corrected = roundingCorrectionOf(v)?.add.outputs[0];
    const index = this.emitOp((corrected ?? v).name, shape, batchFree, grid, op, activationField, clamp);
    const s: Slot = { index, grid, shape };
    this.slots.set(v, s);
    if (corrected) this.slots.set(corrected, s);
    return s;
  }

  /** `produce` for a tensor no IR value names (an intermediate of a multi-operator form): its index. */
  emitOp(name: string, shape: number[], batchFree: boolean, grid: Grid, op: Omit<TestOperator, 'outputs'>, activationField?: number, clamp = true): number {
    // Ops that only move or select levels of their input's grid (clamp = false) cannot leave it.
    const clamps = clamp ? [...(grid.qmax < 127 ? ['MINIMUM'] : []), ...(grid.qmin > -128 ? ['MAXIMUM'] : [])] : [];
    let out = this.activation(clamps.length ? `${name}/wide` : name, shape, grid, batchFree);
    const written: TestOperator = { ...op, outputs: [out] };
    this.operators.push(written);
    for (const [k, bound] of clamps.entries()) {
      const level = bound === 'MINIMUM' ? grid.qmax : grid.qmin;
      const constant = this.addTensor({
        name: `${name}/${bound === 'MINIMUM' ? 'max' : 'min'}_level`, shape: [1], type: 'INT8', data: Int8Array.of(level),
        quantization: { scale: [grid.scale], zeroPoint: [grid.zeroPoint] },
      });
      const next = this.activation(k === clamps.length - 1 ? name : `${name}/${bound}`, shape, grid, batchFree);
      this.operators.push({ op: bound, inputs: [out, constant], outputs: [next] });
      out = next;
    }
    if (activationField !== undefined) this.fusable.set(out, { op: written, field: activationField });
    return out;
  }

  /** Move a later fusion target: the tensor `to` ends the chain that `from`'s operator started. */
  forwardFusion(from: number, to: number): void {
    const f = this.fusable.get(from);
    if (f) this.fusable.set(to, f);
  }

  /** Record a fused activation (documentation of what the int8 saturation already does) on the operator that wrote `s`. */
  fuse(s: Slot, activation: number): void {
    const f = this.fusable.get(s.index);
    if (!f) return;
    const entry = f.op.options?.find((o) => o[0] === f.field);
    if (entry) entry[2] = activation;
    this.fusable.delete(s.index);
  }

  // --- graph walk and I/O ---------------------------------------------------

  private emit(n: Node): void {
    if (n.opType === 'DequantizeLinear' && constantTensor(n.inputs[0]) !== undefined) return; // weights: read by their layer
    if (n.opType === 'Constant' || isRoundingCorrection(n)) return;
    const emitter = n.domain === '' || n.domain === 'ai.onnx' ? EMITTERS[n.opType] : undefined;
    if (!emitter) {
      throw new NibbleError('E_UNSUPPORTED_OP', `target ${this.target}: node '${n.name}' (${n.opType}) has no int8 TFLite form in nibble's writer`, {
        node: n.name, op: n.opType, option: 'target',
        hint: `the ${this.target} writer handles ${supportedWriterOps().join(', ')}; quantize for target sim or ort to keep this op`,
      });
    }
    emitter(this, n);
  }

  private addInput(v: Value): number {
    const grid = gridOf(v, this.target);
    const { shape, batchFree } = this.fileShape(v);
    if (!grid) {
      // Only a float op that its reader quantizes after (a zero Pad in front of the first conv) may read it.
      const index = this.addTensor({ name: v.name, shape, type: 'FLOAT32', ...(batchFree ? { shapeSignature: [-1, ...shape.slice(1)] } : {}) });
      this.floatInputs.set(v, index);
      return index;
    }
    if (this.options.io === 'int8') {
      const index = this.activation(v.name, shape, grid, batchFree);
      this.slots.set(v, { index, grid, shape });
      return index;
    }
    const float = this.addTensor({ name: v.name, shape, type: 'FLOAT32', ...(batchFree ? { shapeSignature: [-1, ...shape.slice(1)] } : {}) });
    const q = this.activation(`${v.name}/int8`, shape, grid, batchFree);
    this.operators.push({ op: 'QUANTIZE', inputs: [float], outputs: [q] });
    this.slots.set(v, { index: q, grid, shape });
    return float;
  }

  /** Record a graph output that a float tail (DEQUANTIZE, then a float op) writes. */
  floatOutput(v: Value, index: number): void {
    this.floatOutputs.set(v, index);
  }

  private addOutput(v: Value): number {
    const tail = this.floatOutputs.get(v);
    if (tail !== undefined) return tail;
    const s = this.slots.get(v);
    if (!s) {
      throw tfliteError(this.target, v.producer ?? undefined, v, 'the graph output is not an int8 tensor of the file', 'quantize the logits (quant-policy marks them at logits-bits)');
    }
    if (this.options.io === 'int8') return s.index;
    const t = this.tensors[s.index];
    // The float output carries the model's output name; the int8 tensor behind it is renamed.
    if (t.name === v.name) {
      this.names.delete(t.name);
      t.name = this.unique(`${v.name}/int8`);
    }
    const out = this.addTensor({ name: v.name, shape: t.shape, type: 'FLOAT32', ...(t.shapeSignature ? { shapeSignature: t.shapeSignature } : {}) });
    this.operators.push({ op: 'DEQUANTIZE', inputs: [s.index], outputs: [out] });
    return out;
  }
}

/**
 * The full-integer TFLite file of a quantized model (see TfliteWriter).
 * Deterministic: the same model and options give the same bytes.
 */
export function writeTflite(model: Model, options: WriteTfliteOptions = {}): Uint8Array {
  return new TfliteWriter(model, options).write();
}
