import { SeededRandom } from '@nibble/ir';
import { type Geometry, outExtent } from '@nibble/quant';
import { InputMoments } from './input-moments';

/*
 * Independent of how the moments are laid out: for any weight w of a layer,
 * sum over its outputs of y^2 = sum over rows of w_r^T H_g w_r. The outputs
 * come from a direct convolution written from ONNX's definition.
 */
function convOutputEnergy(x: Float64Array, [N, C, H, W]: number[], w: Float64Array, O: number, g: Geometry): number {
  const Cg = C / g.group;
  const OH = outExtent(H, g.kh, g.sh, g.dh, g.pt, g.pb);
  const OW = outExtent(W, g.kw, g.sw, g.dw, g.pl, g.pr);
  let energy = 0;
  for (let n = 0; n < N; n++) {
    for (let o = 0; o < O; o++) {
      const grp = Math.floor(o / (O / g.group));
      for (let oy = 0; oy < OH; oy++) {
        for (let ox = 0; ox < OW; ox++) {
          let y = 0;
          for (let c = 0; c < Cg; c++) {
            for (let ky = 0; ky < g.kh; ky++) {
              for (let kx = 0; kx < g.kw; kx++) {
                const iy = oy * g.sh - g.pt + ky * g.dh;
                const ix = ox * g.sw - g.pl + kx * g.dw;
                if (iy < 0 || iy >= H || ix < 0 || ix >= W) continue;
                y += w[((o * Cg + c) * g.kh + ky) * g.kw + kx] * x[((n * C + grp * Cg + c) * H + iy) * W + ix];
              }
            }
          }
          energy += y * y;
        }
      }
    }
  }
  return energy;
}

function quadraticForms(m: InputMoments, w: Float64Array, O: number): number {
  const K = m.K;
  const perGroup = O / m.groups;
  let total = 0;
  for (let o = 0; o < O; o++) {
    const h = m.matrix(Math.floor(o / perGroup));
    for (let i = 0; i < K; i++) for (let j = 0; j < K; j++) total += w[o * K + i] * h[i * K + j] * w[o * K + j];
  }
  return total;
}

