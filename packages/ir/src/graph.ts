import type { Attribute } from './attributes';
import type { DType } from './dtype';
import { NibbleError } from './errors';
import type { QuantAnnotation } from './quant-annotation';
import type { Tensor } from './tensor';

/** A dimension: a number, a symbolic name (e.g. 'batch'), or null when unknown. */
export type Dim = number | string | null;

export interface ValueType {
  dtype: DType;
  /** undefined when even the rank is unknown. */
  shape?: Dim[];
}

export interface Use {
  node: Node;
  index: number;
}

/**
 * An edge of the graph. It knows its producer (a node, or null for graph
 * inputs and initializers) and its uses. Edges change only through
 * Node.replaceInput and Value.replaceAllUsesWith, which keep both sides in step.
 */
export class Value {
  readonly graph: Graph;
  private _name: string;
  type?: ValueType;
  /** Constant contents when the value is an initializer. */
  const: Tensor | null = null;
  /** Set by the quantization passes. */
  quant?: QuantAnnotation;
  /** Free-form facts passes attach (e.g. oneSided from mark-fused-relu). */
  readonly meta: Record<string, unknown> = {};
  docString?: string;

  /** @internal */ _producer: Node | null = null;
  /** @internal */ _producerIndex = -1;
  /** @internal */ readonly _uses: Use[] = [];

  /** @internal use Graph.createValue / addInput / addInitializer. */
  constructor(graph: Graph, name: string, type?: ValueType) {
    this.graph = graph;
    this._name = name;
    this.type = type;
  }

  get name(): string {
    return this._name;
  }

  get producer(): Node | null {
    return this._producer;
  }

  get producerIndex(): number {
    return this._producerIndex;
  }

  get uses(): readonly Use[] {
    return this._uses;
  }

  get isInitializer(): boolean {
    return this.const !== null;
  }

  get isGraphInput(): boolean {
    return this.graph.inputs.includes(this);
  }

  get isGraphOutput(): boolean {
    return this.graph.outputs.includes(this);
  }

  /** Consumers: nodes that read this value (a node reading it twice appears twice). */
  consumers(): Node[] {
    return this._uses.map((u) => u.node);
  }

  /** Give the value a new name, unique in its graph. */
  rename(name: string): void {
    if (name === this._name) return;
    this.graph._renameValue(this, name);
    this._name = name;
  }

  /**
   * Point every use of this value (node inputs and graph outputs) at `other`.
   * When this value is a graph output, `other` takes over its name so the
   * model's interface keeps its names.
   */
  replaceAllUsesWith(other: Value): void {
    if (other === this) return;
    for (const use of [...this._uses]) use.node.replaceInput(use.index, other);
    const g = this.graph;
    if (!g.outputs.includes(this)) return;
    for (let i = 0; i < g.outputs.length; i++) if (g.outputs[i] === this) g.outputs[i] = other;
    const canTakeName = !other.isGraphInput && !other.isInitializer && g.outputs.filter((v) => v === other).length === 1;
    if (canTakeName) {
      const keep = this._name;
      this.rename(g.uniqueName(`${keep}__replaced`));
      other.rename(keep);
    }
  }
}

type AttributeValue<T extends Attribute['type']> = { [A in Attribute as A['type']]: A['value'] }[T];

export interface NodeSpec {
  opType: string;
  domain?: string;
  name?: string;
  /** Values, or null for an omitted optional input. */
  inputs: (Value | null)[];
  /** Names for new output values, or a count (names derived from the node name). */
  outputs: string[] | number;
  attributes?: Record<string, Attribute>;
  docString?: string;
}

/** One operator application. Op names and attributes follow ONNX semantics. */
export class Node {
  readonly graph: Graph;
  private _name: string;
  readonly opType: string;
  readonly domain: string;
  readonly attributes: Map<string, Attribute>;
  docString?: string;
  /** @internal */ readonly _inputs: (Value | null)[] = [];
  /** @internal */ readonly _outputs: Value[] = [];

  /** @internal use Graph.addNode. */
  constructor(graph: Graph, name: string, opType: string, domain: string, attributes: Map<string, Attribute>) {
    this.graph = graph;
    this._name = name;
    this.opType = opType;
    this.domain = domain;
    this.attributes = attributes;
  }

  get name(): string {
    return this._name;
  }

  get inputs(): readonly (Value | null)[] {
    return this._inputs;
  }

  get outputs(): readonly Value[] {
    return this._outputs;
  }

