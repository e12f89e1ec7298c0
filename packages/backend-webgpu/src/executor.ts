/// <reference types="@webgpu/types" preserve="true" />
import { checkSingleInputRun, type Executor, type ExecutorOptions } from '@nibble/core';
import { type Graph, type Model, NibbleError, Tensor } from '@nibble/ir';
import { staticValues } from '@nibble/quant';
import { requireWebGpu, type WebGpuContext } from './gpu';
import './kernels';
import { type Buf, CompileContext, type ConstData, IDENTITY, type PlannedValue, sizeOf, type Step, type StepSpec } from './plan';
import { getKernel } from './registry';
import { PARAMS } from './wgsl';

// GPUBufferUsage / GPUShaderStage / GPUMapMode values (the globals exist in browsers only, not in Node's Dawn unless installed).
const STORAGE = 0x80, UNIFORM = 0x40, COPY_DST = 0x08, COPY_SRC = 0x04, MAP_READ = 0x01, COMPUTE = 0x4, MODE_READ = 0x1;

/** A compiled plan for one per-sample input shape, on the device. */
export interface Plan {
  steps: Step[];
  values: Map<string, PlannedValue>;
  input: PlannedValue;
  /** GPU buffers (slots) holding the values, planned from lifetimes; their bytes; constant bytes (weights, tables). */
  slots: GPUBuffer[];
  slotBytes: number;
  constBytes: number;
  weightBytes: number;
  /** One per step that has work (a step made needless by a fusion has none), with its step's index. */
  dispatches: { pipeline: GPUComputePipeline; bindGroup: GPUBindGroup; groups: [number, number]; step: number }[];
  /** Every GPU buffer the plan created (slots, constants, uniforms), destroyed with the executor. */
  owned: GPUBuffer[];
}

export interface WebGpuExecutorStats {
  adapter: string;
  software: boolean;
  dot4: boolean;
  pipelines: number;
  plans: { shape: number[]; steps: number; slots: number; slotBytes: number; constBytes: number; weightBytes: number }[];
}

/** Interval colouring of the buffers' lifetimes: a buffer reuses a slot whose last occupant is dead by its first write. */
function assignSlots(buffers: Buf[]): number[] {
  const sizes: number[] = [];
  const freeAfter: number[] = [];
  for (const b of [...buffers].filter((x) => x.words > 0).sort((x, y) => x.def - y.def || y.words - x.words)) {
    let best = -1;
    for (let s = 0; s < sizes.length; s++) {
      if (freeAfter[s] < b.def && (best < 0 || Math.abs(sizes[s] - b.words) < Math.abs(sizes[best] - b.words))) best = s;
    }
    if (best < 0) {
      best = sizes.length;
      sizes.push(0);
      freeAfter.push(0);
    }
    b.slot = best;
    sizes[best] = Math.max(sizes[best], b.words);
    freeAfter[best] = b.lastUse;
  }
  return sizes;
}

/** Pipelines per device, keyed by kernel variant (never by shape). */
const PIPELINES = new WeakMap<GPUDevice, Map<string, { pipeline: GPUComputePipeline; layout: GPUBindGroupLayout }>>();

function pipelineFor(device: GPUDevice, spec: StepSpec): { pipeline: GPUComputePipeline; layout: GPUBindGroupLayout } {
  let cache = PIPELINES.get(device);
  if (!cache) PIPELINES.set(device, (cache = new Map()));
  let p = cache.get(spec.key);
  if (!p) {
    const entries: GPUBindGroupLayoutEntry[] = [{ binding: 0, visibility: COMPUTE, buffer: { type: 'uniform' } }];
    spec.bindings.forEach((b, i) => entries.push({ binding: i + 1, visibility: COMPUTE, buffer: { type: 'write' in b ? 'storage' : 'read-only-storage' } }));
    const layout = device.createBindGroupLayout({ entries });
    const module = device.createShaderModule({ code: spec.wgsl(), label: spec.key });
    const pipeline = device.createComputePipeline({ layout: device.createPipelineLayout({ bindGroupLayouts: [layout] }), compute: { module, entryPoint: 'main' }, label: spec.key });
    p = { pipeline, layout };
    cache.set(spec.key, p);
  }
  return p;
}

