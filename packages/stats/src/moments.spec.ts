import { NibbleError, Tensor } from '@nibble/ir';
import { bruteStats } from '@nibble/testing';
import { MomentsCollector } from './index';
import {
  batches, channelValues, gaussian, laplace, mixture, relErr, sample, studentT3, uniform, type Sampler,
} from './testing/distributions';

const DISTRIBUTIONS: [string, Sampler][] = [
  ['uniform(-1, 3)', uniform(-1, 3)],
  ['gaussian(0.3, 2)', gaussian(0.3, 2)],
  ['laplace(-0.5, 0.7)', laplace(-0.5, 0.7)],
  ['mixture (pre-ReLU-like)', mixture],
  ['student t3 (heavy tails)', studentT3],
  ['gaussian(1000, 0.01) (|mean| >> std)', gaussian(1000, 0.01)],
];

const feed = (col: MomentsCollector, parts: Float32Array[]) => {
  for (const p of parts) col.update({ data: p, shape: [p.length] });
};

describe('MomentsCollector', () => {
  it.each(DISTRIBUTIONS)('matches a float64 brute force to 1e-9 on %s, streamed in uneven batches', (_, f) => {
    const x = sample(50_000, f, 7);
    const col = new MomentsCollector();
    feed(col, batches(x, 3_333));
    const r = col.result();
    const b = bruteStats(x);
    expect(r.channels).toBe(1);
    expect(r.count[0]).toBe(b.count);
    expect(r.min[0]).toBe(b.min);
    expect(r.max[0]).toBe(b.max);
    expect(relErr(r.mean[0], b.mean)).toBeLessThan(1e-9);
    expect(relErr(r.variance[0], b.variance)).toBeLessThan(1e-9);
    expect(relErr(r.std[0], Math.sqrt(b.variance))).toBeLessThan(1e-9);
    expect(relErr(r.populationVariance[0], (b.variance * (b.count - 1)) / b.count)).toBeLessThan(1e-9);
  });

  it('gives the same result streamed in many batches as in one', () => {
    const x = sample(40_000, laplace(2, 1), 3);
    const one = new MomentsCollector();
    feed(one, [x]);
    const many = new MomentsCollector();
    feed(many, batches(x, 1_000));
    const a = one.result();
    const b = many.result();
    expect(b.min[0]).toBe(a.min[0]);
    expect(b.max[0]).toBe(a.max[0]);
    expect(relErr(a.mean[0], b.mean[0])).toBeLessThan(1e-12);
    expect(relErr(a.variance[0], b.variance[0])).toBeLessThan(1e-12);
  });

  it('estimates a Gaussian std within 1% from 100k samples', () => {
    for (const [seed, sigma] of [[11, 1], [12, 0.02], [13, 40]]) {
      const col = new MomentsCollector();
      feed(col, batches(sample(100_000, gaussian(-1, sigma), seed), 8_192));
      expect(Math.abs(col.result().std[0] / sigma - 1)).toBeLessThan(0.01);
    }
  });

  it.each([
    ['NCHW, axis 1', [4, 6, 5, 7], 1],
    ['NHWC, axis -1', [4, 5, 7, 6], -1],
    ['axis 0', [6, 3, 10], 0],
    ['axis 2', [2, 3, 5, 4], 2],
  ])('per channel (%s) equals per tensor computed channel by channel', (_, shape, axis) => {
    const dims = shape as number[];
    const size = dims.reduce((a, b) => a * b, 1);
    const a = axis < 0 ? dims.length + axis : axis;
    const perChannel = new MomentsCollector({ axis });
    const perTensor = Array.from({ length: dims[a] }, () => new MomentsCollector());
    for (let batch = 0; batch < 3; batch++) {
      const x = sample(size, mixture, 100 + batch);
      perChannel.update(new Tensor('float32', dims, x));
      for (let c = 0; c < dims[a]; c++) perTensor[c].update({ data: channelValues(x, dims, a, c), shape: [size / dims[a]] });
    }
    const r = perChannel.result();
    expect(r.axis).toBe(axis);
    expect(r.channels).toBe(dims[a]);
    for (let c = 0; c < dims[a]; c++) {
      const t = perTensor[c].result();
      expect([r.count[c], r.min[c], r.max[c], r.mean[c], r.variance[c]]).toEqual([t.count[0], t.min[0], t.max[0], t.mean[0], t.variance[0]]);
    }
  });

  it('accepts float64 and integer tensors', () => {
    const col = new MomentsCollector();
    col.update(Tensor.from('float64', [4], [1, 2, 3, 4]));
    col.update(Tensor.from('int8', [2], [-5, 5]));
    const r = col.result();
    expect(r.count[0]).toBe(6);
    expect(r.mean[0]).toBeCloseTo(10 / 6, 14);
    expect(r.min[0]).toBe(-5);
  });

  it('reports n = 0 as NaN and n = 1 with zero variance', () => {
    const empty = new MomentsCollector({ axis: 1 });
    empty.update({ data: new Float32Array(0), shape: [0, 3] });
    expect(Number.isNaN(empty.result().mean[2])).toBe(true);
    const one = new MomentsCollector();
    one.update({ data: Float32Array.of(2.5), shape: [1] });
    expect(one.result().variance[0]).toBe(0);
  });

  it('rejects NaN and infinities, a changing channel count and a bad axis with typed errors', () => {
    const col = new MomentsCollector({ axis: 1, name: 'conv1' });
    const bad = new Float32Array(12);
    bad[7] = NaN;
    expect(() => col.update({ data: bad, shape: [2, 3, 2] })).toThrow(expect.objectContaining({ code: 'E_NUMERIC' }));
    const inf = new MomentsCollector({ name: 'conv1' });
    expect(() => inf.update({ data: Float32Array.of(1, Infinity), shape: [2] })).toThrow(/conv1/);
    const ok = new MomentsCollector({ axis: 1 });
    ok.update({ data: new Float32Array(6), shape: [2, 3] });
    expect(() => ok.update({ data: new Float32Array(8), shape: [2, 4] })).toThrow(expect.objectContaining({ code: 'E_SHAPE' }));
    const axis = new MomentsCollector({ axis: 4 });
    try {
      axis.update({ data: new Float32Array(6), shape: [2, 3] });
      throw new Error('no error');
    } catch (e) {
      expect(e).toBeInstanceOf(NibbleError);
      expect((e as NibbleError).code).toBe('E_BAD_OPTION');
      expect((e as NibbleError).place.option).toBe('axis');
    }
  });
});
