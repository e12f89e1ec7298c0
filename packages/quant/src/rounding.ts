/**
 * Round to nearest, ties to even: what IEEE's default rounding mode, C's
 * nearbyint and numpy's rint do, and what ONNX QuantizeLinear and the
 * reference PyTorch code (torch.round) use. Math.round would send every
 * tie upwards and bias the grid.
 */
export function roundHalfEven(x: number): number {
  const r = Math.round(x);
  // Math.round(k + 0.5) = k + 1; keep it only when k + 1 is even.
  return r - x === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/** The float32 value nearest to x, as a number. */
export const toFloat32 = Math.fround;

const F32_BUF = new Float32Array(1);
const U32_BUF = new Uint32Array(F32_BUF.buffer);

/**
 * The float32 neighbour of a finite float32 value `x` in direction `dir`
 * (+1 up, -1 down). Used to search for a scale that makes a value exact.
 */
export function nextFloat32(x: number, dir: 1 | -1): number {
  F32_BUF[0] = x;
  if (x === 0) return dir * 1.401298464324817e-45;
  const up = (x > 0) === (dir > 0);
  U32_BUF[0] += up ? 1 : -1;
  return F32_BUF[0];
}