export function compilePlan(gpu: WebGpuContext, graph: Graph, sampleShape: number[], keep: ReadonlySet<string>): Plan {
  const statics = staticValues(graph.nodes, graph.initializers);
  const ctx = new CompileContext((v) => statics.has(v), keep, gpu.dot4);
  const inputs = graph.inputs.filter((v) => !v.isInitializer);
  if (inputs.length !== 1) throw new NibbleError('E_UNSUPPORTED', `the webgpu backend runs single-input models; this one has ${inputs.length}`, { hint: 'use --backend ort' });
  const input = ctx.define(inputs[0].name, { kind: 'real', base: 'f32', value: IDENTITY, shape: sampleShape, channels: 1, inner: sizeOf(sampleShape) });
  input.buffer.def = -1;
  graph.nodes.forEach((node) => {
    if (node.outputs.every((v) => statics.has(v))) return;
    const kernel = getKernel(node.opType);
    if (!kernel || (node.domain !== '' && node.domain !== 'ai.onnx')) {
      throw new NibbleError('E_UNSUPPORTED_OP', `the webgpu backend has no kernel for ${node.domain ? `${node.domain}.` : ''}${node.opType} (node '${node.name}')`, {
        node: node.name, op: node.opType, hint: 'run this model with --backend wasm or --backend ort',
      });
    }
    kernel.compile(node, ctx);
  });
  for (const name of keep) {
    const p = ctx.values.get(name);
    if (!p) throw new NibbleError('E_BAD_OPTION', `cannot fetch '${name}': the webgpu plan has no such runtime value`, { value: name, hint: 'fetch a node output or the graph input' });
    if (p.clamp) throw new NibbleError('E_BAD_OPTION', `cannot fetch '${name}': it is a clamp folded into the next QuantizeLinear`, { value: name });
    ctx.use(p);
    for (const b of bufsOf(p)) b.lastUse = Infinity;
  }
  // Build the steps now that fusion is decided, then place the buffers.
  const specs = ctx.steps.map((s) => s.build());
  const sizes = assignSlots(ctx.buffers);
  const { device } = gpu;
  const slots = sizes.map((words, i) => device.createBuffer({ size: Math.max(16, words * 4), usage: STORAGE | COPY_SRC | COPY_DST, label: `slot ${i}` }));
  let constBytes = 0;
  let weightBytes = 0;
  const owned = [...slots];
  const constant = (data: ConstData): GPUBuffer => {
    const buf = device.createBuffer({ size: Math.max(16, data.byteLength), usage: STORAGE | COPY_DST });
    owned.push(buf);
    device.queue.writeBuffer(buf, 0, data.buffer, data.byteOffset, data.byteLength);
    constBytes += data.byteLength;
    return buf;
  };
  const dispatches = specs.flatMap((spec, i) => {
    if (!spec) return [];
    const { pipeline, layout } = pipelineFor(device, spec);
    const params = new Int32Array(PARAMS);
    params.set(spec.params);
    const uniform = device.createBuffer({ size: PARAMS * 4, usage: UNIFORM | COPY_DST });
    owned.push(uniform);
    device.queue.writeBuffer(uniform, 0, params);
    const entries: GPUBindGroupEntry[] = [{ binding: 0, resource: { buffer: uniform } }];
    spec.bindings.forEach((b, j) => {
      let buffer: GPUBuffer;
      if ('data' in b) {
        buffer = constant(b.data);
        // The conv's weights: packed words (binding 3), or the float64 conv's levels (binding 5).
        if ((spec.key.startsWith('conv/w') && j === 2) || (spec.key === 'conv/f64' && j === 4)) weightBytes += b.data.byteLength;
      } else {
        const buf = 'buf' in b ? b.buf : b.write;
        if (buf.slot === undefined) throw new NibbleError('E_INTERNAL', `step ${i} (${ctx.steps[i].node}) uses a buffer without a slot`);
        buffer = slots[buf.slot];
      }
      entries.push({ binding: j + 1, resource: { buffer } });
    });
    return [{ pipeline, bindGroup: device.createBindGroup({ layout, entries }), groups: spec.groups, step: i }];
  });
  return { steps: ctx.steps, values: ctx.values, input, slots, slotBytes: sizes.reduce((a, b) => a + 4 * b, 0), constBytes, weightBytes, dispatches, owned };
}

