import type * as TF from '@tensorflow/tfjs';
import { type Model, NibbleError, Tensor, isNibbleError } from '@nibble/ir';
import { createOrtExecutor } from '@nibble/runtime';
import { closeTo, maxRelError, nhwcToNchw, randomFloats, tfWasm } from '@nibble/testing';
import { readTfjsModel } from './index';
import { GraphBuilder, graphSource, list, str, strs } from './testing/tf-graph';

/*
 * The shape, slicing, selection and integer ops converters emit, each in a
 * small graph run by TF.js (wasm) and through the IR in onnxruntime.
 */

const INT = { T: { type: 'DT_INT32' } };
const toFloat = { DstT: { type: 'DT_FLOAT' } };
const slice = (begin: number, end: number, ellipsis = 0, newAxis = 0, shrink = 0): Record<string, unknown> => ({
  begin_mask: { i: String(begin) }, end_mask: { i: String(end) }, ellipsis_mask: { i: String(ellipsis) }, new_axis_mask: { i: String(newAxis) }, shrink_axis_mask: { i: String(shrink) },
});

function placeholder(g: GraphBuilder, shape: number[]): string {
  return g.node('x', 'Placeholder', [], { shape: { shape: { dim: shape.map((d) => ({ size: String(d) })) } }, dtype: { type: 'DT_FLOAT' } });
}

/** Every output as TF.js computes it (NCHW where rank 4, as the IR's outputs are) and as the IR does; fails naming the first that differs. */
async function compare(g: GraphBuilder, outputs: string[], shape: number[], model?: Model): Promise<Model> {
  const tf = await tfWasm();
  const ref = await tf.loadGraphModel(tf.io.fromMemory(g.artifacts()));
  const x = randomFloats(shape.reduce((a, b) => a * b, 1), 5, -2, 2);
  const result = ref.execute(tf.tensor(x, shape), outputs) as TF.Tensor | TF.Tensor[];
  const refOut = Array.isArray(result) ? result : [result];
  const want = await Promise.all(refOut.map(async (t) => {
    const d = Float32Array.from(await t.data());
    return t.shape.length === 4 ? nhwcToNchw(d, t.shape as number[]) : d;
  }));
  ref.dispose();
  const m = model ?? (await readTfjsModel({ ...graphSource(g, outputs), file: 'ops.json' }));
  m.graph.verify();
  const ex = await createOrtExecutor(m, { backend: 'node' });
  try {
    const input = shape.length === 4 ? new Tensor('float32', [shape[0], shape[3], shape[1], shape[2]], nhwcToNchw(x, shape)) : new Tensor('float32', shape, x);
    const out = await ex.run({ x: input });
    outputs.forEach((name, k) => {
      const got = Float32Array.from(out[name.replace(/:\d+$/, '')].data as ArrayLike<number>);
      if (!closeTo(got, want[k], 1e-5, 1e-6)) throw new Error(`output '${name}': max relative error ${maxRelError(got, want[k])}`);
    });
  } finally {
    await ex.dispose();
  }
  return m;
}

