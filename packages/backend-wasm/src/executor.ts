import { checkSingleInputRun, type Executor, type ExecutorOptions } from '@nibble/core';
import { type Graph, type Model, NibbleError, Tensor } from '@nibble/ir';
import './kernels';
import { CompileContext, planArena, type PlannedValue, sizeOf, type Step } from './plan';
import { getKernel } from './registry';
import { type KernelExports, instantiateKernels, WasmMemory } from './wasm-module';
import { staticValues } from '@nibble/quant';

/** A compiled plan for one per-sample input shape. */
export interface Plan {
  steps: Step[];
  values: Map<string, PlannedValue>;
  input: PlannedValue;
  /** Bytes of the arena (all activations, planned from lifetimes) and of the shared scratch. */
  arenaBytes: number;
  scratchBytes: number;
  /** Bytes of weights, scales and other constants placed in memory; weightBytes of them hold weight levels. */
  constBytes: number;
  weightBytes: number;
}

export interface WasmExecutorStats {
  plans: { shape: number[]; steps: number; arenaBytes: number; scratchBytes: number; constBytes: number; weightBytes: number }[];
  memoryBytes: number;
}

/** Compile `graph` for one sample of shape `sampleShape` (the input without its batch axis). */
export function compilePlan(graph: Graph, k: KernelExports, memory: WasmMemory, sampleShape: number[], keep: ReadonlySet<string>): Plan {
  const statics = staticValues(graph.nodes, graph.initializers);
  const ctx = new CompileContext(k, memory, (v) => statics.has(v), keep);
  const inputs = graph.inputs.filter((v) => !v.isInitializer);
  if (inputs.length !== 1) throw new NibbleError('E_UNSUPPORTED', `the wasm backend runs single-input models; this one has ${inputs.length}`, { hint: 'use --backend ort' });
  const input = ctx.define(inputs[0].name, { kind: 'real', shape: sampleShape, channels: 1, inner: sizeOf(sampleShape) });
  input.buffer.def = -1;
  graph.nodes.forEach((node, i) => {
    if (node.outputs.every((v) => statics.has(v))) return;
    const kernel = getKernel(node.opType);
    if (!kernel || (node.domain !== '' && node.domain !== 'ai.onnx')) {
      throw new NibbleError('E_UNSUPPORTED_OP', `the wasm backend has no kernel for ${node.domain ? `${node.domain}.` : ''}${node.opType} (node '${node.name}')`, {
        node: node.name, op: node.opType, hint: 'run this model with --backend ort',
      });
    }
    ctx.beginNode(i);
    kernel.compile(node, ctx);
  });
  for (const name of keep) {
    const p = ctx.values.get(name);
    if (!p) throw new NibbleError('E_BAD_OPTION', `cannot fetch '${name}': the wasm plan has no such runtime value`, { value: name, hint: 'fetch a node output or the graph input' });
    // A table value fetched (the detector's Sigmoid map): looked up after the steps that need its source.
    if (p.table) ctx.materialize(p);
    if (p.clamp) throw new NibbleError('E_BAD_OPTION', `cannot fetch '${name}': it is a clamp folded into the next QuantizeLinear`, { value: name });
    p.buffer.lastUse = Infinity;
  }
  const arenaBytes = planArena(ctx.buffers);
  const base = memory.reserve(arenaBytes + ctx.scratchBytes);
  for (const b of ctx.buffers) b.offset += base;
  ctx.scratchOffset = base + arenaBytes;
  return { steps: ctx.steps, values: ctx.values, input, arenaBytes, scratchBytes: ctx.scratchBytes, constBytes: ctx.constBytes, weightBytes: ctx.weightBytes };
}

class WasmExecutor implements Executor {
  readonly inputNames: readonly string[];
  readonly outputNames: readonly string[];
  private readonly fetchable: ReadonlySet<string>;
  private readonly plans = new Map<string, Plan>();
  private disposed = false;
  /** Milliseconds per kernel name, accumulated while `profiling` is on. */
  readonly profile = new Map<string, number>();
  profiling = false;

  constructor(private readonly graph: Graph, private readonly k: KernelExports, private readonly memory: WasmMemory, extra: readonly string[]) {
    this.inputNames = graph.inputs.filter((v) => !v.isInitializer).map((v) => v.name);
    this.outputNames = graph.outputs.map((v) => v.name);
    this.fetchable = new Set([...this.outputNames, ...extra]);
  }

  plan(sampleShape: number[]): Plan {
    const key = sampleShape.join('x');
    let p = this.plans.get(key);
    if (!p) {
      p = compilePlan(this.graph, this.k, this.memory, sampleShape, this.fetchable);
      this.plans.set(key, p);
    }
    return p;
  }