/** The GPU buffers a fetched value is read from. */
function bufsOf(v: PlannedValue): Buf[] {
  if (v.pair) return [v.pair.a.buffer, v.pair.b.buffer];
  if (v.codes) return [v.codes.buffer];
  return [v.buffer];
}

class GpuExecutor implements Executor {
  readonly inputNames: readonly string[];
  readonly outputNames: readonly string[];
  private readonly fetchable: ReadonlySet<string>;
  private readonly plans = new Map<string, Plan>();
  private disposed = false;

  constructor(private readonly graph: Graph, readonly gpu: WebGpuContext, extra: readonly string[]) {
    this.inputNames = graph.inputs.filter((v) => !v.isInitializer).map((v) => v.name);
    this.outputNames = graph.outputs.map((v) => v.name);
    this.fetchable = new Set([...this.outputNames, ...extra]);
  }

  get adapterName(): string {
    return this.gpu.adapterName;
  }

  plan(sampleShape: number[]): Plan {
    const key = sampleShape.join('x');
    let p = this.plans.get(key);
    if (!p) {
      p = compilePlan(this.gpu, this.graph, sampleShape, this.fetchable);
      this.plans.set(key, p);
    }
    return p;
  }

  /** plan(), with the device's validation errors (a shader that does not compile) as a typed error. */
  private async checkedPlan(sampleShape: number[]): Promise<Plan> {
    if (this.plans.has(sampleShape.join('x'))) return this.plan(sampleShape);
    const { device } = this.gpu;
    device.pushErrorScope('validation');
    let plan: Plan;
    try {
      plan = this.plan(sampleShape);
    } finally {
      const error = await device.popErrorScope();
      if (error) {
        this.plans.delete(sampleShape.join('x'));
        throw new NibbleError('E_RUNTIME', `webgpu: the device rejected the plan: ${error.message}`, { hint: 'a bug in the webgpu backend: report it with the model; run with --backend wasm meanwhile' });
      }
    }
    return plan;
  }

  get stats(): WebGpuExecutorStats {
    return {
      adapter: this.gpu.adapterName, software: this.gpu.software, dot4: this.gpu.dot4, pipelines: PIPELINES.get(this.gpu.device)?.size ?? 0,
      plans: [...this.plans.entries()].map(([key, p]) => ({ shape: key.split('x').map(Number), steps: p.dispatches.length, slots: p.slots.length, slotBytes: p.slotBytes, constBytes: p.constBytes, weightBytes: p.weightBytes })),
    };
  }

