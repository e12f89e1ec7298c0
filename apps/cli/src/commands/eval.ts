import { createWasmExecutor, createWebGpuExecutor, DEFAULTS, requestWebGpu, evaluate, loadModel, memoryLimitBytes, NibbleError, tfliteForEvaluation } from 'nibble';
import { jsonOption, memoryOption, type Command } from '../shared/command';
import { ProgressBar } from '../shared/progress';
import { batchOption, dataOptions, integerFlag, requiredFlag, stringFlag } from '../shared/flags';

export const evalCommand: Command = {
  name: 'eval',
  summary: 'top-1 accuracy of a model on labelled data, run in onnxruntime (a quantized model as its QDQ simulation)',
  usage: '<model> --data <spec> [--limit N] [--batch B] [--backend ort|wasm|webgpu] [--runtime ort|tflite] [--preprocess P] [--memory-limit GiB] [--json] [--quiet]',
  positionals: [1, 1],
  options: {
    ...dataOptions,
    ...batchOption(DEFAULTS.evaluationBatch),
    limit: { type: 'string', valueName: 'N', description: 'evaluate the first N samples (default: all)' },
    backend: { type: 'string', valueName: 'B', description: "what runs the model: 'ort' (onnxruntime, a quantized model as its exact QDQ simulation; the default) 'wasm' (nibble's integer WebAssembly kernels) or 'webgpu' (nibble's integer WGSL kernels, the same codes as 'wasm')" },
    runtime: { type: 'string', valueName: 'R', description: "run the file as shipped: 'ort' (onnxruntime with default session options: QDQ fused into its integer kernels) or 'tflite' (a .tflite in TFLite 2.9, tools/tflite-ref)" },
    ...memoryOption,
    ...jsonOption,
  },
  async run(args, io) {
    const [modelPath] = args.positionals;
    const v = args.values;
    const data = requiredFlag(v.data, 'eval', 'data', 'fashion-mnist:test');
    const limit = integerFlag(v.limit, 'limit', 1);
    const batchSize = integerFlag(v.batch, 'batch', 1);
    const memoryLimit = memoryLimitBytes(stringFlag(v['memory-limit']));
    const backend = stringFlag(v.backend) ?? 'ort';
    if (backend !== 'ort' && backend !== 'wasm' && backend !== 'webgpu') {
      throw new NibbleError('E_BAD_OPTION', `--backend ${backend}: unknown backend`, { option: 'backend', hint: "use 'ort' (the default), 'wasm' or 'webgpu'" });
    }
    const runtime = stringFlag(v.runtime);
    if (runtime !== undefined && (runtime !== 'ort' && runtime !== 'tflite' || v.backend !== undefined)) {
      throw new NibbleError('E_BAD_OPTION', `--runtime ${runtime}${v.backend !== undefined ? ' with --backend' : ''}: unknown runtime or two engines named`, { option: 'runtime', hint: "use --runtime ort or --runtime tflite, without --backend" });
    }
    const tflite = runtime === 'tflite' ? tfliteForEvaluation(modelPath, batchSize ?? DEFAULTS.evaluationBatch) : undefined;
    const model = tflite?.model ?? await loadModel(modelPath);
    // The adapter the webgpu backend runs on, printed (a software one, SwiftShader, is a CPU emulation of a GPU).
    const gpu = backend === 'webgpu' ? await requestWebGpu() : undefined;
    if (backend === 'webgpu' && !v.json) {
      io.out(gpu ? `adapter: ${gpu.adapterName}${gpu.software ? ' (software: a CPU emulation of a GPU, timings are not GPU timings)' : ''}` : 'adapter: none');
    }
    let bar: ProgressBar | undefined;
    const t0 = performance.now();
    let r;
    try {
      r = await evaluate(model, {
        data, limit, batchSize, preprocess: stringFlag(v.preprocess), memoryLimit,
        ...(backend === 'wasm' ? { executorFactory: createWasmExecutor } : {}),
        ...(backend === 'webgpu' ? { executorFactory: createWebGpuExecutor } : {}),
        ...(tflite ? { executorFactory: tflite.executorFactory } : {}),
        ...(runtime === 'ort' ? { exactQdq: false } : {}),
        onProgress: (done, total) => {
          bar ??= new ProgressBar('evaluating', total, io, Boolean(v.json || v.quiet));
          bar.update(done);
        },
      });
    } finally {
      bar?.finish();
    }
    const seconds = Math.round((performance.now() - t0) / 10) / 100;
    if (r.preprocess?.warning) io.err(`warning: ${r.preprocess.warning}`);
    if (v.json) {
      io.out(JSON.stringify({
        top1: r.top1, n: r.n, correct: r.correct, model: modelPath, data: r.data, quantized: r.quantized, backend, runtime: runtime ?? null,
        ...(gpu ? { adapter: gpu.adapterName, softwareAdapter: gpu.software } : {}), batchSize: r.batchSize,
        preprocess: r.preprocess ? { text: r.preprocess.text, source: r.preprocess.source, applied: r.preprocess.applied } : null, seconds,
      }));
    } else {
      if (r.preprocess) io.out(`preprocessing: ${r.preprocess.applied}`);
      const how = runtime ? `, ${runtime === 'tflite' ? 'TFLite 2.9' : 'onnxruntime, default session options'}` : backend === 'wasm' ? ', int4 WebAssembly backend' : backend === 'webgpu' ? ', int4 WebGPU backend' : r.quantized ? ', QDQ simulation' : '';
      io.out(`top-1: ${(100 * r.top1).toFixed(2)}% (${r.correct} of ${r.n} samples of ${r.data}${how}) in ${seconds} s`);
    }
    return 0;
  },
};
