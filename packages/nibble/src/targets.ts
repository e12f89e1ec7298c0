import { definePass, type PipelineSpec, registerPass } from '@nibble/core';
import { type Model, NibbleError } from '@nibble/ir';
import { lowerForOrt, lowerToQdq, writeOnnx } from '@nibble/onnx';
import { alignBiasesToTflite, writeTflite } from '@nibble/tflite';
import { ortBiasPass } from './ort-bias';
import { tfliteGridsPass } from './tflite-grids';

/*
 * Where a quantized model will run, as data: what the runtime's integer
 * kernels can hold (activation scales per tensor or per channel, weight
 * grids, containers, which ops run as integers, how a grid narrower than
 * its container is kept), the pass options that make the pipeline quantize
 * within those limits, and the writer of the file. `sim` is the exact
 * simulation nibble has always written; `ort` is ONNX QDQ that
 * onnxruntime's default optimizations run in its integer kernels.
 */

/** Pass options a target imposes: option text by pass name (kebab-case keys, as in pipeline text). */
export type TargetConstraints = Readonly<Record<string, Readonly<Record<string, string>>>>;

export interface Target {
  readonly name: string;
  readonly summary: string;
  readonly format: 'onnx' | 'tflite';
  /** The file extension the output path must have. */
  readonly extension: string;
  readonly activationScale: 'per-tensor' | 'per-channel';
  readonly weights: 'symmetric' | 'affine';
  /** Integer containers the file stores, weights and activations. */
  readonly containers: { readonly weights: readonly string[]; readonly activations: readonly string[] };
  /** Ops the runtime executes on integers (the rest run in float between Q/DQ pairs). */
  readonly integerOps: readonly string[];
  /** How a grid narrower than its container (4-bit levels in int8) keeps its levels. */
  readonly narrowGrids: string;
  /** Options the target sets on the passes of any pipeline it runs. */
  readonly constraints: TargetConstraints;
  /** Passes the target appends to every pipeline (after the recipe's): the last steps that make the IR compute what the runtime does. */
  readonly tail?: readonly string[];
  /**
   * Graph rewrites the target needs before quantization (float-exact: the
   * runtime's operator forms), inserted before mark-fused-relu, or before
   * quant-policy where the pipeline has no mark-fused-relu.
   */
  readonly prelude?: readonly string[];
  /** Documentation of what the constraints cost, per line. */
  readonly notes: readonly string[];
  /** The file's bytes, from the quantized IR (validated before they are returned). */
  write(model: Model, file?: string): Uint8Array;
}

const SIM: Target = {
  name: 'sim',
  summary: 'exact QDQ simulation: per-channel activation scales, 1-8 bit grids in int4/int8 containers (onnxruntime runs it in float)',
  format: 'onnx',
  extension: '.onnx',
  activationScale: 'per-channel',
  weights: 'affine',
  containers: { weights: ['int4', 'int8'], activations: ['uint4', 'uint8'] },
  integerOps: [],
  narrowGrids: 'clamped (Max/Min) before QuantizeLinear',
  constraints: {},
  notes: ['runs in onnxruntime with disable_quant_qdq (exact simulation); no runtime executes it in integers'],
  write: (model, file) => writeOnnx(lowerToQdq(model), { file }),
};