describe('InputMoments', () => {
  const cases: [string, number[], number, Geometry][] = [
    ['3x3, pads 1', [2, 3, 5, 6], 4, { group: 1, kh: 3, kw: 3, sh: 1, sw: 1, dh: 1, dw: 1, pt: 1, pl: 1, pb: 1, pr: 1 }],
    ['groups 2, 3x2 kernel, strides 2x1, dilations 1x2, uneven pads', [2, 4, 7, 6], 6, { group: 2, kh: 3, kw: 2, sh: 2, sw: 1, dh: 1, dw: 2, pt: 1, pl: 0, pb: 2, pr: 1 }],
    ['depthwise 3x3 stride 2', [3, 5, 6, 6], 5, { group: 5, kh: 3, kw: 3, sh: 2, sw: 2, dh: 1, dw: 1, pt: 1, pl: 1, pb: 1, pr: 1 }],
    ['pointwise', [2, 6, 4, 3], 3, { group: 1, kh: 1, kw: 1, sh: 1, sw: 1, dh: 1, dw: 1, pt: 0, pl: 0, pb: 0, pr: 0 }],
  ];
  it.each(cases)('of a Conv (%s): every weight\'s output energy equals its quadratic form in H', (_, shape, O, g) => {
    const r = new SeededRandom(shape.reduce((a, b) => a * 7 + b, 0));
    // ReLU-like input (half zeros), added in two batches.
    const x = r.fill(shape.reduce((a, b) => a * b), (q) => Math.max(0, q.normal()));
    const m = InputMoments.forConv(shape[1], g);
    const half = x.length / shape[0];
    m.add(x.subarray(0, half), [1, ...shape.slice(1)], 'x');
    m.add(x.subarray(half), [shape[0] - 1, ...shape.slice(1)], 'x');
    expect(m.vectors).toBe(shape[0] * outExtent(shape[2], g.kh, g.sh, g.dh, g.pt, g.pb) * outExtent(shape[3], g.kw, g.sw, g.dw, g.pl, g.pr));
    for (let trial = 0; trial < 3; trial++) {
      const w = r.fill(O * m.K, (q) => q.normal());
      const want = convOutputEnergy(x, shape, w, O, g);
      expect(Math.abs(quadraticForms(m, w, O) - want)).toBeLessThan(1e-9 * want);
    }
  });

  it('of rows (Gemm, MatMul): H = sum of each row\'s outer product over every leading axis', () => {
    const r = new SeededRandom(3);
    const K = 5;
    const x = r.fill(2 * 3 * K, (q) => (q.uniform() < 0.3 ? 0 : q.normal()));
    const m = InputMoments.forRows(K);
    m.add(x, [2, 3, K], 'x');
    const h = m.matrix(0);
    for (let i = 0; i < K; i++) {
      for (let j = 0; j < K; j++) {
        let s = 0;
        for (let row = 0; row < 6; row++) s += x[row * K + i] * x[row * K + j];
        expect(h[i * K + j]).toBeCloseTo(s, 12);
      }
    }
    expect(m.vectors).toBe(6);
    // C is not symmetric: x's index first.
    const f = Float64Array.from(x, (v, i) => v * 2 + (i % K === 0 ? 1 : 0));
    const mc = InputMoments.forRows(K);
    mc.add(x, [6, K], 'x', f);
    for (let i = 0; i < K; i++) {
      for (let j = 0; j < K; j++) {
        let s = 0;
        for (let row = 0; row < 6; row++) s += x[row * K + i] * f[row * K + j];
        expect(mc.crossMatrix(0)![i * K + j]).toBeCloseTo(s, 12);
      }
    }
    // stride 4 over two batches of 3 rows: rows 0 and 4 of the six.
    const sub = InputMoments.forRows(K);
    sub.stride = 4;
    sub.add(x.subarray(0, 3 * K), [3, K], 'x');
    sub.add(x.subarray(3 * K), [3, K], 'x');
    expect(sub.vectors).toBe(2);
    expect(sub.vectorsIn([2, 3, K])).toBe(6);
    for (let i = 0; i < K; i++) for (let j = 0; j < K; j++) expect(sub.matrix(0)[i * K + j]).toBeCloseTo(x[i] * x[j] + x[4 * K + i] * x[4 * K + j], 12);
    expect(() => m.add(x, [5, 6], 'feat')).toThrow(/feat: input of shape \[5,6\] has no last axis of 5 features/);
  });

  it('beside float inputs f: C = sum x f^T and F = sum f f^T (a Conv: sum of y_x y_f over the outputs = sum_r w_r^T C w_r)', () => {
    const g: Geometry = { group: 2, kh: 3, kw: 3, sh: 2, sw: 1, dh: 1, dw: 1, pt: 1, pl: 1, pb: 1, pr: 1 };
    const shape = [2, 4, 6, 5];
    const O = 4;
    const r = new SeededRandom(8);
    const f = r.fill(shape.reduce((a, b) => a * b), (q) => Math.max(0, q.normal()));
    const x = Float64Array.from(f, (v) => (v > 0 ? v + 0.1 * r.normal() : 0));
    const m = InputMoments.forConv(4, g);
    m.add(x, shape, 'x', f);
    const w = r.fill(O * m.K, (q) => q.normal());
    // y_x . y_f = ((y_x + y_f)^2 - y_x^2 - y_f^2) / 2, each from the direct convolution.
    const sum = Float64Array.from(x, (v, i) => v + f[i]);
    const want = (convOutputEnergy(sum, shape, w, O, g) - convOutputEnergy(x, shape, w, O, g) - convOutputEnergy(f, shape, w, O, g)) / 2;
    let got = 0;
    let gotF = 0;
    for (let o = 0; o < O; o++) {
      const c = m.crossMatrix(Math.floor(o / 2))!;
      const F = m.floatMatrix(Math.floor(o / 2))!;
      for (let i = 0; i < m.K; i++) {
        for (let j = 0; j < m.K; j++) {
          got += w[o * m.K + i] * c[i * m.K + j] * w[o * m.K + j];
          gotF += w[o * m.K + i] * F[i * m.K + j] * w[o * m.K + j];
        }
      }
    }
    expect(Math.abs(got - want)).toBeLessThan(1e-9 * Math.abs(want));
    expect(gotF).toBeCloseTo(convOutputEnergy(f, shape, w, O, g), 6);
    // Without float inputs there is no C.
    const plain = InputMoments.forConv(4, g);
    plain.add(x, shape, 'x');
    expect(plain.crossMatrix(0)).toBeUndefined();
  });

  it('refuses a Conv input with other channels than it was made for, naming the value', () => {
    const m = InputMoments.forConv(4, { group: 2, kh: 1, kw: 1, sh: 1, sw: 1, dh: 1, dw: 1, pt: 0, pl: 0, pb: 0, pr: 0 });
    expect(() => m.add(new Float64Array(2 * 3 * 4), [1, 3, 2, 4], 'act')).toThrow(/act: input of shape \[1,3,2,4\] is not \[N, 4, H, W\]/);
  });
});
