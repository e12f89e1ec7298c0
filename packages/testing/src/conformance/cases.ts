/*
 * Conformance cases as data, for every integer backend (@nibble/backend-wasm
 * and @nibble/backend-webgpu run the same list): an op with its attributes and operand grids. Integer inputs are
 * drawn from the seed, and the expected integer outputs come from the
 * float64 reference of the quantized semantics (@nibble/testing runFloat64)
 * in build.ts. Odd shapes on purpose: 1x1 images, channel counts that
 * are not multiples of the SIMD width, stride > kernel, pads larger than the
 * image, mixed widths per channel (clamps), per-tensor grids.
 */

export interface Grid {
  /** Bits per channel (a single number: all channels). */
  bits: number | number[];
  /** Per channel along axis 1 (default true). */
  perChannel?: boolean;
  /** One-sided (lo = 0), as after a fused ReLU. */
  oneSided?: boolean;
}

export interface ConformanceCase {
  name: string;
  op: 'Conv' | 'Gemm' | 'MaxPool' | 'GlobalAveragePool' | 'Relu' | 'Clip' | 'Add' | 'Flatten';
  /** Per-sample input shape [C, H, W] (or [K] for Gemm). */
  input: number[];
  /** Input grid; absent: a float input (the network input). */
  inputGrid?: Grid;
  attributes?: Record<string, number | number[]>;
  /** Weight [O, C/group, KH, KW] (Gemm: [N, K] with transB=1, [K, N] otherwise) and its width. */
  weight?: { shape: number[]; bits: number; biasCorrection?: boolean };
  bias?: boolean;
  /** Output grid (default 4-bit per channel for convs, 8-bit per tensor otherwise). */
  outputGrid?: Grid;
  /** Clip bounds. */
  clip?: [number, number];
  batch?: number;
  seed: number;
}