const ORT: Target = {
  name: 'ort',
  summary: 'ONNX QDQ that onnxruntime (CPU and web/wasm) fuses into integer kernels: per-tensor uint8 activations, per-channel symmetric int8 weights',
  format: 'onnx',
  extension: '.onnx',
  activationScale: 'per-tensor',
  weights: 'symmetric',
  containers: { weights: ['int8'], activations: ['uint8'] },
  integerOps: ['Conv', 'Gemm', 'MatMul', 'Add', 'MaxPool', 'GlobalAveragePool'],
  narrowGrids: 'kernel saturates to uint8, then DequantizeLinear -> Max/Min -> QuantizeLinear (float) restores the 2^bits levels',
  constraints: {
    // Per-tensor scales everywhere; every input of an integer kernel quantized; MaxPool keeps its input's grid.
    // Weights at most 7 bits: onnxruntime's u8s8 kernels on AVX2 without VNNI add pairs of u8 x s8 products in int16
    // (vpmaddubsw), which saturates for 8-bit weights (255 x 127 x 2 > 32767): measured 96.9% top-1 agreement at 8 bits, 99.9% at 7.
    'quant-policy': { 'per-channel-activations': 'false', 'integer-inputs': 'true', pools: 'false', 'w-max-bits': '7' },
    quantize: { 'symmetric-weights': 'true' },
    // 0-bit weight channels are constants, which a zero point of 0 cannot hold unless positive.
    'alloc-bits': { 'min-bits': '1', 'max-bits': '7' },
    'bias-correct': { fold: 'bias', 'zero-point': 'false' },
  },
  notes: [
    'activation scales per tensor: per-channel allocation of activations does not apply (alloc-bits skips per-tensor values)',
    'network input, residual Add outputs and GlobalAveragePool outputs quantized per tensor at input-bits (8): integer kernels read integers',
    'weights symmetric (zero point 0, TFLite\'s convention; asymmetric int8 weights not measured in onnxruntime), at most 7 bits (int16 saturation of u8s8 kernels on AVX2); int4 levels stored in int8 (onnxruntime runs int4 weights in float)',
    'bias correction folded into the bias (fold=bias, zero points kept)',
    'ort-bias (appended to the pipeline): each Conv/ConvTranspose/Gemm bias is the one onnxruntime adds after its own rewrite quantizes it to int32 at s_in * s_w, so the simulation computes the file\'s levels',
  ],
  tail: [ortBiasPass.name],
  write: (model, file) => writeOnnx(lowerForOrt(model), { file }),
};

const TARGETS = new Map<string, Target>([[SIM.name, SIM], [ORT.name, ORT]]);

// nibble's own int4 WebAssembly backend (@nibble/backend-wasm): its fast integer kernels need one activation scale
// per tensor and every conv input on a grid; it reads the same QDQ form as `sim`.
const WASM: Target = {
  name: 'wasm',
  summary: 'QDQ for nibble\'s int4 WebAssembly backend: per-tensor activation codes everywhere (residual sums and the input at 8 bits), 1-8 bit weights',
  format: 'onnx',
  extension: '.onnx',
  activationScale: 'per-tensor',
  weights: 'affine',
  containers: { weights: ['int4', 'int8'], activations: ['uint4', 'uint8'] },
  integerOps: ['Conv', 'Gemm', 'MaxPool', 'GlobalAveragePool', 'Add', 'Relu', 'Clip'],
  narrowGrids: 'clamped (Max/Min) before QuantizeLinear, fused into the kernel that writes the codes',
  constraints: { 'quant-policy': { 'per-channel-activations': 'false', 'integer-inputs': 'true' }, 'bias-correct': { fold: 'bias' } },
  notes: [
    'activation scales per tensor: convs accumulate in int32 with one float64 rescale per output (per-channel activation allocation does not apply)',
    'network input and residual Add outputs quantized per tensor at input-bits (8) so that every conv reads codes',
    'bias correction folded into the zero point and the bias (fold=bias): a weight-side Add would leave the integer kernels',
  ],
  write: (model, file) => writeOnnx(lowerToQdq(model), { file }),
};
TARGETS.set(WASM.name, WASM);

/**
 * tflite-bias: the last step of the tflite targets. TFLite 2.9 requantizes
 * an accumulator with two roundings, which add 2^30/M accumulator units
 * (M the Q31 multiplier) before one rounding (@nibble/tflite requant.ts).
 * The writer rounds each int32 bias net of that offset; this pass gives the
 * IR's layers the bias TFLite then adds in effect, so the simulation of the
 * constrained scheme computes TFLite's levels (docs/targets.md).
 */