  /** The i-th input; a typed error naming the node when it is missing. */
  input(i: number): Value {
    const v = this._inputs[i];
    if (!v) {
      throw new NibbleError('E_INVALID_GRAPH', `node '${this._name}' (${this.opType}) has no input ${i}`, {
        node: this._name,
        op: this.opType,
      });
    }
    return v;
  }

  replaceInput(i: number, v: Value | null): void {
    if (i < 0 || i > this._inputs.length) {
      throw new NibbleError('E_INTERNAL', `replaceInput: index ${i} out of range for node '${this._name}'`);
    }
    const old = this._inputs[i];
    if (old) {
      const k = old._uses.findIndex((u) => u.node === this && u.index === i);
      if (k >= 0) old._uses.splice(k, 1);
    }
    this._inputs[i] = v;
    if (v) {
      if (v.graph !== this.graph) {
        throw new NibbleError('E_INTERNAL', `replaceInput: value '${v.name}' belongs to another graph`);
      }
      v._uses.push({ node: this, index: i });
    }
  }

  /** Append an input (for optional trailing inputs such as a bias). */
  appendInput(v: Value | null): void {
    this._inputs.push(null);
    this.replaceInput(this._inputs.length - 1, v);
  }

  getAttr<T extends Attribute['type']>(name: string, type: T): AttributeValue<T> | undefined {
    const a = this.attributes.get(name);
    if (!a) return undefined;
    if (a.type !== type) {
      throw new NibbleError('E_INVALID_GRAPH', `node '${this._name}' (${this.opType}): attribute '${name}' is ${a.type}, expected ${type}`, {
        node: this._name,
        op: this.opType,
      });
    }
    return a.value as unknown as AttributeValue<T>;
  }

  getInt(name: string, fallback: number): number {
    return this.getAttr(name, 'int') ?? fallback;
  }

  getFloat(name: string, fallback: number): number {
    return this.getAttr(name, 'float') ?? fallback;
  }

  getInts(name: string, fallback: number[]): number[] {
    return this.getAttr(name, 'ints') ?? fallback;
  }

  getString(name: string, fallback: string): string {
    return this.getAttr(name, 'string') ?? fallback;
  }

  setAttr(name: string, a: Attribute): void {
    this.attributes.set(name, a);
  }

  rename(name: string): void {
    if (name === this._name) return;
    this.graph._renameNode(this, name);
    this._name = name;
  }
}

/**
 * A dataflow graph in ONNX semantics. `nodes` is kept in a valid execution
 * order by the editing methods (addNode appends or inserts at a position);
 * `topologicalSort()` restores it after free-form edits.
 */
export class Graph {
  name: string;
  docString?: string;
  readonly inputs: Value[] = [];
  readonly outputs: Value[] = [];
  /** Initializers in file order. */
  readonly initializers: Value[] = [];
  private _nodes: Node[] = [];
  private readonly valueNames = new Map<string, Value>();
  private readonly nodeNames = new Map<string, Node>();
  private nameCounter = 0;

  constructor(name = 'main') {
    this.name = name;
  }

  get nodes(): readonly Node[] {
    return this._nodes;
  }

  value(name: string): Value | undefined {
    return this.valueNames.get(name);
  }

  node(name: string): Node | undefined {
    return this.nodeNames.get(name);
  }

  /** All values known to the graph (inputs, initializers, node outputs). */
  values(): IterableIterator<Value> {
    return this.valueNames.values();
  }

  /** A name not yet used by any value or node of this graph, derived from `base`. */
  uniqueName(base: string): string {
    if (!this.valueNames.has(base) && !this.nodeNames.has(base)) return base;
    for (;;) {
      const candidate = `${base}_${++this.nameCounter}`;
      if (!this.valueNames.has(candidate) && !this.nodeNames.has(candidate)) return candidate;
    }
  }

  /** A new value with no producer yet (it becomes a node output or a graph input). */
  createValue(name: string, type?: ValueType): Value {
    if (this.valueNames.has(name)) {
      throw new NibbleError('E_INVALID_GRAPH', `value name '${name}' is defined twice`, { value: name });
    }
    const v = new Value(this, name, type);
    this.valueNames.set(name, v);
    return v;
  }

  addInput(name: string, type?: ValueType): Value {
    const v = this.createValue(name, type);
    this.inputs.push(v);
    return v;
  }

