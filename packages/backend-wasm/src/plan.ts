import { type Node, NibbleError, type Tensor, type Value } from '@nibble/ir';
import { expandChannels } from '@nibble/quant';
import { align, type KernelExports, WasmMemory } from './wasm-module';

/*
 * A plan: the graph compiled once for one sample's shapes into a list of
 * steps, each a kernel call with every pointer and size decided. Values are
 * of two kinds:
 *
 *  - codes: integer codes, one byte each, with a scale and zero point per
 *    channel (what QuantizeLinear produces; Relu, Clip on the grid and
 *    MaxPool keep them codes);
 *  - real: float64, for values no quantizer puts on a grid (the network
 *    input, residual sums, pooled means, layer outputs before requantization).
 *    float64 holds the products and sums of 8-bit codes and float32 scales
 *    exactly or within 2^-52, so these are the quantized semantics, not a
 *    float32 approximation of them.
 *
 * Every value's bytes live in one arena whose offsets are planned from the
 * values' lifetimes before the first run.
 */

export type Kind = 'codes' | 'real';

export interface Buffer {
  bytes: number;
  offset: number;
  /** Step index that writes it (-1: written by run() before the steps). */
  def: number;
  /** Last step index that reads it (Infinity: read after the steps). */
  lastUse: number;
}

export interface PlannedValue {
  name: string;
  kind: Kind;
  /** Per-sample shape (without the batch axis). */
  shape: number[];
  buffer: Buffer;
  /** codes: channels and elements per channel (channels * inner = size); one channel = per tensor. */
  channels: number;
  inner: number;
  scale?: Float64Array;
  zeroPoint?: Int32Array;
  /** codes: per-channel bounds of the codes that can occur. */
  lo?: Int32Array;
  hi?: Int32Array;
  /** codes: the container, and whether fetching this value returns the codes (a QuantizeLinear output) or their dequantized float32 values. */
  container?: 'uint8' | 'uint4';
  asCodes?: boolean;
  /** real: a pending per-channel clamp (Max/Min before QuantizeLinear) with the bounds; only QuantizeLinear may read it. */
  clamp?: { lo?: Float64Array; hi?: Float64Array; source: PlannedValue };
  /** real, written by an integer kernel: make it write the codes of QuantizeLinear `q` into `into` instead (fusion); false if it cannot. */
  fuseQuantize?: (q: OutputGrid, into: Buffer) => boolean;
  /**
   * real, an elementwise function of one codes value (kernels/table.ts): its float32 values per
   * code, computed on the host, and no bytes of its own until a reader that is not table-aware
   * asks for it (CompileContext.input then emits the lookup).
   */
  table?: CodeTable;
  /** real: each value is a float32 number (what onnxruntime's float32 ops give), so float32 arithmetic on it mirrors the simulation. */
  f32?: boolean;
}

/**
 * An elementwise function of the codes of `source`: for each of `channels` channels (1, or the
 * value's leading axis), the float32 value of each code 0..255, as onnxruntime computes it
 * (DequantizeLinear, then each op, in float32).
 */
export interface CodeTable {
  source: PlannedValue;
  channels: number;
  values: Float64Array;
  /** Set once a reader needed the float64 values: the buffer that holds them. */
  materialized?: Buffer;
}

/** The grid a fused QuantizeLinear writes: per channel (or one channel for the tensor), codes clamped to [lo, hi]. */
export interface OutputGrid {
  channels: number;
  scale: Float64Array;
  zeroPoint: Int32Array;
  lo: Int32Array;
  hi: Int32Array;
}

export const sizeOf = (shape: readonly number[]): number => shape.reduce((a, b) => a * b, 1);
export const bytesPer = (kind: Kind): number => (kind === 'codes' ? 1 : 8);

export interface Step {
  /** Node name and kernel, for profiles. */
  node: string;
  kernel: string;
  run(): void;
}

/** What a kernel's compile function gets: the node's operands, the module, and ways to define outputs and emit steps. */
export class CompileContext {
  readonly steps: Step[] = [];
  readonly buffers: Buffer[] = [];
  readonly values = new Map<string, PlannedValue>();
  scratchBytes = 0;
  /** Offset of the shared scratch area, known once the arena is planned. */
  scratchOffset = 0;
  constBytes = 0;

  /** keep: values fetched after a run (graph outputs, extraOutputs), which fusion must not elide. */
  constructor(readonly k: KernelExports, readonly memory: WasmMemory, private readonly staticValue: (v: Value) => boolean, readonly keep: ReadonlySet<string> = new Set()) {}

  private current = -1;

  beginNode(index: number): void {
    this.current = index;
  }

  fail(node: Node, message: string, hint?: string): never {
    throw new NibbleError('E_UNSUPPORTED_OP', `wasm backend: ${node.opType} '${node.name}': ${message}`, { node: node.name, op: node.opType, hint: hint ?? 'run this model with --backend ort' });
  }

  /** The runtime value read as input i, its use recorded for the arena; a table value (kernels/table.ts) is looked up into float64 first. */
  input(node: Node, i: number): PlannedValue {
    const p = this.inputLazy(node, i);
    return p.table ? this.materialize(p) : p;
  }