  get stats(): WasmExecutorStats {
    return {
      plans: [...this.plans.entries()].map(([key, p]) => ({ shape: key.split('x').map(Number), steps: p.steps.length, arenaBytes: p.arenaBytes, scratchBytes: p.scratchBytes, constBytes: p.constBytes, weightBytes: p.weightBytes })),
      memoryBytes: this.k.memory.buffer.byteLength,
    };
  }

  async run(feeds: Record<string, Tensor>, fetch?: readonly string[]): Promise<Record<string, Tensor>> {
    return this.runSync(feeds, fetch);
  }

  /** run() without the promise (benchmarks time this). */
  runSync(feeds: Record<string, Tensor>, fetch?: readonly string[]): Record<string, Tensor> {
    if (this.disposed) throw new NibbleError('E_RUNTIME', 'run() after dispose()', { hint: 'create a new executor' });
    const { x, names } = checkSingleInputRun(this.inputNames, this.outputNames, this.fetchable, feeds, fetch);
    const batch = x.shape[0];
    const plan = this.plan(x.shape.slice(1));
    const per = sizeOf(plan.input.shape);
    const data = x.toFloat64();
    const outs = names.map((n) => plan.values.get(n)!);
    const results = outs.map((v) => (v.kind === 'codes' && v.asCodes ? new Uint8Array(batch * sizeOf(v.shape)) : new Float32Array(batch * sizeOf(v.shape))));
    const buf = this.k.memory.buffer;
    const f64 = new Float64Array(buf);
    const u8 = new Uint8Array(buf);
    for (let b = 0; b < batch; b++) {
      f64.set(data.subarray(b * per, (b + 1) * per), plan.input.buffer.offset / 8);
      if (this.profiling) {
        for (const s of plan.steps) {
          const t0 = performance.now();
          s.run();
          this.profile.set(s.kernel, (this.profile.get(s.kernel) ?? 0) + performance.now() - t0);
        }
      } else {
        for (const s of plan.steps) s.run();
      }
      outs.forEach((v, j) => readValue(v, f64, u8, results[j], b));
    }
    const out: Record<string, Tensor> = {};
    names.forEach((n, j) => {
      const v = outs[j];
      const shape = [batch, ...v.shape];
      out[n] = v.kind === 'codes' && v.asCodes ? Tensor.from(v.container!, shape, results[j]) : new Tensor('float32', shape, results[j] as Float32Array);
    });
    return out;
  }

  async dispose(): Promise<void> {
    this.disposed = true;
    this.plans.clear();
  }
}

/** One sample of v into row b of `into`: codes as codes or as float32 values, real values rounded to float32. */
function readValue(v: PlannedValue, f64: Float64Array, u8: Uint8Array, into: Float32Array | Uint8Array, b: number): void {
  const n = sizeOf(v.shape);
  const o = v.buffer.offset;
  if (v.kind === 'real') {
    for (let i = 0; i < n; i++) into[b * n + i] = f64[o / 8 + i];
  } else if (v.asCodes) {
    into.set(u8.subarray(o, o + n), b * n);
  } else {
    for (let i = 0; i < n; i++) {
      const c = Math.floor(i / v.inner) % v.channels;
      into[b * n + i] = (u8[o + i] - v.zeroPoint![c]) * v.scale![c];
    }
  }
}

export type WasmExecutorOptions = ExecutorOptions;

/**
 * An Executor on nibble's WebAssembly SIMD kernels for a QDQ model (the IR
 * of a file nibble wrote, or lowerToQdq of a quantized model). run() takes
 * any batch; the plan for a sample shape is compiled on first use, and
 * samples run one after another through it. `threads` is ignored (one thread).
 */
export async function createWasmExecutor(model: Model, options: WasmExecutorOptions = {}): Promise<Executor & { readonly stats: WasmExecutorStats; profile: Map<string, number>; profiling: boolean; runSync: WasmExecutor['runSync'] }> {
  const g = model.graph;
  const annotated = [...g.initializers, ...g.nodes.flatMap((n) => n.outputs)].some((v) => v.quant?.scale !== undefined && v.producer?.opType !== 'DequantizeLinear');
  if (annotated) {
    throw new NibbleError('E_UNSUPPORTED', 'the wasm backend runs the QDQ form of a quantized model; this one still carries quantization annotations', {
      hint: 'lower it first (lowerToQdq in @nibble/onnx; evaluate() does this), or save it and load the file',
    });
  }
  const k = await instantiateKernels();
  for (const name of options.extraOutputs ?? []) {
    if (!g.value(name)) throw new NibbleError('E_BAD_OPTION', `extraOutputs names '${name}', which is not a value of graph '${g.name}'`, { option: 'extraOutputs', value: name });
  }
  return new WasmExecutor(g, k, new WasmMemory(k), options.extraOutputs ?? []);
}
