import { closeSync, fsyncSync, openSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { Attribute, DTYPES, Graph, Model, NibbleError, Node, Value, ValueType } from '@nibble/ir';
import { ProtoWriter } from './proto-writer';
import { writeTensor } from './tensor-encode';
import { validateOnnxModel } from './validate';

/**
 * Serialize a model as ONNX. Fields go out in field-number order and maps
 * in insertion order, so the same model always gives the same bytes.
 * Tensors are written as raw_data; for IR < 4 every initializer is repeated
 * as a graph input, as that IR requires, and for later IRs those the reader
 * found listed as inputs (meta.initializerIsInput) are repeated again.
 */
export function writeOnnx(model: Model, opts: { file?: string } = {}): Uint8Array {
  model.graph.verify();
  // No bytes leave nibble that a runtime could misread: Q/DQ scale and zero-point
  // lengths, packed int4 sizes and types per opset are checked first (validate.ts).
  validateOnnxModel(model, opts);
  const w = new ProtoWriter();
  w.int64(1, model.irVersion);
  if (model.producerName !== undefined) w.string(2, model.producerName);
  if (model.producerVersion !== undefined) w.string(3, model.producerVersion);
  if (model.domain !== undefined) w.string(4, model.domain);
  if (model.modelVersion !== undefined) w.int64(5, model.modelVersion);
  if (model.docString !== undefined) w.string(6, model.docString);
  w.message(7, (gw) => writeGraph(gw, model.graph, model.irVersion));
  for (const [domain, version] of model.opsetImports) {
    w.message(8, (ow) => {
      ow.string(1, domain);
      ow.int64(2, version);
    });
  }
  for (const [key, value] of model.metadata) {
    w.message(14, (ew) => {
      ew.string(1, key);
      ew.string(2, value);
    });
  }
  return w.finish();
}

function writeType(w: ProtoWriter, t: ValueType): void {
  w.message(1, (tw) => {
    tw.int32(1, DTYPES[t.dtype].onnx);
    if (!t.shape) return;
    const shape = t.shape;
    tw.message(2, (sw) => {
      for (const d of shape) {
        sw.message(1, (dw) => {
          if (typeof d === 'number') dw.int64(1, d);
          else if (typeof d === 'string') dw.string(2, d);
        });
      }
    });
  });
}

function writeValueInfo(w: ProtoWriter, field: number, v: Value): void {
  // An initializer's type is its tensor's, whatever a pass left in v.type.
  const type: ValueType | undefined = v.const ? { dtype: v.const.dtype, shape: [...v.const.shape] } : v.type;
  w.message(field, (vw) => {
    vw.string(1, v.name);
    if (type) vw.message(2, (tw) => writeType(tw, type));
    if (v.docString) vw.string(3, v.docString);
  });
}

function isOmittedOutput(v: Value): boolean {
  return v.meta.omittedOutput === true && v.uses.length === 0 && !v.isGraphOutput;
}

function writeAttribute(w: ProtoWriter, name: string, a: Attribute, ir: number, node: Node): void {
  const code: Record<Attribute['type'], number> = {
    float: 1, int: 2, string: 3, tensor: 4, graph: 5, floats: 6, ints: 7, strings: 8, tensors: 9, graphs: 10,
  };
  const checkInt = (x: number): number => {
    if (!Number.isInteger(x)) {
      throw new NibbleError('E_INVALID_GRAPH', `node '${node.name}' (${node.opType}): int attribute '${name}' holds ${x}, not an integer`, {
        node: node.name,
        op: node.opType,
      });
    }
    return x;
  };
  w.string(1, name);
  switch (a.type) {
    case 'float': w.float(2, a.value); break;
    case 'int': w.int64(3, checkInt(a.value)); break;
    case 'string': w.string(4, a.value); break;
    case 'tensor': w.message(5, (tw) => writeTensor(tw, a.value)); break;
    case 'graph': w.message(6, (gw) => writeGraph(gw, a.value, ir)); break;
    case 'floats': for (const x of a.value) w.float(7, x); break;
    case 'ints': for (const x of a.value) w.int64(8, checkInt(x)); break;
    case 'strings': for (const s of a.value) w.string(9, s); break;
    case 'tensors': for (const t of a.value) w.message(10, (tw) => writeTensor(tw, t)); break;
    case 'graphs': for (const g of a.value) w.message(11, (gw) => writeGraph(gw, g, ir)); break;
  }
  w.int32(20, code[a.type]);
}

function writeNode(w: ProtoWriter, n: Node, ir: number): void {
  for (const v of n.inputs) w.string(1, v ? v.name : '');
  for (const v of n.outputs) w.string(2, isOmittedOutput(v) ? '' : v.name);
  w.string(3, n.name);
  w.string(4, n.opType);
  for (const [name, a] of n.attributes) w.message(5, (aw) => writeAttribute(aw, name, a, ir, n));
  if (n.docString) w.string(6, n.docString);
  if (n.domain) w.string(7, n.domain);
}

function writeGraph(w: ProtoWriter, g: Graph, ir: number): void {
  for (const n of g.nodes) w.message(1, (nw) => writeNode(nw, n, ir));
  w.string(2, g.name);
  for (const v of g.initializers) w.message(5, (tw) => writeTensor(tw, v.const!, v.name, v.docString));
  if (g.docString) w.string(10, g.docString);
  const inputs = [...g.inputs];
  for (const v of g.initializers) {
    if ((ir < 4 || v.meta.initializerIsInput === true) && !inputs.includes(v)) inputs.push(v);
  }
  for (const v of inputs) writeValueInfo(w, 11, v);
  for (const v of g.outputs) writeValueInfo(w, 12, v);
  for (const n of g.nodes) {
    for (const v of n.outputs) if (v.type && !v.isGraphOutput && !isOmittedOutput(v)) writeValueInfo(w, 13, v);
  }
}

let tempCounter = 0;

/** Write the model to `path` atomically: a temporary file beside it, then a rename. */
export function writeOnnxFile(model: Model, path: string): void {
  writeFileAtomic(path, writeOnnx(model, { file: path }));
}

/**
 * Bytes to `path` atomically (a temporary file beside it, fsync, rename), so
 * a reader never sees a partial file: for bytes serialized once and both
 * measured and written (quantize's report sizes are the file's).
 */
export function writeFileAtomic(path: string, bytes: Uint8Array): void {
  const tmp = join(dirname(path), `.${basename(path)}.${process.pid}.${++tempCounter}.tmp`);
  try {
    const fd = openSync(tmp, 'w');
    try {
      for (let off = 0; off < bytes.length;) off += writeSync(fd, bytes, off, bytes.length - off);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, path);
  } catch (e) {
    try {
      unlinkSync(tmp);
    } catch {
      // the temporary file was never created
    }
    throw new NibbleError('E_FILE_NOT_FOUND', `${path}: cannot write the file (${(e as Error).message})`, {
      file: path,
      hint: 'check that the directory exists and is writable',
      cause: e,
    });
  }
}