describe('TF.js graph-model shape, slicing and selection ops against TF.js', () => {
  it('StridedSlice (every mask), Slice, Split/SplitV, Pack/Unpack, Tile, GatherV2, GatherNd, Shape/Size/Rank folded into Reshape', async () => {
    const g = new GraphBuilder();
    const x = placeholder(g, [2, 8, 8, 6]);
    const outs: string[] = [];
    outs.push(g.node('ss_masks', 'StridedSlice', [x, g.ints('b1', [0, 1, 0, 2]), g.ints('e1', [0, 7, 8, 5]), g.ints('s1', [1, 2, 1, 1])], slice(1, 1 | 4)));
    outs.push(g.node('ss_shrink', 'StridedSlice', [x, g.ints('b2', [0, -1]), g.ints('e2', [0, 0]), g.ints('s2', [1, 1])], slice(0, 0, 1, 0, 2)));
    outs.push(g.node('ss_newaxis', 'StridedSlice', [x, g.ints('b3', [0, 0, 0]), g.ints('e3', [0, 0, 0]), g.ints('s3', [1, 1, -1])], slice(1 | 4, 1 | 4, 0, 2)));
    outs.push(g.node('ss_reverse', 'StridedSlice', [x, g.ints('b4', [0, 6, 0, 5]), g.ints('e4', [2, 0, 8, 0]), g.ints('s4', [1, -2, 3, -1])], slice(0, 4)));
    outs.push(g.node('slice', 'Slice', [x, g.ints('sb', [0, 2, 1, 0]), g.ints('sz', [-1, 4, -1, 3])]));
    const split = g.node('split', 'Split', [g.ints('sa', [3], []), x], { num_split: { i: '2' } });
    outs.push(g.node('split_sum', 'AddV2', [`${split}:0`, `${split}:1`]));
    const splitv = g.node('splitv', 'SplitV', [x, g.ints('sizes', [1, -1, 2]), g.ints('sva', [-1], [])], { num_split: { i: '3' } });
    outs.push(`${splitv}:1`);
    const unpack = g.node('unpack', 'Unpack', [x], { axis: { i: '1' }, num: { i: '8' } });
    outs.push(`${unpack}:3`);
    outs.push(g.node('pack', 'Pack', [`${unpack}:0`, `${unpack}:5`], { axis: { i: '2' }, N: { i: '2' } }));
    outs.push(g.node('tile', 'Tile', [outs[0], g.ints('mult', [1, 1, 1, 2])]));
    outs.push(g.node('gather', 'GatherV2', [x, g.ints('gi', [3, 0, 5]), g.ints('ga', [3], [])], { batch_dims: { i: '0' } }));
    outs.push(g.node('gather_nd', 'GatherNd', [x, g.ints('gnd', [0, 1, 1, 7], [2, 2])]));
    const sh = g.node('shape', 'Shape', [x], { out_type: { type: 'DT_INT32' } });
    const batch = g.node('batch', 'StridedSlice', [sh, g.ints('bb', [0]), g.ints('be', [1]), g.ints('bs', [1])], { ...INT, ...slice(0, 0, 0, 0, 1) });
    const target = g.node('target', 'Pack', [batch, g.ints('minus1', [-1], [])], { ...INT, axis: { i: '0' }, N: { i: '2' } });
    outs.push(g.node('flat', 'Reshape', [x, target]));
    const size = g.node('size', 'Size', [x], { out_type: { type: 'DT_INT32' } });
    const rank = g.node('rank', 'Rank', [x]);
    const byRank = g.node('by_rank', 'FloorDiv', [size, rank], INT);
    outs.push(g.node('flat2', 'Reshape', [x, g.node('target2', 'Pack', [byRank, rank], { ...INT, axis: { i: '0' }, N: { i: '2' } })]));
    const range = g.node('range', 'Range', [g.ints('r0', [0], []), g.ints('r1', [6], []), g.ints('r2', [1], [])], { Tidx: { type: 'DT_INT32' } });
    const filled = g.node('fill', 'Fill', [g.ints('fd', [6]), g.weight('fv', [])]);
    outs.push(g.node('ranged', 'AddV2', [g.node('plus_range', 'AddV2', [x, g.node('range_f', 'Cast', [range], toFloat)]), filled]));
    const model = await compare(g, outs, [2, 8, 8, 6]);
    // Shape arithmetic on a known shape left no Shape node behind.
    expect(model.graph.nodes.some((n) => n.opType === 'Shape' || n.opType === 'Size')).toBe(false);
  }, 60_000);

  it('Cast, comparisons, Select/SelectV2, FloorDiv/FloorMod, ArgMax, TopKV2, SquaredDifference, LogSoftmax', async () => {
    const g = new GraphBuilder();
    const x = placeholder(g, [2, 8, 8, 6]);
    const outs: string[] = [];
    const gt = g.node('gt', 'Greater', [x, g.weight('t0', [], 0.1, 0.2)]);
    outs.push(g.node('gt_f', 'Cast', [gt], toFloat));
    const xi = g.node('xi', 'Cast', [g.node('x3', 'Mul', [x, g.weight('three', [], 3, 3.0001)])], { DstT: { type: 'DT_INT32' } });
    const eq = g.node('eq', 'Equal', [xi, g.ints('one', [1], [])], INT);
    const ne = g.node('ne', 'NotEqual', [xi, g.ints('two', [2], [])], INT);
    outs.push(g.node('eq_f', 'Cast', [g.node('and', 'LogicalAnd', [eq, ne])], toFloat));
    const le = g.node('le', 'LessEqual', [x, g.weight('t1', [6])]);
    outs.push(g.node('select2', 'SelectV2', [le, x, g.node('half', 'Mul', [x, g.weight('h', [], 0.5, 0.51)])]));
    outs.push(g.node('select1', 'Select', [g.node('ge', 'GreaterEqual', [x, g.node('neg', 'Neg', [x])]), x, g.node('sq', 'Square', [x])]));
    outs.push(g.node('floordiv', 'FloorDiv', [x, g.weight('d', [], 0.3, 0.4)]));
    outs.push(g.node('floormod', 'FloorMod', [x, g.weight('m', [6], 0.5, 0.9)]));
    outs.push(g.node('intmod', 'Cast', [g.node('imod', 'FloorMod', [xi, g.ints('four', [4], [])], INT)], toFloat));
    outs.push(g.node('argmax', 'Cast', [g.node('am', 'ArgMax', [x, g.ints('amd', [3], [])], { output_type: { type: 'DT_INT32' } })], toFloat));
    const flat = g.node('flat', 'Reshape', [x, g.ints('fs', [2, 384])]);
    const topk = g.node('topk', 'TopKV2', [flat, g.ints('k', [5], [])], { sorted: { b: true } });
    outs.push(`${topk}:0`);
    outs.push(g.node('topk_i', 'Cast', [`${topk}:1`], toFloat));
    outs.push(g.node('sqdiff', 'SquaredDifference', [x, g.weight('c', [6])]));
    outs.push(g.node('logsoftmax', 'LogSoftmax', [flat]));
    await compare(g, outs, [2, 8, 8, 6]);
  }, 60_000);

  it('Conv2DBackpropInput (SAME and VALID), DepthToSpace, and _FusedConv2D with a fused batch norm', async () => {
    const g = new GraphBuilder();
    const x = placeholder(g, [1, 8, 8, 6]);
    const outs: string[] = [];
    const conv = { data_format: str('NHWC'), strides: list([1, 2, 2, 1]), dilations: list([1, 1, 1, 1]) };
    outs.push(g.node('deconv_same', 'Conv2DBackpropInput', [g.ints('os1', [1, 16, 16, 5]), g.weight('wt1', [3, 3, 5, 6]), x], { ...conv, padding: str('SAME') }));
    outs.push(g.node('deconv_valid', 'Conv2DBackpropInput', [g.ints('os2', [1, 17, 17, 4]), g.weight('wt2', [3, 3, 4, 6]), x], { ...conv, padding: str('VALID') }));
    const four = g.node('four_ch', 'Slice', [x, g.ints('fb', [0, 0, 0, 0]), g.ints('fsz', [-1, -1, -1, 4])]);
    outs.push(g.node('d2s', 'DepthToSpace', [four], { block_size: { i: '2' }, data_format: str('NHWC') }));
    await compare(g, outs, [1, 8, 8, 6]);

    // TF.js cannot run a batch norm fused into a convolution (grappler writes it): the reference is the unfused graph.
    const bn = (b: GraphBuilder): string[] => [b.weight('gamma', [4], 0.5, 1.5), b.weight('beta', [4]), b.weight('mean', [4]), b.weight('var', [4], 0.5, 1.5)];
    const same = { padding: str('SAME'), data_format: str('NHWC'), strides: list([1, 1, 1, 1]), dilations: list([1, 1, 1, 1]) };
    const fused = new GraphBuilder();
    const fx = placeholder(fused, [1, 8, 8, 6]);
    fused.node('y', '_FusedConv2D', [fx, fused.weight('w', [3, 3, 6, 4]), ...bn(fused)], { ...same, fused_ops: strs(['FusedBatchNorm', 'Relu']), epsilon: { f: 0.001 }, num_args: { i: '4' } });
    const plain = new GraphBuilder();
    const px = placeholder(plain, [1, 8, 8, 6]);
    const c = plain.node('conv', 'Conv2D', [px, plain.weight('w', [3, 3, 6, 4])], same);
    const n = plain.node('bn', 'FusedBatchNormV3', [c, ...bn(plain)], { epsilon: { f: 0.001 }, data_format: str('NHWC') });
    plain.node('y', 'Relu', [n]);
    await compare(plain, ['y'], [1, 8, 8, 6], await readTfjsModel({ ...graphSource(fused, ['y']), file: 'fused.json' }));
  }, 60_000);

  it('keeps shapes dynamic where the batch is unknown (Shape, StridedSlice, Pack, Reshape at run time)', async () => {
    const g = new GraphBuilder();
    const x = placeholder(g, [-1, 4, 4, 3]);
    const sh = g.node('shape', 'Shape', [x], { out_type: { type: 'DT_INT32' } });
    const batch = g.node('batch', 'StridedSlice', [sh, g.ints('bb', [0]), g.ints('be', [1]), g.ints('bs', [1])], { ...INT, ...slice(0, 0, 0, 0, 1) });
    const target = g.node('target', 'Pack', [batch, g.ints('n', [48], [])], { ...INT, axis: { i: '0' }, N: { i: '2' } });
    const y = g.node('y', 'Reshape', [x, target]);
    const model = await compare(g, [y], [3, 4, 4, 3]);
    expect(model.graph.nodes.some((n) => n.opType === 'Shape')).toBe(true);
  }, 60_000);

  it('control flow and unknown-rank inputs fail with typed errors naming node, op and what to do', async () => {
    const flow = new GraphBuilder();
    placeholder(flow, [1, 4]);
    flow.node('loop/enter', 'Enter', ['x']);
    const noRank = new GraphBuilder();
    noRank.node('x', 'Placeholder', [], { shape: { shape: { unknownRank: true } }, dtype: { type: 'DT_FLOAT' } });
    noRank.node('y', 'Relu', ['x']);
    const errors: NibbleError[] = [];
    for (const [g, out] of [[flow, 'loop/enter'], [noRank, 'y']] as const) {
      try {
        await readTfjsModel({ ...graphSource(g, [out]), file: 'm.json' });
      } catch (e) {
        if (isNibbleError(e)) errors.push(e);
      }
    }
    expect(errors[0]).toMatchObject({ code: 'E_UNSUPPORTED_OP', place: { node: 'loop/enter', op: 'Enter' } });
    expect(errors[0].message).toContain('control-flow');
    expect(errors[1]).toMatchObject({ code: 'E_UNSUPPORTED', place: { node: 'x' } });
    expect(errors[1].hint).toContain('--shape x=');
    // The shape the error asks for makes the model readable.
    const fixed = await readTfjsModel({ ...graphSource(noRank, ['y']), file: 'm.json' }, { inputShapes: { x: [-1, 4] } });
    expect(fixed.graph.inputs[0].type?.shape).toEqual(['N', 4]);
  });
});
