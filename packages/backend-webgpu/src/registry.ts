import type { Node } from '@nibble/ir';
import type { CompileContext } from './plan';

/**
 * Kernels by ONNX op type (TensorFlow.js's kernel registry), one file per
 * kernel under kernels/: compile() runs once per node when the plan is
 * built, decides as @nibble/backend-wasm's kernel of the same op does, and
 * emits the GPU steps.
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
