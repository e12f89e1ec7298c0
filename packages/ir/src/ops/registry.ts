import type { DType } from '../dtype';
import { NibbleError } from '../errors';
import type { Dim, Graph, Node, Value, ValueType } from '../graph';
import type { Tensor } from '../tensor';

/**
 * Statically known contents of a small tensor, for the shape computations
 * exporters leave in graphs (Shape -> Gather -> Concat -> Reshape). Entries
 * may be symbolic dims (a name) or null (unknown) when they come from a shape.
 */
export interface KnownValue {
  dtype: DType;
  shape: number[];
  data: Dim[];
}

/** What an op's inference may ask about the graph beyond its input types. */
export interface InferContext {
  /** Opset of the default ONNX domain the graph is read under. */
  readonly opset: number;
  /** Contents of a value fixed by the graph: an initializer or a Constant node's output. */
  constant(v: Value | null | undefined): Tensor | undefined;
  /** Contents known statically: constants (when small) and propagated shape data. */
  known(v: Value | null | undefined): KnownValue | undefined;
}

/**
 * The operator vocabulary of the IR: ONNX operators (default domain '' and
 * 'com.microsoft' where noted). Every importer lowers to these and every
 * exporter lifts from them; an op outside the registry is an error at import.
 */
export interface OpSchema {
  opType: string;
  domain: string;
  /** One line for `nibble inspect` and error listings. */
  summary?: string;
  /**
   * Output types from input types (and constant inputs, attributes). Returns
   * undefined entries where a type cannot be known statically. Without a
   * context the op reads constants from the graph and assumes opset 21.
   * Throws E_SHAPE naming the node when the inputs cannot fit the op.
   */
  inferTypes?: (node: Node, ctx?: InferContext) => (ValueType | undefined)[];
  /**
   * Output contents when they follow statically from known inputs (only for
   * ops that compute on shapes); undefined entries where they do not.
   */
  inferValues?: (node: Node, ctx: InferContext) => (KnownValue | undefined)[];
}

const registry = new Map<string, OpSchema>();
const key = (domain: string, opType: string): string => `${domain === 'ai.onnx' ? '' : domain}::${opType}`;

export function registerOp(schema: OpSchema): void {
  registry.set(key(schema.domain, schema.opType), schema);
}

export function getOpSchema(opType: string, domain = ''): OpSchema | undefined {
  return registry.get(key(domain, opType));
}

/** Sorted op names of one domain. */
export function supportedOps(domain = ''): string[] {
  return [...registry.values()].filter((s) => key(s.domain, '') === key(domain, '')).map((s) => s.opType).sort();
}

/** Throws E_UNSUPPORTED_OP for the first node whose op is not in the registry. */
export function checkSupportedOps(graph: Graph, file?: string): void {
  for (const node of graph.nodes) {
    if (!getOpSchema(node.opType, node.domain)) {
      const dom = node.domain ? `${node.domain}::` : '';
      throw new NibbleError('E_UNSUPPORTED_OP', `${file ? `${file}: ` : ''}node '${node.name}' uses operator ${dom}${node.opType}, which nibble does not support`, {
        file,
        node: node.name,
        op: node.opType,
        hint: `supported operators: ${supportedOps(node.domain).join(', ') || '(none in this domain)'}`,
      });
    }
  }
}
