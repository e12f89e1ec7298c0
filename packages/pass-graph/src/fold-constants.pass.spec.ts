import { createModel, type Graph, parseGraph, printGraph, type Tensor } from '@nibble/ir';
import { createPassContext, getPass, MemoryReportSink, resolvePipeline, runPipeline, SOURCE_MODEL } from '@nibble/core';
import { foldConstantsPass } from './fold-constants.pass';
import './index';

const lines = (...l: string[]): string => `${l.join('\n')}\n`;

async function fold(text: string, pipeline = 'fold-constants'): Promise<Graph> {
  return (await runPipeline(parseGraph(text), pipeline)).graph;
}

/** The folded graph's constant `name`. */
function constant(g: Graph, name: string): Tensor {
  const t = g.value(name)?.const;
  if (!t) throw new Error(`'${name}' is not an initializer:\n${printGraph(g)}`);
  return t;
}

const f32Bits = (t: Tensor): string[] => Array.from(new Uint32Array((t.data as Float32Array).slice().buffer), (b) => `0x${b.toString(16).padStart(8, '0')}`);

/** One op applied to constants, its output returned. */
async function evalOp(consts: string[], op: string): Promise<Tensor> {
  const g = await fold(lines('graph g(%x : f32[1]) {', ...consts.map((c) => `  ${c}`), `  %r = ${op}`, '  %y = Identity(%r)', '  return %y', '}'));
  return constant(g, 'r');
}