export const CONFORMANCE_CASES: readonly ConformanceCase[] = [
  { name: 'conv 3x3 pad 1, 16 -> 16, 4-bit', op: 'Conv', input: [16, 8, 8], inputGrid: { bits: 4, oneSided: true }, attributes: { kernel_shape: [3, 3], pads: [1, 1, 1, 1] }, weight: { shape: [16, 16, 3, 3], bits: 4 }, bias: true, seed: 1 },
  { name: 'conv 3x3, 5 -> 7 channels (not multiples of 4), odd image', op: 'Conv', input: [5, 7, 9], inputGrid: { bits: 4 }, attributes: { kernel_shape: [3, 3], pads: [1, 1, 1, 1] }, weight: { shape: [7, 5, 3, 3], bits: 4 }, bias: true, seed: 2 },
  { name: 'conv on a 1x1 image with pads 1', op: 'Conv', input: [17, 1, 1], inputGrid: { bits: 4, oneSided: true }, attributes: { kernel_shape: [3, 3], pads: [1, 1, 1, 1] }, weight: { shape: [9, 17, 3, 3], bits: 4 }, bias: true, seed: 3 },
  { name: 'conv with pads larger than the kernel (3 on a 3x3)', op: 'Conv', input: [3, 4, 4], inputGrid: { bits: 4 }, attributes: { kernel_shape: [3, 3], pads: [3, 3, 3, 3] }, weight: { shape: [6, 3, 3, 3], bits: 4 }, bias: true, seed: 4 },
  { name: 'conv stride 3 > kernel 2, asymmetric pads', op: 'Conv', input: [6, 11, 10], inputGrid: { bits: 4 }, attributes: { kernel_shape: [2, 2], strides: [3, 3], pads: [0, 1, 2, 0] }, weight: { shape: [5, 6, 2, 2], bits: 4 }, bias: true, seed: 5 },
  { name: 'conv 1x1 stride 2 (projection shortcut)', op: 'Conv', input: [20, 9, 9], inputGrid: { bits: 4, oneSided: true }, attributes: { kernel_shape: [1, 1], strides: [2, 2] }, weight: { shape: [12, 20, 1, 1], bits: 4 }, bias: true, seed: 6 },
  { name: 'depthwise 3x3 stride 2, 18 channels', op: 'Conv', input: [18, 9, 8], inputGrid: { bits: 4, oneSided: true }, attributes: { kernel_shape: [3, 3], strides: [2, 2], pads: [0, 0, 1, 1], group: 18 }, weight: { shape: [18, 1, 3, 3], bits: 4 }, bias: true, seed: 7 },
  { name: 'grouped conv (2 groups), dilation 2', op: 'Conv', input: [6, 9, 9], inputGrid: { bits: 4 }, attributes: { kernel_shape: [3, 3], pads: [2, 2, 2, 2], dilations: [2, 2], group: 2 }, weight: { shape: [10, 3, 3, 3], bits: 4 }, bias: true, seed: 8 },
  { name: 'conv, per-tensor 8-bit input (one int32 segment)', op: 'Conv', input: [13, 6, 6], inputGrid: { bits: 8, perChannel: false, oneSided: true }, attributes: { kernel_shape: [3, 3], pads: [1, 1, 1, 1] }, weight: { shape: [11, 13, 3, 3], bits: 4 }, bias: true, seed: 9 },
  { name: 'conv, mixed 2..8-bit input channels and 3-bit outputs (clamps)', op: 'Conv', input: [6, 5, 5], inputGrid: { bits: [2, 3, 4, 5, 8, 1] }, attributes: { kernel_shape: [3, 3], pads: [1, 1, 1, 1] }, weight: { shape: [7, 6, 3, 3], bits: 8 }, bias: true, outputGrid: { bits: [3, 2, 4, 6, 3, 1, 8] }, seed: 10 },
  { name: 'conv with a bias-correction shift on the weights', op: 'Conv', input: [8, 6, 6], inputGrid: { bits: 4, oneSided: true }, attributes: { kernel_shape: [3, 3], pads: [1, 1, 1, 1] }, weight: { shape: [8, 8, 3, 3], bits: 4, biasCorrection: true }, bias: true, seed: 11 },
  { name: 'first conv: float input, 8-bit weights, batch 3', op: 'Conv', input: [1, 7, 6], attributes: { kernel_shape: [3, 3], pads: [1, 1, 1, 1] }, weight: { shape: [16, 1, 3, 3], bits: 8 }, bias: true, batch: 3, seed: 12 },
  { name: 'conv without bias, no pads', op: 'Conv', input: [4, 5, 5], inputGrid: { bits: 4 }, attributes: { kernel_shape: [3, 3] }, weight: { shape: [4, 4, 3, 3], bits: 4 }, seed: 13 },
  // The integer kernels (one input scale per group: per-tensor codes, or depthwise): odd shapes on purpose.
  { name: 'int: 1x1 conv, per-tensor 4-bit, 21 -> 19 channels (direct rows, odd reduction)', op: 'Conv', input: [21, 5, 7], inputGrid: { bits: 4, perChannel: false, oneSided: true }, attributes: { kernel_shape: [1, 1] }, weight: { shape: [19, 21, 1, 1], bits: 4 }, bias: true, seed: 31 },
  { name: 'int: 1x1 conv on a 1x1 image, 40 -> 13', op: 'Conv', input: [40, 1, 1], inputGrid: { bits: 4, perChannel: false }, attributes: { kernel_shape: [1, 1] }, weight: { shape: [13, 40, 1, 1], bits: 4 }, bias: true, seed: 32 },
  { name: 'int: 3x3 stride 2 pads 1 on a 1x1 image', op: 'Conv', input: [5, 1, 1], inputGrid: { bits: 4, perChannel: false, oneSided: true }, attributes: { kernel_shape: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1] }, weight: { shape: [6, 5, 3, 3], bits: 4 }, bias: true, seed: 33 },
  { name: 'int: stride 3 > kernel 2, pads 4 larger than the kernel, 8-bit two-sided codes', op: 'Conv', input: [3, 6, 5], inputGrid: { bits: 8, perChannel: false }, attributes: { kernel_shape: [2, 2], strides: [3, 3], pads: [4, 4, 4, 4] }, weight: { shape: [9, 3, 2, 2], bits: 4 }, bias: true, seed: 34 },
  { name: 'int: 3x3 pad 1, 17 -> 33 channels, 8-bit weights, 11x13 image (row tails)', op: 'Conv', input: [17, 11, 13], inputGrid: { bits: 4, perChannel: false, oneSided: true }, attributes: { kernel_shape: [3, 3], pads: [1, 1, 1, 1] }, weight: { shape: [33, 17, 3, 3], bits: 8 }, bias: true, seed: 35 },
  { name: 'int: 3x3 dilation 2, pads 2, stride 2, 19-wide image (taps of the padded planes)', op: 'Conv', input: [4, 9, 19], inputGrid: { bits: 4, perChannel: false, oneSided: true }, attributes: { kernel_shape: [3, 3], pads: [2, 2, 2, 2], dilations: [2, 2], strides: [2, 2] }, weight: { shape: [5, 4, 3, 3], bits: 4 }, bias: true, seed: 42 },
  { name: 'int: depthwise 3x3 pad 1, 20 channels, per-channel two-sided codes (int16 sums)', op: 'Conv', input: [20, 9, 11], inputGrid: { bits: 4 }, attributes: { kernel_shape: [3, 3], pads: [1, 1, 1, 1], group: 20 }, weight: { shape: [20, 1, 3, 3], bits: 4 }, bias: true, seed: 36 },
  { name: 'int: depthwise 3x3, 8-bit codes and 8-bit weights (int32 sums), stride 2x1', op: 'Conv', input: [6, 10, 9], inputGrid: { bits: 8, perChannel: false }, attributes: { kernel_shape: [3, 3], strides: [2, 1], pads: [1, 0, 1, 2], group: 6 }, weight: { shape: [6, 1, 3, 3], bits: 8 }, bias: true, seed: 37 },
  { name: 'int: depthwise 5x5 stride 2, pads 3 on a 4x4 image (generic taps)', op: 'Conv', input: [7, 4, 4], inputGrid: { bits: 4, oneSided: true }, attributes: { kernel_shape: [5, 5], strides: [2, 2], pads: [3, 3, 3, 3], group: 7 }, weight: { shape: [7, 1, 5, 5], bits: 4 }, bias: true, seed: 38 },
  { name: 'int: depthwise 3x3 on a 1x1 image with pads 1, no bias', op: 'Conv', input: [9, 1, 1], inputGrid: { bits: 4, perChannel: false }, attributes: { kernel_shape: [3, 3], pads: [1, 1, 1, 1], group: 9 }, weight: { shape: [9, 1, 3, 3], bits: 4 }, seed: 39 },
  { name: 'int: gemm on per-tensor codes, 33 features -> 5', op: 'Gemm', input: [33], inputGrid: { bits: 4, perChannel: false }, attributes: { transB: 1 }, weight: { shape: [5, 33], bits: 4 }, bias: true, batch: 4, seed: 40 },
  { name: 'gemm transB=1 on codes, 8-bit weights', op: 'Gemm', input: [37], inputGrid: { bits: 4, perChannel: false }, attributes: { transB: 1 }, weight: { shape: [10, 37], bits: 8 }, bias: true, seed: 14 },
  { name: 'gemm transB=0 on a float input', op: 'Gemm', input: [9], attributes: {}, weight: { shape: [9, 5], bits: 4 }, bias: true, seed: 15 },
  { name: 'gemm with a bias-correction shift', op: 'Gemm', input: [12], inputGrid: { bits: 8, perChannel: false }, attributes: { transB: 1 }, weight: { shape: [6, 12], bits: 4, biasCorrection: true }, bias: true, seed: 16 },
  { name: 'max pool 2x2 stride 2 on per-channel codes', op: 'MaxPool', input: [5, 7, 7], inputGrid: { bits: 4 }, attributes: { kernel_shape: [2, 2], strides: [2, 2] }, outputGrid: { bits: 8, perChannel: false }, seed: 17 },
  { name: 'max pool 3x3 stride 2 pads 1, 1x1 image', op: 'MaxPool', input: [3, 1, 1], inputGrid: { bits: 4 }, attributes: { kernel_shape: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1] }, outputGrid: { bits: 8, perChannel: false }, seed: 18 },
  { name: 'global average pool of codes', op: 'GlobalAveragePool', input: [19, 5, 3], inputGrid: { bits: 4 }, outputGrid: { bits: 8, perChannel: false }, seed: 19 },
  { name: 'relu of two-sided codes', op: 'Relu', input: [7, 3, 5], inputGrid: { bits: 4 }, outputGrid: { bits: 8, perChannel: false }, seed: 20 },
  { name: 'clip 0..1 of codes (bounds off the grid: float path)', op: 'Clip', input: [4, 3, 3], inputGrid: { bits: 4 }, clip: [0, 1], outputGrid: { bits: 8, perChannel: false }, seed: 21 },
  { name: 'clip 0..6 of one-sided codes below 6 (ReLU6 on the grid: codes kept)', op: 'Clip', input: [6, 3, 3], inputGrid: { bits: 4, oneSided: true }, clip: [0, 6], outputGrid: { bits: 8, perChannel: false }, seed: 24 },
  { name: 'add of codes and their relu (a residual sum)', op: 'Add', input: [9, 4, 4], inputGrid: { bits: 4 }, outputGrid: { bits: 4 }, seed: 22 },
  { name: 'int: add of per-tensor 8-bit codes and their relu, onto a per-tensor grid (one step)', op: 'Add', input: [9, 5, 7], inputGrid: { bits: 8, perChannel: false }, outputGrid: { bits: 8, perChannel: false }, seed: 41 },
  { name: 'flatten of per-channel codes', op: 'Flatten', input: [3, 2, 2], inputGrid: { bits: 4 }, attributes: { axis: 1 }, outputGrid: { bits: 8, perChannel: false }, seed: 23 },
];