  addInitializer(name: string, tensor: Tensor): Value {
    const v = this.createValue(name, { dtype: tensor.dtype, shape: [...tensor.shape] });
    v.const = tensor;
    this.initializers.push(v);
    return v;
  }

  addOutput(v: Value): void {
    if (v.graph !== this) throw new NibbleError('E_INTERNAL', `addOutput: '${v.name}' belongs to another graph`);
    this.outputs.push(v);
  }

  /**
   * Add a node. It is placed at `position` in the node list (default: the
   * end), which must come after its inputs' producers for the order to stay valid.
   */
  addNode(spec: NodeSpec, position?: number): Node {
    const name = spec.name !== undefined && !this.nodeNames.has(spec.name) ? spec.name : this.uniqueName(spec.name ?? spec.opType);
    const node = new Node(this, name, spec.opType, spec.domain ?? '', new Map(Object.entries(spec.attributes ?? {})));
    node.docString = spec.docString;
    this.nodeNames.set(name, node);
    for (const v of spec.inputs) node.appendInput(v);
    const outNames = typeof spec.outputs === 'number'
      ? Array.from({ length: spec.outputs }, (_, i) => this.uniqueName(spec.outputs === 1 ? name : `${name}_out${i}`))
      : spec.outputs;
    for (let i = 0; i < outNames.length; i++) {
      // ONNX marks an omitted optional output with an empty name.
      const outName = outNames[i] === '' ? this.uniqueName(`${name}_unused${i}`) : outNames[i];
      const v = this.createValue(outName);
      v._producer = node;
      v._producerIndex = i;
      if (outNames[i] === '') v.meta.omittedOutput = true;
      node._outputs.push(v);
    }
    if (position === undefined || position >= this._nodes.length) this._nodes.push(node);
    else this._nodes.splice(Math.max(0, position), 0, node);
    return node;
  }

  insertNodeBefore(ref: Node, spec: NodeSpec): Node {
    return this.addNode(spec, this.indexOf(ref));
  }

  insertNodeAfter(ref: Node, spec: NodeSpec): Node {
    return this.addNode(spec, this.indexOf(ref) + 1);
  }

  indexOf(node: Node): number {
    const i = this._nodes.indexOf(node);
    if (i < 0) throw new NibbleError('E_INTERNAL', `node '${node.name}' is not in graph '${this.name}'`);
    return i;
  }

  /**
   * Remove a node. Its outputs must be unused (replace their uses first) unless
   * `force` is set, in which case the dangling uses are left for verify() to report.
   */
  removeNode(node: Node, force = false): void {
    for (const out of node.outputs) {
      if (!force && (out.uses.length > 0 || out.isGraphOutput)) {
        throw new NibbleError('E_INTERNAL', `removeNode: output '${out.name}' of '${node.name}' is still used`, { node: node.name });
      }
    }
    for (let i = 0; i < node.inputs.length; i++) node.replaceInput(i, null);
    this._nodes.splice(this.indexOf(node), 1);
    this.nodeNames.delete(node.name);
    for (const out of node.outputs) {
      if (out.uses.length === 0 && !out.isGraphOutput) this.valueNames.delete(out.name);
      out._producer = null;
    }
  }

  removeInitializer(v: Value): void {
    if (v.uses.length > 0 || v.isGraphOutput) {
      throw new NibbleError('E_INTERNAL', `removeInitializer: '${v.name}' is still used`, { value: v.name });
    }
    const i = this.initializers.indexOf(v);
    if (i >= 0) this.initializers.splice(i, 1);
    const j = this.inputs.indexOf(v);
    if (j >= 0) this.inputs.splice(j, 1);
    this.valueNames.delete(v.name);
  }

  /** Reorder nodes so every node follows the producers of its inputs (stable; typed error on a cycle). */
  topologicalSort(): void {
    const order: Node[] = [];
    const state = new Map<Node, 1 | 2>();
    const visit = (start: Node): void => {
      // Iterative DFS: real models are deep enough to overflow a recursive one.
      const stack: { node: Node; next: number }[] = [{ node: start, next: 0 }];
      state.set(start, 1);
      while (stack.length) {
        const top = stack[stack.length - 1];
        if (top.next < top.node.inputs.length) {
          const producer = top.node.inputs[top.next++]?.producer;
          if (!producer || producer.graph !== this) continue;
          const s = state.get(producer);
          if (s === 1) {
            throw new NibbleError('E_CYCLE', `graph '${this.name}' has a cycle through node '${producer.name}' (${producer.opType})`, {
              node: producer.name,
              op: producer.opType,
              hint: 'a node reads, directly or indirectly, its own output; the model file is malformed',
            });
          }
          if (s === undefined) {
            state.set(producer, 1);
            stack.push({ node: producer, next: 0 });
          }
        } else {
          state.set(top.node, 2);
          order.push(top.node);
          stack.pop();
        }
      }
    };
    for (const n of this._nodes) if (!state.has(n)) visit(n);
    this._nodes = order;
  }

