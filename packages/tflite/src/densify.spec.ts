import { readTflite } from './read';
import { buildTflite, type TestModel, type TestTensor } from './testing/tflite-builder';

/*
 * Sparse constant weights (TFLite's DENSIFY) decoded at import, checked
 * against the dense matrices they encode.
 */

function fcModel(sparse: TestTensor, units: number, depth: number): TestModel {
  return {
    tensors: [
      { name: 'x', shape: [1, depth] },
      sparse,
      { name: 'w', shape: [units, depth] },
      { name: 'y', shape: [1, units] },
    ],
    operators: [
      { op: 'DENSIFY', inputs: [1], outputs: [2] },
      { op: 'FULLY_CONNECTED', inputs: [0, 2, -1], outputs: [3] },
    ],
    inputs: [0],
    outputs: [3],
  };
}

function weightOf(m: TestModel): number[] {
  const g = readTflite(buildTflite(m)).graph;
  return Array.from(g.nodes.find((n) => n.opType === 'Gemm')!.inputs[1]!.const!.data as Float32Array);
}

describe('sparse weights', () => {
  it('densifies CSR rows (int32 and uint8 index vectors)', () => {
    // [[0, 1, 0, 2],
    //  [0, 0, 0, 0],
    //  [3, 0, 0, 4]]
    const dense = [0, 1, 0, 2, 0, 0, 0, 0, 3, 0, 0, 4];
    for (const uint8 of [false, true]) {
      const sparse: TestTensor = {
        name: 's',
        shape: [3, 4],
        data: Float32Array.from([1, 2, 3, 4]),
        sparsity: { traversalOrder: [0, 1], levels: [{ size: 3 }, { segments: [0, 2, 2, 4], indices: [1, 3, 0, 3], uint8 }] },
      };
      expect(weightOf(fcModel(sparse, 3, 4))).toEqual(dense);
    }
  });

  it('densifies 2x2 blocks', () => {
    // Blocks of [[1, 2], [3, 4]] at block (0, 1) and [[5, 6], [7, 8]] at block (1, 0) of a 4x4 matrix.
    const dense = [
      0, 0, 1, 2,
      0, 0, 3, 4,
      5, 6, 0, 0,
      7, 8, 0, 0,
    ];
    const sparse: TestTensor = {
      name: 's',
      shape: [4, 4],
      data: Float32Array.from([1, 2, 3, 4, 5, 6, 7, 8]),
      sparsity: {
        traversalOrder: [0, 1, 2, 3],
        blockMap: [0, 1],
        levels: [{ size: 2 }, { segments: [0, 1, 2], indices: [1, 0] }, { size: 2 }, { size: 2 }],
      },
    };
    expect(weightOf(fcModel(sparse, 4, 4))).toEqual(dense);
  });

  it('rejects a pattern that needs more values than are stored', () => {
    const sparse: TestTensor = {
      name: 's',
      shape: [3, 4],
      data: Float32Array.from([1, 2, 3]),
      sparsity: { traversalOrder: [0, 1], levels: [{ size: 3 }, { segments: [0, 2, 2, 4], indices: [1, 3, 0, 3] }] },
    };
    expect(() => weightOf(fcModel(sparse, 3, 4))).toThrow(expect.objectContaining({ code: 'E_FILE_FORMAT' }));
  });

  it('rejects indices outside the shape', () => {
    const sparse: TestTensor = {
      name: 's',
      shape: [3, 4],
      data: Float32Array.from([1, 2, 3, 4]),
      sparsity: { traversalOrder: [0, 1], levels: [{ size: 3 }, { segments: [0, 2, 2, 4], indices: [1, 9, 0, 3] }] },
    };
    expect(() => weightOf(fcModel(sparse, 3, 4))).toThrow(/outside the shape/);
  });
});