export const tfliteBiasPass = definePass({
  name: 'tflite-bias',
  summary: 'give each Conv/Gemm the bias TFLite adds in effect (its int32 bias plus the offset of its two-step requantization)',
  run(graph, ctx) {
    const layers = alignBiasesToTflite(graph);
    ctx.report.record('aligned', { layers });
    return { graph, modified: layers > 0 };
  },
});
registerPass(tfliteBiasPass);

// Full-integer TFLite (@nibble/tflite's writer; docs/targets.md): int8 per-tensor activations, per-channel symmetric filters.
const TFLITE_CONSTRAINTS: TargetConstraints = {
  // Per-tensor activation scales; every input of an integer kernel quantized (the network input too), and every value an int8
  // operator writes (every-activation); MaxPool keeps its input's grid.
  'quant-policy': { 'per-channel-activations': 'false', 'integer-inputs': 'true', pools: 'false', 'every-activation': 'true' },
  // TFLite's int8 filters have zero point 0.
  quantize: { 'symmetric-weights': 'true' },
  // 0-bit weight channels are constants, which a zero point of 0 cannot hold unless positive.
  'alloc-bits': { 'min-bits': '1', 'max-bits': '8' },
  'bias-correct': { fold: 'bias', 'zero-point': 'false' },
};
const TFLITE_NOTES = [
  'activation scales per tensor (int8, zero point in int8): per-channel allocation of activations does not apply',
  'network input, residual Add outputs and global-average-pool outputs quantized per tensor at input-bits (8); QUANTIZE / DEQUANTIZE at the float input and output',
  'filters symmetric per output channel (zero point 0), biases int32 at s_in * s_w[c], rounded net of the offset TFLite\'s two-step requantization adds',
  '4-bit activation grids kept by MINIMUM with an int8 constant after the op (-113 = 15 levels above -128)',
  'tflite-bias (appended to the pipeline): each layer\'s bias is the one TFLite adds in effect (int32 rounding plus the offset of its two-step requantization), so the simulation computes the file\'s levels',
  'fold-affine (before quantization): per-channel Mul/Add after a Conv/ConvTranspose and HardSigmoid after one fold into it, hard-swish is spelled x * HardSigmoid(x) (one HARD_SWISH), a * x + b before an unpadded 1x1 Conv folds into it; other a * x + b pairs are one 1x1 DEPTHWISE_CONV_2D',
  'every other activation (Mul, hard-swish, Sigmoid, residual Add, Concat) quantized per tensor at input-bits (quant-policy{every-activation=true}); hard-swish written as a table of its 256 levels (CAST, ADD, GATHER)',
  'DEPTHWISE_CONV_2D, TRANSPOSE_CONV, MUL, ADD and int8 QUANTIZE round symmetrically about zero: tflite-bias gives the simulation that offset as t + Sign(t) * c after the op (docs/targets.md)',
  'tflite-grids (appended): Sigmoid outputs on LOGISTIC\'s grid (scale 1/256, zero point -128), each Concat\'s inputs and output on one shared grid',
  'global average pooling as MEAN, whose int8 kernel rounds in float32 (a level off on a few pooled values); writeTflite(model, { averagePool: \'conv\' }) writes a whole-image DEPTHWISE_CONV_2D the simulation follows exactly, at H * W * C filter bytes',
];
const TFLITE: Target = {
  name: 'tflite',
  summary: 'full-integer TFLite: int8 per-tensor activations, per-channel symmetric int8 filters, int32 biases (4-bit levels in int8)',
  format: 'tflite',
  extension: '.tflite',
  activationScale: 'per-tensor',
  weights: 'symmetric',
  containers: { weights: ['int8'], activations: ['int8'] },
  integerOps: ['Conv', 'ConvTranspose', 'Gemm', 'Add', 'Mul', 'HardSigmoid', 'Sigmoid', 'MaxPool', 'GlobalAveragePool', 'AveragePool', 'Relu', 'Clip', 'Flatten', 'Reshape', 'Concat', 'Pad', 'Resize'],
  narrowGrids: 'MINIMUM (and MAXIMUM) with int8 constants on the same grid after the op that writes it',
  constraints: TFLITE_CONSTRAINTS,
  prelude: ['fold-affine'],
  tail: [tfliteGridsPass.name, tfliteBiasPass.name],
  notes: TFLITE_NOTES,
  write: (model, file) => writeTflite(model, { weights: 'int8', target: 'tflite', file }),
};
const TFLITE_INT4: Target = {
  ...TFLITE,
  name: 'tflite-int4',
  summary: 'full-integer TFLite with INT4 filters (two per byte) where a filter has at most 4 bits; int8 elsewhere. No runtime here executes INT4',
  containers: { weights: ['int4', 'int8'], activations: ['int8'] },
  notes: [...TFLITE_NOTES, 'filters of at most 4 bits in INT4 tensors (TFLite schema TensorType 17, element 2i in the low nibble); TFLite 2.9 cannot run them'],
  write: (model, file) => writeTflite(model, { weights: 'int4', target: 'tflite-int4', file }),
};
TARGETS.set(TFLITE.name, TFLITE);
TARGETS.set(TFLITE_INT4.name, TFLITE_INT4);

