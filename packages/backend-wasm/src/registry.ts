import { KernelRegistry } from '@nibble/core';
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

const KERNELS = new KernelRegistry<KernelSpec>();

export const registerKernel = (spec: KernelSpec): void => KERNELS.register(spec);
export const getKernel = (opType: string): KernelSpec | undefined => KERNELS.get(opType);
export const registeredOps = (): string[] => KERNELS.ops();