  /** input() for kernels that read a table value as its table (no lookup step). */
  inputLazy(node: Node, i: number): PlannedValue {
    const v = node.inputs[i];
    if (!v) this.fail(node, `input ${i} is missing`);
    if (this.staticValue(v)) this.fail(node, `input ${i} ('${v.name}') is a constant; this kernel takes it only as a runtime value`);
    const p = this.values.get(v.name);
    if (!p) this.fail(node, `input '${v.name}' has no planned value`);
    return this.use(p);
  }

  /**
   * A table value's float64 values, written by a lookup step emitted now (once: later readers
   * share the buffer). Returns the value itself, its buffer now that one.
   */
  materialize(p: PlannedValue): PlannedValue {
    const t = p.table!;
    if (!t.materialized) {
      const n = sizeOf(p.shape);
      const src = t.source;
      this.use(src);
      const buffer = this.buffer(n * 8);
      const pTable = this.constant(t.values);
      const k = this.k;
      // A table has a channel per channel of its source at least (per-channel codes dequantize per channel).
      const L = t.channels;
      this.steps.push({ node: p.name, kernel: 'lookupReal', run: () => k.lookupReal(src.buffer.offset, buffer.offset, L, n / L, pTable) });
      t.materialized = buffer;
      p.buffer = buffer;
    }
    p.buffer.lastUse = Math.max(p.buffer.lastUse, this.steps.length);
    return p;
  }

  /** Mark a value (and a clamp's or a table's source) read by the step being compiled. */
  use(p: PlannedValue): PlannedValue {
    p.buffer.lastUse = Math.max(p.buffer.lastUse, this.steps.length);
    if (p.clamp) this.use(p.clamp.source);
    if (p.table && !p.table.materialized) this.use(p.table.source);
    return p;
  }

  isStatic(v: Value | undefined): boolean {
    return v !== undefined && this.staticValue(v);
  }

  /** A fresh buffer written by the step about to be emitted. */
  buffer(bytes: number): Buffer {
    const b: Buffer = { bytes: align(bytes), offset: -1, def: this.steps.length, lastUse: this.steps.length };
    this.buffers.push(b);
    return b;
  }

  define(name: string, init: Omit<PlannedValue, 'name' | 'buffer'> & { buffer?: Buffer }): PlannedValue {
    const buffer = init.buffer ?? this.buffer(sizeOf(init.shape) * bytesPer(init.kind));
    const p: PlannedValue = { ...init, name, buffer };
    this.values.set(name, p);
    return p;
  }

  /** A real temporary of `n` float64 values, written by the next step and read by the one after (e.g. codes dequantized for a float kernel). */
  temporary(n: number): Buffer {
    const b = this.buffer(n * 8);
    b.lastUse = this.steps.length + 1;
    return b;
  }

  /** Reserve shared scratch (one area, the largest request). */
  scratch(bytes: number): void {
    this.scratchBytes = Math.max(this.scratchBytes, align(bytes));
  }

  /** Bytes of the constants that hold weight levels (a part of constBytes). */
  weightBytes = 0;

  constant(data: Float64Array | Int32Array | Uint8Array, isWeight = false): number {
    this.constBytes += align(data.byteLength);
    if (isWeight) this.weightBytes += align(data.byteLength);
    return this.memory.put(data);
  }

  emit(node: Node, kernel: string, run: () => void): void {
    this.steps.push({ node: node.name, kernel, run });
  }

  get stepIndex(): number {
    return this.current;
  }
}

/**
 * Offsets for every buffer: first fit among the buffers alive at the same
 * time (lifetimes [def, lastUse] in step order). Returns the arena's size.
 */
export function planArena(buffers: Buffer[]): number {
  const placed: Buffer[] = [];
  let size = 0;
  for (const b of [...buffers].sort((x, y) => x.def - y.def || y.bytes - x.bytes)) {
    const live = placed.filter((o) => o.lastUse >= b.def && o.def <= b.lastUse).sort((x, y) => x.offset - y.offset);
    let at = 0;
    for (const o of live) {
      if (at + b.bytes <= o.offset) break;
      at = Math.max(at, o.offset + o.bytes);
    }
    b.offset = at;
    placed.push(b);
    size = Math.max(size, at + b.bytes);
  }
  return size;
}

/** Per-channel parameters of a codes value expanded to `n` channels (a per-tensor value repeats its one channel). */
export function channelParams(v: PlannedValue, n: number): { scale: Float64Array; zeroPoint: Int32Array } {
  if (v.kind !== 'codes' || !v.scale || !v.zeroPoint) throw new NibbleError('E_INTERNAL', `'${v.name}' is not codes`);
  const p = expandChannels({ channels: v.channels, inner: v.inner, scale: v.scale, zeroPoint: v.zeroPoint }, n);
  if (!p) throw new NibbleError('E_UNSUPPORTED', `'${v.name}' has ${v.channels} quantization channels, which do not map onto ${n}`);
  return p;
}

export type { Tensor };
