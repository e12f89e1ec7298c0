/**
 * Kernels by ONNX op type (TensorFlow.js's kernel registry), for the
 * backends that execute a model themselves (@nibble/backend-wasm,
 * @nibble/backend-webgpu): each keeps one registry of its own kernel kind,
 * filled by one file per op.
 */
export class KernelRegistry<K extends { readonly opType: string }> {
  private readonly kernels = new Map<string, K>();

  register(kernel: K): void {
    this.kernels.set(kernel.opType, kernel);
  }

  get(opType: string): K | undefined {
    return this.kernels.get(opType);
  }

  /** The op types with a kernel, sorted. */
  ops(): string[] {
    return [...this.kernels.keys()].sort();
  }
}
