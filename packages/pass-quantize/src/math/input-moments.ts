import { NibbleError } from '@nibble/ir';
import { type Geometry, outExtent } from '@nibble/quant';

/*
 * The second moments H = sum x x^T of the vectors a layer's weights multiply
 * (and, given the float model's vectors f beside them, C = sum x f^T and
 * F = sum f f^T):
 * for a Conv, each output position's receptive field over one group's input
 * channels (im2col's columns, zero where the window covers padding), laid
 * out as the weight's [C/group, KH, KW]; for a Gemm or MatMul, each row of
 * the input's last axis. One K x K matrix per group. Only the lower triangle
 * is summed (over the nonzero entries of each vector: ReLU inputs are half
 * zeros), and mirrored when read.
 */
export class InputMoments {
  /** Vectors summed into each group's H. */
  vectors = 0;
  /** Sum only every stride-th vector (counted over all batches): bounds the work on large layers. */
  stride = 1;
  /** Vectors offered so far, summed or not. */
  private offered = 0;
  private readonly lower: Float64Array[];
  private readonly index: Int32Array;
  private readonly value: Float64Array;
  private readonly floatIndex: Int32Array;
  private readonly floatValue: Float64Array;
  /** C = sum x f^T (full) and the lower triangle of F = sum f f^T, per group, once a float input was given. */
  private cross?: Float64Array[];
  private floatLower?: Float64Array[];

  private constructor(readonly K: number, readonly groups: number, private readonly conv?: Geometry & { Cg: number }) {
    this.lower = Array.from({ length: groups }, () => new Float64Array(K * K));
    this.index = new Int32Array(K);
    this.value = new Float64Array(K);
    this.floatIndex = new Int32Array(K);
    this.floatValue = new Float64Array(K);
  }

  /** Moments of a Conv's input windows: K = (C / group) * KH * KW per group. */
  static forConv(channels: number, geometry: Geometry): InputMoments {
    const Cg = channels / geometry.group;
    if (!Number.isInteger(Cg)) throw new NibbleError('E_SHAPE', `input moments: ${channels} channels do not split into ${geometry.group} groups`, {});
    return new InputMoments(Cg * geometry.kh * geometry.kw, geometry.group, { ...geometry, Cg });
  }

  /** The vectors a batch of this shape offers (output positions x samples, or rows). */
  vectorsIn(shape: readonly number[]): number {
    const g = this.conv;
    if (!g) return shape.reduce((a, b) => a * b, 1) / this.K;
    return shape[0] * outExtent(shape[2], g.kh, g.sh, g.dh, g.pt, g.pb) * outExtent(shape[3], g.kw, g.sw, g.dw, g.pl, g.pr);
  }

  /** Moments of rows of K features (Gemm, MatMul). */
  static forRows(K: number): InputMoments {
    return new InputMoments(K, 1);
  }

  /**
   * Adds a batch: [N, C, H, W] for a Conv, [..., K] for rows; with `float`,
   * the same samples through the float model (same shape), for C and F.
   */
  add(x: Float32Array | Float64Array, shape: readonly number[], where: string, float?: Float32Array | Float64Array): void {
    if (float && float.length !== x.length) throw new NibbleError('E_SHAPE', `${where}: float input of ${float.length} values beside ${x.length}`, { value: where });
    if (float && !this.cross) {
      this.cross = Array.from({ length: this.groups }, () => new Float64Array(this.K * this.K));
      this.floatLower = Array.from({ length: this.groups }, () => new Float64Array(this.K * this.K));
    }
    if (this.conv) this.addConv(x, shape, where, float);
    else this.addRows(x, shape, where, float);
  }

  /** C = sum x f^T of group g (row-major, x's index first), when float inputs were given. */
  crossMatrix(g: number): Float64Array | undefined {
    return this.cross?.[g];
  }

  /** F = sum f f^T of group g, when float inputs were given. */
  floatMatrix(g: number): Float64Array | undefined {
    return this.floatLower ? mirror(this.floatLower[g], this.K) : undefined;
  }

  /** The full symmetric H of group g (a copy). */
  matrix(g: number): Float64Array {
    return mirror(this.lower[g], this.K);
  }

