import type { Node } from '@nibble/ir';
import type { CompileContext } from './plan';

/**
 * Kernels by ONNX op type (TensorFlow.js's kernel registry): one file per
 * kernel under kernels/, each calling registerKernel. A kernel's compile
 * function runs once per node when the plan is built: it reads its operands
 * (their kind, shape and quantization), places its constants, defines its
 * outputs and emits the step that calls the WebAssembly kernel.
 */
export interface KernelSpec {
  opType: string;
  compile(node: Node, ctx: CompileContext): void;
}

const KERNELS = new Map<string, KernelSpec>();

export function registerKernel(spec: KernelSpec): void {
  KERNELS.set(spec.opType, spec);
}

export function getKernel(opType: string): KernelSpec | undefined {
  return KERNELS.get(opType);
}

export function registeredOps(): string[] {
  return [...KERNELS.keys()].sort();
}