export const DEFAULT_TARGET = SIM.name;

export function listTargets(): readonly Target[] {
  return [...TARGETS.values()];
}

export function getTarget(name: string = DEFAULT_TARGET): Target {
  const t = TARGETS.get(name);
  if (!t) {
    throw new NibbleError('E_BAD_OPTION', `unknown target '${name}'`, { option: 'target', hint: `choose one of: ${[...TARGETS.keys()].join(', ')}` });
  }
  return t;
}

/**
 * The pipeline with the target's constraints in force: each constrained
 * pass gets the target's option values. An option the pipeline sets
 * explicitly to another value is refused, naming the pass, the option and
 * the target, rather than silently replaced.
 */
export function constrainPipeline(spec: PipelineSpec, target: Target): PipelineSpec {
  const passes = spec.passes.map((p) => {
    const wanted = target.constraints[p.name];
    if (!wanted) return p;
    const options: PipelineSpec['passes'][number]['options'] = p.options.map((o) => ({ ...o }));
    for (const [key, value] of Object.entries(wanted)) {
      const given = options.find((o) => o.key === key);
      if (given && given.value !== value) {
        throw new NibbleError('E_BAD_OPTION', `${p.name}{${key}=${String(given.value)}} conflicts with target ${target.name}, which needs ${key}=${value}`, {
          option: key,
          hint: `drop the option from the pipeline, or quantize for target sim (${target.name}: ${target.summary})`,
        });
      }
      if (!given) options.push({ key, value });
    }
    return { ...p, options };
  });
  // The prelude runs once, before the first of mark-fused-relu / quant-policy (its rewrites change what they mark).
  for (const name of target.prelude ?? []) {
    const at = passes.findIndex((p) => p.name === name);
    if (at >= 0) passes.splice(at, 1);
  }
  const before = [passes.findIndex((p) => p.name === 'mark-fused-relu'), passes.findIndex((p) => p.name === 'quant-policy')].filter((i) => i >= 0);
  if (before.length > 0) passes.splice(Math.min(...before), 0, ...(target.prelude ?? []).map((name) => ({ name, options: [] })));
  // The tail runs once, last, even where the pipeline already names it.
  for (const name of target.tail ?? []) {
    const at = passes.findIndex((p) => p.name === name);
    if (at >= 0) passes.splice(at, 1);
    passes.push({ name, options: [] });
  }
  return { passes, ...(spec.source !== undefined ? { source: spec.source } : {}) };
}