  /**
   * Sums the outer product of the m nonzero entries gathered in index/value
   * (ascending indices) into H, and with the mf float entries, into C and F.
   */
  private accumulate(g: number, m: number, mf: number): void {
    const K = this.K;
    const idx = this.index;
    const val = this.value;
    const h = this.lower[g];
    for (let a = 0; a < m; a++) {
      const row = idx[a] * K;
      const va = val[a];
      for (let b = 0; b <= a; b++) h[row + idx[b]] += va * val[b];
    }
    if (!this.cross) return;
    const fi = this.floatIndex;
    const fv = this.floatValue;
    const c = this.cross[g];
    const f = this.floatLower![g];
    for (let a = 0; a < m; a++) {
      const row = idx[a] * K;
      const va = val[a];
      for (let b = 0; b < mf; b++) c[row + fi[b]] += va * fv[b];
    }
    for (let a = 0; a < mf; a++) {
      const row = fi[a] * K;
      const va = fv[a];
      for (let b = 0; b <= a; b++) f[row + fi[b]] += va * fv[b];
    }
  }

  private addRows(x: Float32Array | Float64Array, shape: readonly number[], where: string, float?: Float32Array | Float64Array): void {
    const K = this.K;
    if (shape[shape.length - 1] !== K || x.length % K !== 0) {
      throw new NibbleError('E_SHAPE', `${where}: input of shape [${shape.join(',')}] has no last axis of ${K} features`, { value: where });
    }
    const rows = x.length / K;
    for (let r = 0; r < rows; r++) {
      if ((this.offered + r) % this.stride !== 0) continue;
      this.vectors++;
      let m = 0;
      let mf = 0;
      for (let k = 0; k < K; k++) {
        const v = x[r * K + k];
        if (v !== 0) {
          this.index[m] = k;
          this.value[m++] = v;
        }
        const u = float ? float[r * K + k] : 0;
        if (u !== 0) {
          this.floatIndex[mf] = k;
          this.floatValue[mf++] = u;
        }
      }
      this.accumulate(0, m, mf);
    }
    this.offered += rows;
  }

  private addConv(x: Float32Array | Float64Array, shape: readonly number[], where: string, float?: Float32Array | Float64Array): void {
    const g = this.conv!;
    if (shape.length !== 4 || shape[1] !== g.Cg * g.group) {
      throw new NibbleError('E_SHAPE', `${where}: input of shape [${shape.join(',')}] is not [N, ${g.Cg * g.group}, H, W]`, { value: where });
    }
    const [N, C, H, W] = shape;
    const OH = outExtent(H, g.kh, g.sh, g.dh, g.pt, g.pb);
    const OW = outExtent(W, g.kw, g.sw, g.dw, g.pl, g.pr);
    const plane = H * W;
    for (let n = 0; n < N; n++) {
      for (let grp = 0; grp < g.group; grp++) {
        const base = (n * C + grp * g.Cg) * plane;
        for (let oy = 0; oy < OH; oy++) {
          for (let ox = 0; ox < OW; ox++) {
            if ((this.offered + (n * OH + oy) * OW + ox) % this.stride !== 0) continue;
            if (grp === 0) this.vectors++;
            let m = 0;
            let mf = 0;
            let k = 0;
            for (let c = 0; c < g.Cg; c++) {
              const cb = base + c * plane;
              for (let ky = 0; ky < g.kh; ky++) {
                const iy = oy * g.sh - g.pt + ky * g.dh;
                const inRow = iy >= 0 && iy < H;
                for (let kx = 0; kx < g.kw; kx++, k++) {
                  const ix = ox * g.sw - g.pl + kx * g.dw;
                  if (!inRow || ix < 0 || ix >= W) continue;
                  const v = x[cb + iy * W + ix];
                  if (v !== 0) {
                    this.index[m] = k;
                    this.value[m++] = v;
                  }
                  const u = float ? float[cb + iy * W + ix] : 0;
                  if (u !== 0) {
                    this.floatIndex[mf] = k;
                    this.floatValue[mf++] = u;
                  }
                }
              }
            }
            this.accumulate(grp, m, mf);
          }
        }
      }
    }
    this.offered += N * OH * OW;
  }
}

/** The symmetric matrix whose lower triangle is `l`. */
function mirror(l: Float64Array, K: number): Float64Array {
  const h = new Float64Array(K * K);
  for (let i = 0; i < K; i++) {
    for (let j = 0; j <= i; j++) {
      h[i * K + j] = l[i * K + j];
      h[j * K + i] = l[i * K + j];
    }
  }
  return h;
}