  /**
   * One batch in one submit: the samples are uploaded together, and per
   * sample the encoder copies its input into the input slot, runs every
   * step in one compute pass and copies the fetched values out; one
   * readback of those at the end.
   */
  async run(feeds: Record<string, Tensor>, fetch?: readonly string[]): Promise<Record<string, Tensor>> {
    if (this.disposed) throw new NibbleError('E_RUNTIME', 'run() after dispose()', { hint: 'create a new executor' });
    const { x, names } = checkSingleInputRun(this.inputNames, this.outputNames, this.fetchable, feeds, fetch);
    const batch = x.shape[0];
    const plan = await this.checkedPlan(x.shape.slice(1));
    const per = sizeOf(plan.input.shape);
    const { device } = this.gpu;
    // The float32 input (the wasm backend reads it as float64: the same numbers for float32 data).
    const data = x.dtype === 'float32' ? (x.data as Float32Array) : Float32Array.from(x.toFloat64());
    const staging = device.createBuffer({ size: Math.max(16, data.byteLength), usage: STORAGE | COPY_SRC | COPY_DST });
    device.queue.writeBuffer(staging, 0, data.buffer, data.byteOffset, per * batch * 4);
    const outs = names.map((n) => plan.values.get(n)!);
    // A float64 value is two words per element.
    const wordsOf = (v: PlannedValue): number => (v.base === 'f64' ? 2 : 1) * sizeOf(v.shape);
    const reads = outs.map((v) => bufsOf(v).map((b) => ({ b, words: wordsOf(v), rb: device.createBuffer({ size: Math.max(16, batch * wordsOf(v) * 4), usage: MAP_READ | COPY_DST }) })));
    const enc = device.createCommandEncoder();
    const inSlot = plan.slots[plan.input.buffer.slot!];
    for (let s = 0; s < batch; s++) {
      enc.copyBufferToBuffer(staging, s * per * 4, inSlot, 0, per * 4);
      const pass = enc.beginComputePass();
      for (const d of plan.dispatches) {
        pass.setPipeline(d.pipeline);
        pass.setBindGroup(0, d.bindGroup);
        pass.dispatchWorkgroups(d.groups[0], d.groups[1]);
      }
      pass.end();
      for (const r of reads.flat()) enc.copyBufferToBuffer(plan.slots[r.b.slot!], 0, r.rb, s * r.words * 4, r.words * 4);
    }
    device.queue.submit([enc.finish()]);
    await Promise.all(reads.flat().map((r) => r.rb.mapAsync(MODE_READ)));
    const out: Record<string, Tensor> = {};
    names.forEach((n, j) => {
      const v = outs[j];
      const words = reads[j].map((r) => new Uint32Array(r.rb.getMappedRange().slice(0)));
      out[n] = decode(v, words, batch);
    });
    for (const r of reads.flat()) r.rb.destroy();
    staging.destroy();
    return out;
  }

  /**
   * Milliseconds per kernel for one sample: each step submitted alone and
   * waited for (slower than run(), which submits once; for profiles only).
   */
  async profile(feeds: Record<string, Tensor>): Promise<Map<string, number>> {
    const x = feeds[this.inputNames[0]];
    const plan = await this.checkedPlan(x.shape.slice(1));
    const { device } = this.gpu;
    const per = sizeOf(plan.input.shape);
    const data = Float32Array.from(x.toFloat64().subarray(0, per));
    device.queue.writeBuffer(plan.slots[plan.input.buffer.slot!], 0, data);
    const times = new Map<string, number>();
    for (let i = 0; i < plan.dispatches.length; i++) {
      const d = plan.dispatches[i];
      const t0 = performance.now();
      const enc = device.createCommandEncoder();
      const pass = enc.beginComputePass();
      pass.setPipeline(d.pipeline);
      pass.setBindGroup(0, d.bindGroup);
      pass.dispatchWorkgroups(d.groups[0], d.groups[1]);
      pass.end();
      device.queue.submit([enc.finish()]);
      await device.queue.onSubmittedWorkDone();
      const k = plan.steps[d.step].kernel;
      times.set(k, (times.get(k) ?? 0) + performance.now() - t0);
    }
    return times;
  }

  async dispose(): Promise<void> {
    this.disposed = true;
    for (const p of this.plans.values()) for (const b of p.owned) b.destroy();
    this.plans.clear();
  }
}

/**
 * The fetched words as the wasm backend returns the value: codes as codes
 * (a QuantizeLinear output) or their dequantized float32 values; real
 * values computed here in float64 from the integers the GPU returned (the
 * operations of the wasm kernels), then rounded to float32 as it rounds them.
 */
function decode(v: PlannedValue, words: Uint32Array[], batch: number): Tensor {
  const n = sizeOf(v.shape);
  const shape = [batch, ...v.shape];
  const chan = (i: number): number => Math.floor((i % n) / v.inner) % v.channels;
  if (v.kind === 'codes') {
    if (v.asCodes) return Tensor.from(v.container!, shape, Uint8Array.from(words[0]));
    const y = new Float32Array(batch * n);
    for (let i = 0; i < y.length; i++) y[i] = (words[0][i] - v.zeroPoint![chan(i)]) * v.scale![chan(i)];
    return new Tensor('float32', shape, y);
  }
  const y = new Float32Array(batch * n);
  if (v.pair) {
    const { value } = v.pair;
    for (let i = 0; i < y.length; i++) y[i] = value(chan(i), words[0][i], words[1][i]);
  } else {
    const raw = rawOf(v, words[0]);
    for (let i = 0; i < y.length; i++) y[i] = v.value!(chan(i), raw[i]);
  }
  if (v.softmax) return new Tensor('float32', shape, softmaxRows(v, words, batch, y));
  return new Tensor('float32', shape, y);
}