  /**
   * Check the IR invariants: unique names, defined inputs, use lists in step
   * with node inputs, producers in step with outputs, a valid node order and
   * no cycles. Throws a typed error naming the node at fault.
   */
  verify(): void {
    const defined = new Set<Value>([...this.inputs, ...this.initializers]);
    for (const v of this.initializers) {
      if (!v.const) throw new NibbleError('E_INVALID_GRAPH', `initializer '${v.name}' has no tensor`, { value: v.name });
    }
    const seen = new Set<Node>();
    for (const node of this._nodes) {
      if (node.graph !== this) throw new NibbleError('E_INVALID_GRAPH', `node '${node.name}' belongs to another graph`, { node: node.name });
      seen.add(node);
      node.inputs.forEach((v, i) => {
        if (!v) return;
        if (!defined.has(v)) {
          const later = v.producer && !seen.has(v.producer) && this._nodes.includes(v.producer);
          if (later) this.topologicalSortOrThrowCycle();
          throw new NibbleError(
            'E_UNDEFINED_VALUE',
            later
              ? `node '${node.name}' (${node.opType}) reads '${v.name}' before its producer '${v.producer!.name}' runs`
              : `node '${node.name}' (${node.opType}) reads '${v.name}', which no graph input, initializer or node defines`,
            { node: node.name, op: node.opType, value: v.name },
          );
        }
        if (!v.uses.some((u) => u.node === node && u.index === i)) {
          throw new NibbleError('E_INVALID_GRAPH', `use list of '${v.name}' misses input ${i} of node '${node.name}'`, { node: node.name });
        }
      });
      node.outputs.forEach((v, i) => {
        if (v.producer !== node || v.producerIndex !== i) {
          throw new NibbleError('E_INVALID_GRAPH', `output ${i} of node '${node.name}' does not point back to it`, { node: node.name });
        }
        if (defined.has(v)) {
          throw new NibbleError('E_INVALID_GRAPH', `value '${v.name}' is defined twice (again by node '${node.name}')`, { node: node.name, value: v.name });
        }
        defined.add(v);
      });
    }
    for (const v of defined) {
      for (const u of v.uses) {
        if (!seen.has(u.node) || u.node.inputs[u.index] !== v) {
          throw new NibbleError('E_INVALID_GRAPH', `use list of '${v.name}' names node '${u.node.name}' input ${u.index}, which reads something else`, { value: v.name });
        }
      }
    }
    for (const v of this.outputs) {
      if (!defined.has(v)) {
        throw new NibbleError('E_UNDEFINED_VALUE', `graph output '${v.name}' is not defined by any node, input or initializer`, { value: v.name });
      }
    }
  }

  private topologicalSortOrThrowCycle(): void {
    const saved = this._nodes;
    this.topologicalSort();
    this._nodes = saved;
  }

  /** @internal */
  _renameValue(v: Value, name: string): void {
    if (this.valueNames.has(name)) throw new NibbleError('E_INVALID_GRAPH', `rename: value name '${name}' is taken`, { value: name });
    this.valueNames.delete(v.name);
    this.valueNames.set(name, v);
  }

  /** @internal */
  _renameNode(n: Node, name: string): void {
    if (this.nodeNames.has(name)) throw new NibbleError('E_INVALID_GRAPH', `rename: node name '${name}' is taken`, { node: name });
    this.nodeNames.delete(n.name);
    this.nodeNames.set(name, n);
  }
}

/** A graph with the model-level facts of an ONNX ModelProto. */
export interface Model {
  graph: Graph;
  irVersion: number;
  /** domain ('' for the default ONNX domain) -> opset version */
  opsetImports: Map<string, number>;
  producerName?: string;
  producerVersion?: string;
  domain?: string;
  modelVersion?: number;
  docString?: string;
  metadata: Map<string, string>;
}

export function createModel(graph: Graph, opset = 21, irVersion = 10): Model {
  return { graph, irVersion, opsetImports: new Map([['', opset]]), metadata: new Map(), producerName: 'nibble' };
}
