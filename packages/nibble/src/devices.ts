import { registeredOps } from '@nibble/backend-wasm';
import { NibbleError } from '@nibble/ir';

/**
 * A deployment target as data, for `nibble fit`: how many bytes the weights
 * may take in flash or storage, how much RAM the activation arena may take,
 * and which operators have kernels there. The figures are those of a class
 * of device (what is left for the model once firmware, stack and I/O
 * buffers are placed), not of one board: copy a profile and change the
 * numbers for yours.
 */
export interface DeviceProfile {
  name: string;
  summary: string;
  /** Bytes for the model's constants (flash, or what the page may download and keep). */
  weightBudgetBytes: number;
  /** Bytes of RAM for the activations alive at once (the arena). */
  arenaBudgetBytes: number;
  /** Operators with a kernel on the device (ONNX names, Q/DQ included where integer kernels read codes). */
  ops: readonly string[];
  /** Whether float32 kernels exist; a device without them needs a quantized model. */
  float: boolean;
}

const KiB = 1024;
const MiB = 1024 * KiB;

/** The integer kernels of a CMSIS-NN-class library (TFLite Micro's reference set for CNNs). */
const MCU_OPS = [
  'Add', 'AveragePool', 'Clip', 'Concat', 'Conv', 'DequantizeLinear', 'Flatten', 'Gemm', 'GlobalAveragePool', 'MatMul', 'Max', 'MaxPool', 'Min', 'Mul',
  'Pad', 'QuantizeLinear', 'Relu', 'Reshape', 'Sigmoid', 'Softmax', 'Transpose',
];

export const DEVICE_PROFILES: readonly DeviceProfile[] = Object.freeze([
  {
    name: 'cortex-m7',
    summary: 'Cortex-M7-class MCU (2 MiB flash, 1 MiB SRAM): 1.5 MiB of flash for weights, 512 KiB of SRAM for the arena, integer kernels only',
    weightBudgetBytes: 1.5 * MiB,
    arenaBudgetBytes: 512 * KiB,
    ops: MCU_OPS,
    float: false,
  },
  {
    name: 'esp32-s3',
    summary: 'ESP32-S3 with 8 MiB PSRAM and 8 MiB flash: 4 MiB of flash for weights, 4 MiB of PSRAM for the arena, integer kernels (ESP-DL class)',
    weightBudgetBytes: 4 * MiB,
    arenaBudgetBytes: 4 * MiB,
    ops: MCU_OPS,
    float: false,
  },
  {
    name: 'phone-browser',
    summary: "low-end phone browser: 8 MiB download for weights, 64 MiB of wasm memory for the arena, nibble's own int4 wasm kernels",
    weightBudgetBytes: 8 * MiB,
    arenaBudgetBytes: 64 * MiB,
    // The kernels @nibble/backend-wasm registers: what runs the int4 model in a page.
    ops: registeredOps(),
    float: false,
  },
]);

export function listDevices(): readonly DeviceProfile[] {
  return DEVICE_PROFILES;
}

/** The profile named `name`, or E_BAD_OPTION listing the profiles. */
export function getDevice(name: string): DeviceProfile {
  const p = DEVICE_PROFILES.find((d) => d.name === name);
  if (p) return p;
  throw new NibbleError('E_BAD_OPTION', `unknown device profile '${name}'`, {
    option: 'device',
    hint: `profiles: ${DEVICE_PROFILES.map((d) => d.name).join(', ')}`,
  });
}
