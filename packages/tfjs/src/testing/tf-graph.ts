import { randomFloats } from '@nibble/testing';
import type { TfNode } from '../graph-model';

/* Graph models written node by node, as the TF.js converter writes GraphDefs (for specs). */

export const str = (v: string): { s: string } => ({ s: Buffer.from(v).toString('base64') });
export const list = (v: number[]): { list: { i: string[] } } => ({ list: { i: v.map(String) } });
export const strs = (v: string[]): { list: { s: string[] } } => ({ list: { s: v.map((x) => Buffer.from(x).toString('base64')) } });
const T = { T: { type: 'DT_FLOAT' } };

export class GraphBuilder {
  nodes: TfNode[] = [];
  specs: { name: string; shape: number[]; dtype: string }[] = [];
  data: Uint8Array[] = [];
  private seed = 1;

  node(name: string, op: string, input: string[], attr: Record<string, unknown> = {}): string {
    this.nodes.push({ name, op, input, attr: { ...T, ...attr } as TfNode['attr'] });
    return name;
  }

  weight(name: string, shape: number[], lo = -1, hi = 1): string {
    const values = randomFloats(shape.reduce((a, b) => a * b, 1), this.seed++, lo, hi);
    return this.constant(name, shape, values);
  }

  constant(name: string, shape: number[], values: Float32Array | Int32Array): string {
    const dtype = values instanceof Int32Array ? 'int32' : 'float32';
    this.nodes.push({ name, op: 'Const', attr: { value: { tensor: { dtype: dtype === 'int32' ? 'DT_INT32' : 'DT_FLOAT', tensorShape: { dim: shape.map((d) => ({ size: String(d) })) } } }, dtype: { type: dtype === 'int32' ? 'DT_INT32' : 'DT_FLOAT' } } as TfNode['attr'] });
    this.specs.push({ name, shape, dtype });
    this.data.push(new Uint8Array(values.buffer));
    return name;
  }

  ints(name: string, values: number[], shape = [values.length]): string {
    return this.constant(name, shape, Int32Array.from(values));
  }

  artifacts(): { modelTopology: object; weightSpecs: object[]; weightData: ArrayBuffer; format: string } {
    const all = new Uint8Array(this.data.reduce((n, d) => n + d.length, 0));
    let at = 0;
    for (const d of this.data) {
      all.set(d, at);
      at += d.length;
    }
    return { modelTopology: { node: this.nodes, versions: { producer: 1 } }, weightSpecs: this.specs, weightData: all.buffer, format: 'graph-model' };
  }
}

/** The graph as a converted model.json (outputs declared through a signature) with its one shard, for readTfjsModel. */
export function graphSource(g: GraphBuilder, outputs: string[]): { modelJson: Record<string, unknown>; weights: Record<string, Uint8Array> } {
  const art = g.artifacts();
  return {
    modelJson: {
      format: 'graph-model',
      modelTopology: art.modelTopology,
      userDefinedMetadata: { signature: { outputs: Object.fromEntries(outputs.map((o) => [o, { name: o }])) } },
      weightsManifest: [{ paths: ['w.bin'], weights: art.weightSpecs }],
    },
    weights: { 'w.bin': new Uint8Array(art.weightData) },
  };
}

