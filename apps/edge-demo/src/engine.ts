import {
  argmax, createOrtExecutor, createWasmExecutor, createWebGpuExecutor, type Dataset, type Model, modelFootprint, NibbleError, quantize,
  type QuantizeProgress, type QuantizeResult, readOnnx, requestWebGpu, type Tensor, type WebGpuContext, webGpuUnavailableReason,
} from 'nibble';

/*
 * What the page computes, through nibble's public API only: the float model
 * on onnxruntime-web, quantization in the page (calibration runs the float
 * model on onnxruntime-web too: there is no onnxruntime-node in a browser),
 * and the quantized model's QDQ form on nibble's int4 WebAssembly backend
 * and, where the browser has WebGPU, on its WebGPU backend.
 */

type Executor = Awaited<ReturnType<typeof createOrtExecutor>>;
type WasmExecutor = Awaited<ReturnType<typeof createWasmExecutor>>;
type GpuExecutor = Awaited<ReturnType<typeof createWebGpuExecutor>>;

/**
 * The deployment target the page quantizes for: `wasm`, the integer form
 * (one activation scale per tensor, every conv input on a grid) that both
 * int4 backends execute with integer kernels and bit-identical codes. The
 * default `sim` target's per-channel activation scales would leave the
 * WebGPU backend without an integer form for some layers.
 */
export const DEMO_TARGET = 'wasm';

/** Runs of one image per latency figure; the median is shown (the first, warm-up run is not counted). */
export const LATENCY_RUNS = 5;
/**
 * Runs per figure on a software WebGPU adapter (SwiftShader: a CPU emulation, hundreds of milliseconds for a
 * ResNet-20 image, seconds for a 224x224 network): one, after the warm-up; its timing says little anyway.
 */
export const SOFTWARE_GPU_RUNS = 1;

export interface Prediction {
  cls: number;
  /** Softmax probability of the predicted class. */
  confidence: number;
  /** Median milliseconds of one image, over the runner's latency runs. */
  medianMs: number;
}

export async function fetchModel(url: string, name: string): Promise<{ model: Model; bytes: number }> {
  const res = await fetch(url);
  if (!res.ok) throw new NibbleError('E_FILE_NOT_FOUND', `${name}: the page could not load it (HTTP ${res.status})`, { hint: 'rebuild the demo; the models are bundled with it' });
  const bytes = new Uint8Array(await res.arrayBuffer());
  return { model: readOnnx(bytes), bytes: bytes.length };
}

/** Quantizes in the page: the recipe's pipeline, calibrated on `calib` (every image of it, the default seed). */
export async function quantizeInPage(model: Model, calib: Dataset, recipe: string, onProgress: (p: QuantizeProgress) => void): Promise<QuantizeResult> {
  return quantize(model, {
    recipe, target: DEMO_TARGET, data: calib, samples: calib.length, onProgress,
    executorFactory: (m, o) => createOrtExecutor(m, { ...o, backend: 'web' }),
  });
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

function softmaxAt(row: Float64Array, k: number): number {
  const max = Math.max(...row);
  let sum = 0;
  for (const v of row) sum += Math.exp(v - max);
  return Math.exp(row[k] - max) / sum;
}

/** One model on one engine: predictions of single images, timed. */
export class Runner {
  private constructor(
    private readonly executor: Executor | WasmExecutor | GpuExecutor, private readonly input: string, private readonly output: string,
    /** Timed runs per prediction (after one warm-up run). */
    readonly latencyRuns = LATENCY_RUNS,
  ) {}

  static async float(model: Model): Promise<Runner> {
    return new Runner(await createOrtExecutor(model, { backend: 'web' }), model.graph.inputs[0].name, model.graph.outputs[0].name);
  }

  static async int4(result: QuantizeResult): Promise<Runner> {
    // The QDQ file quantize wrote (what saveQuantized would save) is what the WASM backend runs.
    const qdq = readOnnx(result.onnx);
    return new Runner(await createWasmExecutor(qdq), qdq.graph.inputs[0].name, qdq.graph.outputs[0].name);
  }

  /**
   * The quantized model on the WebGPU backend, or why not: the browser has
   * no WebGPU (or no adapter), which the page shows instead of numbers.
   */
  static async webgpu(result: QuantizeResult): Promise<{ runner: Runner; gpu: WebGpuContext } | { unavailable: string }> {
    const gpu = await requestWebGpu();
    if (!gpu) return { unavailable: webGpuUnavailableReason };
    const qdq = readOnnx(result.onnx);
    const runs = gpu.software ? SOFTWARE_GPU_RUNS : LATENCY_RUNS;
    return { runner: new Runner(await createWebGpuExecutor(qdq), qdq.graph.inputs[0].name, qdq.graph.outputs[0].name, runs), gpu };
  }

  /** Bytes of the WASM backend's memory (weights, scales, activation arena), when this runner has one. */
  get wasmStats(): { memoryBytes: number; arenaBytes: number; weightBytes: number } | undefined {
    if (!('stats' in this.executor) || !('memoryBytes' in this.executor.stats)) return undefined;
    const { memoryBytes, plans } = this.executor.stats;
    return { memoryBytes, arenaBytes: Math.max(0, ...plans.map((p) => p.arenaBytes)), weightBytes: Math.max(0, ...plans.map((p) => p.weightBytes)) };
  }

  /** Bytes of the WebGPU backend's buffers (activation slots, constants, weights as its kernels read them), when this runner has one. */
  get gpuStats(): { slotBytes: number; constBytes: number; weightBytes: number } | undefined {
    if (!('stats' in this.executor) || !('pipelines' in this.executor.stats)) return undefined;
    const { plans } = this.executor.stats;
    return { slotBytes: Math.max(0, ...plans.map((p) => p.slotBytes)), constBytes: Math.max(0, ...plans.map((p) => p.constBytes)), weightBytes: Math.max(0, ...plans.map((p) => p.weightBytes)) };
  }

  async predict(x: Tensor): Promise<Prediction> {
    const feeds = { [this.input]: x };
    let out = (await this.executor.run(feeds, [this.output]))[this.output];
    const times: number[] = [];
    for (let i = 0; i < this.latencyRuns; i++) {
      const t0 = performance.now();
      out = (await this.executor.run(feeds, [this.output]))[this.output];
      times.push(performance.now() - t0);
    }
    const row = out.toFloat64();
    const cls = argmax(row);
    return { cls, confidence: softmaxAt(row, cls), medianMs: median(times) };
  }

  async dispose(): Promise<void> {
    await this.executor.dispose();
  }
}

/** Weight bytes at the stored bits (float32, or the allocated bits of a quantized model). */
export function weightBytes(model: Model): number {
  return modelFootprint(model).weightBytes;
}
