import { NibbleError, Tensor, shapeSize } from '@nibble/ir';
import type { Table } from './flatbuffer';
import { irDtype, tensorBytes } from './constants';
import type { TfliteFile, TfliteTensor } from './model-file';
import { DimensionType, F, SparseIndexKind } from './schema';

interface Level {
  dense: boolean;
  size: number;
  segments: number[];
  indices: number[];
}

const INDEX_KIND = { [SparseIndexKind.INT32]: 'i32', [SparseIndexKind.UINT16]: 'u16', [SparseIndexKind.UINT8]: 'u8' } as const;

function indexVector(dm: Table, typeField: number, valueField: number, what: string): number[] {
  const kind = dm.u8(typeField);
  if (kind === SparseIndexKind.NONE) return [];
  const k = INDEX_KIND[kind as keyof typeof INDEX_KIND];
  if (!k) throw dm.fb.formatError(`${what}: unknown sparse index vector type ${kind}`);
  const t = dm.table(valueField, what);
  return t ? t.numbers(F.IndexVector.values, k) : [];
}

/**
 * The dense contents of a sparse constant tensor (TFLite's TACO-style
 * sparsity: a traversal order over the dimensions and block dimensions,
 * each level dense or CSR-compressed). Stored values are consumed in
 * traversal order, as TFLite's DENSIFY does.
 */
export function densify(model: TfliteFile, t: TfliteTensor): Tensor {
  const file = model.fb.file;
  const sp = t.sparsity;
  if (!sp) throw new NibbleError('E_INTERNAL', `densify: tensor '${t.name}' is not sparse`);
  const bad = (msg: string): NibbleError =>
    new NibbleError('E_FILE_FORMAT', `${file ? `${file}: ` : ''}sparse tensor '${t.name}': ${msg}`, { file, value: t.name, hint: 'the file is corrupt' });

  const order = sp.numbers(F.SparsityParameters.traversalOrder, 'i32');
  const blockMap = sp.numbers(F.SparsityParameters.blockMap, 'i32');
  const levels: Level[] = sp.tables(F.SparsityParameters.dimMetadata, (i) => `${sp.what} level ${i}`).map((dm, i) => ({
    dense: dm.u8(F.DimensionMetadata.format) === DimensionType.DENSE,
    size: dm.i32(F.DimensionMetadata.denseSize),
    segments: indexVector(dm, F.DimensionMetadata.arraySegmentsType, F.DimensionMetadata.arraySegments, `level ${i} segments`),
    indices: indexVector(dm, F.DimensionMetadata.arrayIndicesType, F.DimensionMetadata.arrayIndices, `level ${i} indices`),
  }));
  const rank = t.shape.length;
  if (order.length !== levels.length || order.length !== rank + blockMap.length) {
    throw bad(`traversal order of ${order.length}, ${levels.length} levels and ${blockMap.length} block dims do not fit rank ${rank}`);
  }
  // Block size of each block dimension: the dense size of the level that traverses it.
  const blockSize = blockMap.map((d, j) => {
    const level = order.indexOf(rank + j);
    if (d < 0 || d >= rank || level < 0 || !levels[level].dense || levels[level].size <= 0) throw bad(`block dimension ${j} is malformed`);
    return levels[level].size;
  });

  const dtype = irDtype(t, file);
  const size = shapeSize(t.shape, `tensor '${t.name}'`);
  const bytes = tensorBytes(model, t) ?? new Uint8Array(0);
  const probe = new Tensor(dtype, [0]);
  const elementBytes = (probe.data as Uint8Array).BYTES_PER_ELEMENT;
  if (bytes.byteLength % elementBytes !== 0) throw bad(`value buffer of ${bytes.byteLength} bytes is not a whole number of ${t.type} values`);
  const stored = new Tensor(dtype, [bytes.byteLength / elementBytes]);
  new Uint8Array((stored.data as Uint8Array).buffer).set(bytes);
  const src = stored.data as Float32Array;
  // The dense shape comes from the file; a corrupt one must not take the process down.
  let out: Tensor;
  try {
    out = new Tensor(dtype, t.shape);
  } catch (e) {
    if (e instanceof NibbleError) throw e;
    throw new NibbleError('E_TOO_LARGE', `${file ? `${file}: ` : ''}sparse tensor '${t.name}' densifies to [${t.shape.join(',')}], more than memory holds`, { file, value: t.name, cause: e });
  }
  const dst = out.data as Float32Array;

  const strides = new Array<number>(rank).fill(1);
  for (let i = rank - 2; i >= 0; i--) strides[i] = strides[i + 1] * t.shape[i + 1];
  const coords = new Array<number>(levels.length).fill(0);
  let next = 0;

  const emit = (): void => {
    const orig = new Array<number>(rank).fill(0);
    for (let l = 0; l < rank; l++) orig[order[l]] = coords[l];
    for (let l = rank; l < levels.length; l++) {
      const j = order[l] - rank;
      orig[blockMap[j]] = orig[blockMap[j]] * blockSize[j] + coords[l];
    }
    let flat = 0;
    for (let d = 0; d < rank; d++) {
      if (orig[d] < 0 || orig[d] >= t.shape[d]) throw bad(`an index (${orig.join(',')}) lies outside the shape [${t.shape.join(',')}]`);
      flat += orig[d] * strides[d];
    }
    if (next >= src.length) throw bad(`needs more values than the ${src.length} stored`);
    dst[flat] = src[next++];
  };

  // Depth-first over the levels; `parent` is the position of the enclosing element, as CSR segments count it.
  const visit = (level: number, parent: number): void => {
    if (level === levels.length) return emit();
    const lv = levels[level];
    if (lv.dense) {
      for (let i = 0; i < lv.size; i++) {
        coords[level] = i;
        visit(level + 1, parent * lv.size + i);
      }
      return;
    }
    if (parent + 1 >= lv.segments.length) throw bad(`level ${level} has ${lv.segments.length} segment bounds, position ${parent} needs more`);
    const end = lv.segments[parent + 1];
    if (end > lv.indices.length || lv.segments[parent] > end) throw bad(`level ${level} segment ${parent} is out of range`);
    for (let i = lv.segments[parent]; i < end; i++) {
      coords[level] = lv.indices[i];
      visit(level + 1, i);
    }
  };
  visit(0, 0);
  if (next !== src.length) throw bad(`${src.length} values are stored but the sparsity pattern uses ${next}`);
  if (out.size !== size) throw new NibbleError('E_INTERNAL', 'densify: size mismatch');
  return out;
}
