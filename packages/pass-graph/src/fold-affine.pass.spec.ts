import { parseGraph, SeededRandom } from '@nibble/ir';
import { runPipeline } from '@nibble/core';
import { maxRelError, randomFloats, runFloat64 } from '@nibble/testing';
// The package index registers its passes, as an application importing the package would.
import './index';

const rand = new SeededRandom(5);
const vals = (n: number, scale: number, offset = 0): string => Array.from({ length: n }, () => (offset + scale * (rand.uniform() * 2 - 1)).toFixed(4)).join(', ');

/** The graph's output on one random input, before and after fold-affine, and the op types left. */
async function foldAndRun(text: string): Promise<{ before: Float64Array; after: Float64Array; ops: string[] }> {
  const feed = { x: { shape: [1, 3, 6, 6], data: Float64Array.from(randomFloats(108, 9, -1, 2)) } };
  const g = parseGraph(text);
  const before = Object.values(runFloat64(g, feed))[0].data;
  await runPipeline(g, 'fold-affine');
  g.verify();
  return { before, after: Object.values(runFloat64(g, feed))[0].data, ops: g.nodes.map((n) => n.opType) };
}

describe('fold-affine', () => {
  it('folds a per-channel Mul and Add after a Conv into its weights and bias', async () => {
    const r = await foldAndRun(`graph g(%x : f32[1,3,6,6]) {
      %w : f32[4,3,3,3] = const [${vals(108, 0.5)}]
      %b : f32[4] = const [${vals(4, 0.2)}]
      %a : f32[1,4,1,1] = const [${vals(4, 0.5, 1)}]
      %s : f32[1] = const [0.3]
      %c : f32[1,4,6,6] = Conv(%x, %w, %b) {kernel_shape=[3,3], pads=[1,1,1,1]} @conv
      %m : f32[1,4,6,6] = Mul(%a, %c) @scale
      %y : f32[1,4,6,6] = Add(%m, %s) @shift
      return %y
    }`);
    expect(r.ops).toEqual(['Conv']);
    expect(maxRelError(r.after, r.before)).toBeLessThan(1e-6);
  });

  it('turns a HardSigmoid after a Conv into the Conv and Clip(0, 1), and spells hard-swish x * HardSigmoid(x)', async () => {
    const r = await foldAndRun(`graph g(%x : f32[1,3,6,6]) {
      %w : f32[4,3,3,3] = const [${vals(108, 0.8)}]
      %b : f32[4] = const [${vals(4, 0.5)}]
      %w2 : f32[4,4,1,1] = const [${vals(16, 0.8)}]
      %three : f32[] = const [3]
      %zero : f32[] = const [0]
      %six : f32[] = const [6]
      %c : f32[1,4,6,6] = Conv(%x, %w, %b) {kernel_shape=[3,3], pads=[1,1,1,1]} @conv
      %p : f32[1,4,6,6] = Add(%c, %three) @plus3
      %k : f32[1,4,6,6] = Clip(%p, %zero, %six) @relu6
      %m : f32[1,4,6,6] = Mul(%c, %k) @times
      %h : f32[1,4,6,6] = Div(%m, %six) @hard_swish
      %g : f32[1,4,6,6] = Conv(%h, %w2) {kernel_shape=[1,1]} @gate_conv
      %s : f32[1,4,6,6] = HardSigmoid(%g) {alpha=0.2, beta=0.5} @gate
      %y : f32[1,4,6,6] = Mul(%h, %s) @excite
      return %y
    }`);
    expect(r.ops.filter((o) => o === 'HardSigmoid')).toHaveLength(1);
    expect(r.ops).toContain('Clip');
    expect(r.ops).not.toContain('Div');
    expect(maxRelError(r.after, r.before)).toBeLessThan(1e-6);
  });

  it('folds a * x + b into the unpadded 1x1 Conv that alone reads it, not into a padded one', async () => {
    const r = await foldAndRun(`graph g(%x : f32[1,3,6,6]) {
      %a : f32[1,3,1,1] = const [${vals(3, 0.5, 1)}]
      %b : f32[1,3,1,1] = const [${vals(3, 0.5)}]
      %w : f32[4,3,1,1] = const [${vals(12, 0.8)}]
      %wd : f32[4,1,3,3] = const [${vals(36, 0.8)}]
      %a2 : f32[1,4,1,1] = const [${vals(4, 0.5, 1)}]
      %b2 : f32[1,4,1,1] = const [${vals(4, 0.5)}]
      %r : f32[1,3,6,6] = Relu(%x) @relu
      %m : f32[1,3,6,6] = Mul(%r, %a) @scale
      %t : f32[1,3,6,6] = Add(%m, %b) @shift
      %c : f32[1,4,6,6] = Conv(%t, %w) {kernel_shape=[1,1]} @pointwise
      %q : f32[1,4,6,6] = Relu(%c) @relu2
      %m2 : f32[1,4,6,6] = Mul(%q, %a2) @scale2
      %t2 : f32[1,4,6,6] = Add(%m2, %b2) @shift2
      %y : f32[1,4,6,6] = Conv(%t2, %wd) {kernel_shape=[3,3], pads=[1,1,1,1], group=4} @depthwise
      return %y
    }`);
    // The first pair folds into the pointwise conv; the second stays (zero padding would meet b2).
    expect(r.ops).toEqual(['Relu', 'Conv', 'Relu', 'Mul', 'Add', 'Conv']);
    expect(maxRelError(r.after, r.before)).toBeLessThan(1e-6);
  });
});