/** The elements a real value's function is applied to, as the GPU wrote them. */
const rawOf = (v: PlannedValue, w: Uint32Array): ArrayLike<number> =>
  v.base === 'i32' ? new Int32Array(w.buffer) : v.base === 'f32' ? new Float32Array(w.buffer) : v.base === 'f64' ? new Float64Array(w.buffer) : w;

/** Softmax rows in float64 from the exact float64 inputs (recomputed here: y holds them rounded to float32). */
function softmaxRows(v: PlannedValue, words: Uint32Array[], batch: number, y: Float32Array): Float32Array {
  const n = sizeOf(v.shape);
  const chan = (i: number): number => Math.floor((i % n) / v.inner) % v.channels;
  const raw = rawOf(v, words[0]);
  const x = new Float64Array(y.length);
  for (let i = 0; i < y.length; i++) x[i] = v.pair ? v.pair.value(chan(i), words[0][i], words[1][i]) : v.value!(chan(i), raw[i]);
  const row = v.softmax!;
  for (let r = 0; r < (batch * n) / row; r++) {
    const xs = x.subarray(r * row, (r + 1) * row);
    let m = -Infinity;
    for (const e of xs) m = Math.max(m, e);
    let s = 0;
    for (let i = 0; i < row; i++) {
      xs[i] = Math.exp(xs[i] - m);
      s += xs[i];
    }
    for (let i = 0; i < row; i++) y[r * row + i] = xs[i] / s;
  }
  return y;
}

export interface WebGpuExecutorOptions extends ExecutorOptions {
  /** A WebGPU entry point to use instead of navigator.gpu (browsers) or the npm `webgpu` package (Node). */
  gpu?: GPU;
  /** false: plain int32 multiply-adds even where the adapter has the packed 4x8 dot product (tests run both). */
  dot4?: boolean;
}

export type WebGpuExecutor = Executor & { readonly stats: WebGpuExecutorStats; readonly adapterName: string; readonly gpu: WebGpuContext; plan(sampleShape: number[]): Plan; profile(feeds: Record<string, Tensor>): Promise<Map<string, number>> };

/**
 * An Executor on nibble's WGSL kernels for a QDQ model (the IR of a file
 * nibble wrote, or lowerToQdq of a quantized model), with the codes of
 * @nibble/backend-wasm. run() takes any batch in one submit; the plan for a
 * sample shape is compiled on first use. `threads` is ignored.
 */
export async function createWebGpuExecutor(model: Model, options: WebGpuExecutorOptions = {}): Promise<WebGpuExecutor> {
  const g = model.graph;
  const annotated = [...g.initializers, ...g.nodes.flatMap((n) => n.outputs)].some((v) => v.quant?.scale !== undefined && v.producer?.opType !== 'DequantizeLinear');
  if (annotated) {
    throw new NibbleError('E_UNSUPPORTED', 'the webgpu backend runs the QDQ form of a quantized model; this one still carries quantization annotations', {
      hint: 'lower it first (lowerToQdq in @nibble/onnx; evaluate() does this), or save it and load the file',
    });
  }
  for (const name of options.extraOutputs ?? []) {
    if (!g.value(name)) throw new NibbleError('E_BAD_OPTION', `extraOutputs names '${name}', which is not a value of graph '${g.name}'`, { option: 'extraOutputs', value: name });
  }
  const found = await requireWebGpu(options.gpu);
  const gpu = { ...found, dot4: found.dot4 && options.dot4 !== false };
  return new GpuExecutor(g, gpu, options.extraOutputs ?? []);
}
