// Elementwise kernels on float64 values.

export function addReal(a: usize, b: usize, out: usize, n: i32): void {
  let i = 0;
  for (; i + 2 <= n; i += 2) {
    const o = <usize>i << 3;
    v128.store(out + o, f64x2.add(v128.load(a + o), v128.load(b + o)));
  }
  for (; i < n; i++) {
    const o = <usize>i << 3;
    store<f64>(out + o, load<f64>(a + o) + load<f64>(b + o));
  }
}

// max(lo, min(hi, x)): Relu (lo = 0, hi = +inf) and Clip.
export function clipReal(x: usize, out: usize, n: i32, lo: f64, hi: f64): void {
  const l = f64x2.splat(lo);
  const h = f64x2.splat(hi);
  let i = 0;
  for (; i + 2 <= n; i += 2) {
    const o = <usize>i << 3;
    v128.store(out + o, f64x2.pmin(h, f64x2.pmax(l, v128.load(x + o))));
  }
  for (; i < n; i++) {
    const o = <usize>i << 3;
    store<f64>(out + o, min(hi, max(lo, load<f64>(x + o))));
  }
}