describe("pass 'fold-constants'", () => {
  it('is registered and parses its options', () => {
    expect(getPass('fold-constants')).toBe(foldConstantsPass);
    expect(resolvePipeline('fold-constants{max-elements=16,infer-shapes=false}')[0].options).toEqual({ maxElements: 16, inferShapes: false, keepBatch: true });
    expect(() => resolvePipeline('fold-constants{max-elements=-1}')).toThrow(/below the minimum 0/);
  });

  it('folds the exporters\' Shape -> Gather -> Unsqueeze -> Concat -> Reshape chain to a constant shape (opset 13 form)', async () => {
    const input = lines(
      'graph g(%x : f32[2,3,4,5]) {',
      '  %idx : i64[] = const [0]',
      '  %axes : i64[1] = const [0]',
      '  %minus1 : i64[1] = const [-1]',
      '  %s = Shape(%x)',
      '  %n = Gather(%s, %idx) {axis=0}',
      '  %u = Unsqueeze(%n, %axes)',
      '  %shape = Concat(%u, %minus1) {axis=0}',
      '  %y = Reshape(%x, %shape)',
      '  return %y',
      '}',
    );
    const sink = new MemoryReportSink();
    // keep-batch=false: the model's batch of 2 may be baked in (see the keep-batch test below).
    const result = await runPipeline(parseGraph(input), 'fold-constants{keep-batch=false}', createPassContext({ reportSink: sink }));
    expect(result.modified).toBe(true);
    expect(printGraph(result.graph)).toBe(
      lines(
        'graph g(%x : f32[2,3,4,5]) {',
        '  %shape : i64[2] = const [2, -1]',
        '  %y : f32[2,60] = Reshape(%x, %shape)',
        '  return %y',
        '}',
      ),
    );
    expect(sink.find('folded')[0].value).toBe(4);
    expect(sink.find('folded-by-op')[0].value).toEqual({ Concat: 1, Gather: 1, Shape: 1, Unsqueeze: 1 });
  });

  it('folds the chain when the shape only becomes static through inference (opset 9 form, Constant nodes, a Conv in between)', async () => {
    const g = await fold(
      lines(
        'graph g(%x : f32[1,3,8,8]) {',
        '  %w = Constant() {value=tensor<f32[4,3,1,1]: <4x3x1x1 values>>}'.replace('<4x3x1x1 values>', Array(12).fill('0.5').join(', ')),
        '  %c = Conv(%x, %w)',
        '  %s = Shape(%c)',
        '  %i = Constant() {value=tensor<i64[]: 1>}',
        '  %n = Gather(%s, %i) {axis=0}',
        '  %u = Unsqueeze(%n) {axes=[0]}',
        '  %m = Constant() {value=tensor<i64[1]: -1>}',
        '  %shape = Concat(%m, %u) {axis=0}',
        '  %y = Reshape(%c, %shape)',
        '  return %y',
        '}',
      ),
    );
    expect(constant(g, 'shape').toNumbers()).toEqual([-1, 4]);
    expect(g.nodes.map((n) => n.opType)).toEqual(['Conv', 'Reshape']);
    // The Constant weight became an initializer under its own name.
    expect(constant(g, 'w').shape).toEqual([4, 3, 1, 1]);
    expect(g.value('y')!.type).toEqual({ dtype: 'float32', shape: [64, 4] });
  });

  it('keep-batch: folds no shape data holding a batch size a graph input fixes, but folds the rest', async () => {
    const input = lines(
      'graph g(%x : f32[2,3,4,5]) {',
      '  %i0 : i64[] = const [0]',
      '  %i1 : i64[] = const [1]',
      '  %axes : i64[1] = const [0]',
      '  %minus1 : i64[1] = const [-1]',
      '  %s = Shape(%x)',
      '  %n = Gather(%s, %i0) {axis=0}',
      '  %c = Gather(%s, %i1) {axis=0}',
      '  %un = Unsqueeze(%n, %axes)',
      '  %uc = Unsqueeze(%c, %axes)',
      '  %batchShape = Concat(%un, %minus1) {axis=0}',
      '  %channelShape = Concat(%minus1, %uc) {axis=0}',
      '  %y1 = Reshape(%x, %batchShape)',
      '  %y2 = Reshape(%x, %channelShape)',
      '  return %y1, %y2',
      '}',
    );
    const sink = new MemoryReportSink();
    const { graph } = await runPipeline(parseGraph(input), 'fold-constants', createPassContext({ reportSink: sink }));
    expect(constant(graph, 'channelShape').toNumbers()).toEqual([-1, 3]);
    expect(graph.value('batchShape')!.isInitializer).toBe(false);
    expect(graph.nodes.map((n) => n.name)).toEqual(['s', 'n', 'un', 'batchShape', 'y1', 'y2']);
  });

  it('folds a static axis of a partly dynamic shape', async () => {
    const g = await fold(
      lines(
        'graph g(%x : f32[N,3,H,W]) {',
        '  %i : i64[1] = const [1]',
        '  %s = Shape(%x)',
        '  %c = Gather(%s, %i) {axis=0}',
        '  %m : i64[1] = const [-1]',
        '  %shape = Concat(%c, %m) {axis=0}',
        '  %y = Reshape(%x, %shape)',
        '  return %y',
        '}',
      ),
    );
    expect(constant(g, 'shape').toNumbers()).toEqual([3, -1]);
    expect(g.nodes.map((n) => n.opType)).toEqual(['Reshape']);
  });

  it('leaves Shape of a value whose shape is not static', async () => {
    const input = lines(
      'graph g(%x : f32[N,3]) {',
      '  %s = Shape(%x)',
      '  %y = Reshape(%x, %s)',
      '  return %y',
      '}',
    );
    const g = await fold(input);
    expect(g.nodes.map((n) => n.opType)).toEqual(['Shape', 'Reshape']);
  });

  it('computes float32 arithmetic bit-exactly (each result rounded once to float32)', async () => {
    const a = '%a : f32[4] = const [0.1, 0.7, 0.001, 3.3]';
    const b = '%b : f32[4] = const [0.2, 0.3, 7, -1.1]';
    // Expected bits from numpy float32 arithmetic, an independent implementation.
    expect(f32Bits(await evalOp([a, b], 'Mul(%a, %b)'))).toEqual(['0x3ca3d70b', '0x3e570a3e', '0x3be56042', '0xc06851ec']);
    expect(f32Bits(await evalOp([a, b], 'Add(%a, %b)'))).toEqual(['0x3e99999a', '0x3f800000', '0x40e00831', '0x400ccccc']);
    expect(f32Bits(await evalOp([a, b], 'Sub(%a, %b)'))).toEqual(['0xbdcccccd', '0x3ecccccc', '0xc0dff7cf', '0x408ccccd']);
    expect(f32Bits(await evalOp([a, b], 'Div(%a, %b)'))).toEqual(['0x3f000000', '0x40155555', '0x3915cbed', '0xc0400000']);
  });

  it('broadcasts, and does integer arithmetic exactly with truncating division', async () => {
    const r = await evalOp(['%a : i64[2,1] = const [7, -7]', '%b : i64[3] = const [2, -2, 3]'], 'Div(%a, %b)');
    expect(r.shape).toEqual([2, 3]);
    expect(r.toNumbers()).toEqual([3, -3, 2, -3, 3, -2]);
    const big = await evalOp(['%a : i64[] = const [9007199254740993]', '%b : i64[] = const [2]'], 'Mul(%a, %b)');
    expect(Array.from(big.data as BigInt64Array)).toEqual([18014398509481986n]);
    const wrap = await evalOp(['%a : i32[] = const [2147483647]', '%b : i32[] = const [1]'], 'Add(%a, %b)');
    expect(wrap.toNumbers()).toEqual([-2147483648]);
  });

  it('leaves an integer division by zero for the runtime to report', async () => {
    const g = await fold(lines('graph g() {', '  %a : i64[] = const [1]', '  %b : i64[] = const [0]', '  %r = Div(%a, %b)', '  %y = Identity(%r)', '  return %y', '}'));
    expect(g.nodes.map((n) => n.opType)).toEqual(['Div', 'Identity']);
  });

  it('accumulates Range in the tensor type, as the ONNX definition does', async () => {
    const r = await evalOp(['%s : f32[] = const [0]', '%l : f32[] = const [1.15]', '%d : f32[] = const [0.1]'], 'Range(%s, %l, %d)');
    // numpy float32: x += 0.1 twelve times; differs from start + i * delta from i = 7 on.
    expect(Array.from(r.data as Float32Array)).toEqual([
      0, 0.10000000149011612, 0.20000000298023224, 0.30000001192092896, 0.4000000059604645, 0.5, 0.6000000238418579,
      0.7000000476837158, 0.8000000715255737, 0.9000000953674316, 1.0000001192092896, 1.1000001430511475,
    ]);
    expect((await evalOp(['%s : i64[] = const [10]', '%l : i64[] = const [1]', '%d : i64[] = const [-4]'], 'Range(%s, %l, %d)')).toNumbers()).toEqual([10, 6, 2]);
  });

  it('moves data exactly: Slice, Transpose, Gather, Squeeze, Flatten, Expand', async () => {
    const x = '%x6 : i64[2,3] = const [0, 1, 2, 3, 4, 5]';
    const ints = (text: string): string => `%${text}`;
    const slice = await evalOp([x, '%st : i64[2] = const [-1, 9223372036854775807]', '%en : i64[2] = const [-3, -9223372036854775808]', ints('ax : i64[2] = const [1, 0]'), '%sp : i64[2] = const [-1, -1]'], 'Slice(%x6, %st, %en, %ax, %sp)');
    expect(slice.shape).toEqual([2, 2]);
    expect(slice.toNumbers()).toEqual([5, 4, 2, 1]);
    const oldSlice = await evalOp([x], 'Slice(%x6) {axes=[1], ends=[3], starts=[1]}');
    expect(oldSlice.toNumbers()).toEqual([1, 2, 4, 5]);
    const t = await evalOp([x], 'Transpose(%x6) {perm=[1,0]}');
    expect([t.shape, t.toNumbers()]).toEqual([[3, 2], [0, 3, 1, 4, 2, 5]]);
    const g = await evalOp([x, '%i : i32[2,2] = const [-1, 0, 2, 2]'], 'Gather(%x6, %i) {axis=1}');
    expect([g.shape, g.toNumbers()]).toEqual([[2, 2, 2], [2, 0, 2, 2, 5, 3, 5, 5]]);
    const sq = await evalOp(['%z : f32[1,3,1] = const [1, 2, 3]'], 'Squeeze(%z)');
    expect(sq.shape).toEqual([3]);
    const fl = await evalOp(['%z : f32[2,1,3] = const [1, 2, 3, 4, 5, 6]'], 'Flatten(%z) {axis=-1}');
    expect(fl.shape).toEqual([2, 3]);
    expect((await evalOp(['%z : f32[2,1,3] = const [1, 2, 3, 4, 5, 6]'], 'Flatten(%z) {axis=3}')).shape).toEqual([6, 1]);
    const ex = await evalOp(['%z : f16[3,1] = const [0.1, 0.2, 0.3]', '%sh : i64[2] = const [1, 3]'], 'Expand(%z, %sh)');
    expect([ex.dtype, ex.shape]).toEqual(['float16', [3, 3]]);
    expect(Array.from(ex.data as Uint16Array)).toEqual([0x2e66, 0x2e66, 0x2e66, 0x3266, 0x3266, 0x3266, 0x34cd, 0x34cd, 0x34cd]);
  });

  it('casts with truncation toward zero, round-to-nearest-even and wrap-around', async () => {
    const c = (to: number, x: string): Promise<Tensor> => evalOp([x], `Cast(%v) {to=${to}}`);
    expect((await c(7, '%v : f32[4] = const [2.7, -2.7, 0.5, -0.5]')).toNumbers()).toEqual([2, -2, 0, 0]);
    // float16 (10): numpy gives 0.0999755859375, 0.333251953125, 65504, 0.
    expect((await c(10, '%v : f32[4] = const [0.1, 0.33333334, 65519, 1e-8]')).toNumbers()).toEqual([0.0999755859375, 0.333251953125, 65504, 0]);
    expect((await c(3, '%v : i32[3] = const [127, 128, -129]')).toNumbers()).toEqual([127, -128, 127]);
    expect((await c(9, '%v : f32[3] = const [0, -0.5, 2]')).toNumbers()).toEqual([0, 1, 1]);
    expect((await c(1, '%v : i64[2] = const [16777217, -3]')).toNumbers()).toEqual([16777216, -3]);
  });

  it('dequantizes constant weights per axis and per block, int8 and packed int4', async () => {
    const perAxis = await evalOp(['%q : i8[2,3] = const [-128, -1, 0, 5, 127, 3]', '%s : f32[2] = const [0.1, 0.5]', '%z : i8[2] = const [3, -1]'], 'DequantizeLinear(%q, %s, %z) {axis=0}');
    // Row 0 from numpy float32: (q - 3) * 0.1.
    expect(Array.from(perAxis.data as Float32Array)).toEqual([-13.100000381469727, -0.4000000059604645, -0.30000001192092896, 3, 64, 2]);
    const blocked = await evalOp(['%q : i4[1,4] = const [-8, 7, 1, -1]', '%s : f32[1,2] = const [0.5, 0.25]'], 'DequantizeLinear(%q, %s) {axis=1, block_size=2}');
    expect(blocked.toNumbers()).toEqual([-4, 3.5, 0.25, -0.25]);
  });

  it('turns Constant nodes into initializers and ConstantOfShape into a filled tensor', async () => {
    const g = await fold(
      lines(
        'graph g(%x : f32[2]) {',
        '  %k = Constant() {value_floats=[1.5,2.5]}',
        '  %sh : i64[1] = const [2]',
        '  %z = ConstantOfShape(%sh) {value=tensor<f32[1]: 0.25>}',
        '  %a = Add(%x, %k)',
        '  %y = Mul(%a, %z)',
        '  return %y',
        '}',
      ),
    );
    expect(printGraph(g)).toBe(
      lines(
        'graph g(%x : f32[2]) {',
        '  %k : f32[2] = const [1.5, 2.5]',
        '  %z : f32[2] = const [0.25, 0.25]',
        '  %a : f32[2] = Add(%x, %k)',
        '  %y : f32[2] = Mul(%a, %z)',
        '  return %y',
        '}',
      ),
    );
  });

  it('refuses generators beyond max-elements but folds them within it', async () => {
    const text = lines('graph g(%x : f32[1]) {', '  %sh : i64[2] = const [64, 64]', '  %z = ConstantOfShape(%sh)', '  %y = Add(%x, %z)', '  return %y', '}');
    const sink = new MemoryReportSink();
    const limited = await runPipeline(parseGraph(text), 'fold-constants{max-elements=1000}', createPassContext({ reportSink: sink }));
    expect(limited.graph.nodes.map((n) => n.opType)).toEqual(['ConstantOfShape', 'Add']);
    expect(sink.find('too-large')[0].value).toBe(1);
    expect((await fold(text)).nodes.map((n) => n.opType)).toEqual(['Add']);
  });

  it('leaves graph outputs, unknown ops, dead nodes and overridable initializers alone', async () => {
    const input = lines(
      'graph g(%x : f32[2]) {',
      '  %a : f32[2] = const [1, 2]',
      '  %over : f32[2] = const [3, 4]',
      '  %out : f32[2] = Neg(%a)',
      '  %b : f32[2] = Add(%a, %a)',
      '  %dead : f32[2] = Add(%a, %a)',
      '  %c : f32[2] = Add(%over, %a)',
      '  %y : f32[2] = Mul(%x, %b)',
      '  %y2 : f32[2] = Mul(%y, %c)',
      '  return %y2, %out',
      '}',
    );
    const g = parseGraph(input);
    g.value('over')!.meta.initializerIsInput = true;
    const result = await runPipeline(g, 'fold-constants');
    expect(result.graph.nodes.map((n) => n.name)).toEqual(['out', 'dead', 'c', 'y', 'y2']);
    expect(constant(result.graph, 'b').toNumbers()).toEqual([2, 4]);
  });

  it('folds initializers listed as inputs of an IR 3 model (runtimes treat those as constants)', async () => {
    const ctx = createPassContext();
    const withAdd = parseGraph(lines('graph g(%x : f32[2]) {', '  %a : f32[2] = const [1, 2]', '  %b = Add(%a, %a)', '  %y = Add(%x, %b)', '  return %y', '}'));
    withAdd.value('a')!.meta.initializerIsInput = true;
    ctx.services.set(SOURCE_MODEL, createModel(withAdd, 7, 3));
    const ir3 = await runPipeline(withAdd, 'fold-constants', ctx);
    expect(ir3.graph.nodes.map((n) => n.name)).toEqual(['y']);
    // The same graph from an IR 4+ model: a is an overridable default, nothing folds.
    const ir4 = parseGraph(printGraph(withAdd));
    expect((await runPipeline(ir4, 'fold-constants')).graph.nodes.length).toBe(1);
  });

  it('reports an impossible constant computation as E_SHAPE naming the node', async () => {
    const text = lines('graph g() {', '  %a : f32[6] = const [1, 2, 3, 4, 5, 6]', '  %s : i64[1] = const [4]', '  %r = Reshape(%a, %s) @bad', '  %y = Neg(%r)', '  return %y', '}');
    await expect(fold(text)).rejects.toMatchObject({ code: 'E_SHAPE', place: { node: 'bad', pass: 'fold-constants' } });
  });

  it('is a no-op the second time', async () => {
    const once = await fold(lines('graph g(%x : f32[2,3]) {', '  %s = Shape(%x)', '  %y = Reshape(%x, %s)', '  return %y', '}'));
    const again = await runPipeline(once, 'fold-constants');
    expect(again.modified).toBe(false);
  });
});
