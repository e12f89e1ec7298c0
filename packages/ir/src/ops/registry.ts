import { NibbleError } from '../errors';
import type { Graph, Node, ValueType } from '../graph';

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
   * undefined entries where a type cannot be known statically.
   */
  inferTypes?: (node: Node) => (ValueType | undefined)[];
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
