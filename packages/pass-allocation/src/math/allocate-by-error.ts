import { NibbleError } from '@nibble/ir';

/**
 * Bit allocation on measured error curves: channel c at width widths[k]
 * has error errors[c][k] (measured on its values at the best clip range
 * for that width, see clip-least-error{curves=true}). Minimises the summed
 * error with the summed width exactly floor(budget * C), each channel
 * within [minBits, maxBits] and the curve's widths.
 *
 * Greedy marginal allocation: every channel starts at its smallest allowed
 * width, then one bit at a time goes to the channel whose error falls most
 * for it. Optimal when every curve is convex in the width (the error falls
 * by less with each further bit, as rounding noise's 4^-M does); a measured
 * curve can bend the other way where a clip search jumps, so each curve is
 * first replaced by the lower convex hull of its steps, which the greedy
 * walks exactly (a hull segment of several bits is taken whole when its
 * slope is the best; the remainder at the budget's end is filled from the
 * next best steps).
 */
export interface ErrorCurveSet {
  widths: readonly number[];
  /** errors[c][k]: channel c's error at widths[k]. */
  errors: readonly (readonly number[])[];
}

export interface ErrorAllocationOptions {
  budget: number;
  minBits?: number;
  maxBits?: number;
  name?: string;
}

export interface ErrorAllocation {
  bits: Int32Array;
  meanBits: number;
  /** Sum over channels of the error at the allocated width. */
  error: number;
}

function fail(name: string, msg: string, hint: string): NibbleError {
  return new NibbleError('E_BUDGET', `alloc-bits: '${name}': ${msg}`, { value: name, option: 'budget', hint });
}

/** The total error of an allocation on the curves (a width outside the curve is refused). */
export function curveError(curves: ErrorCurveSet, bits: ArrayLike<number>): number {
  let sum = 0;
  for (let c = 0; c < curves.errors.length; c++) {
    const k = curves.widths.indexOf(bits[c]);
    if (k < 0) throw new NibbleError('E_BAD_OPTION', `channel ${c}: width ${bits[c]} is not on its error curve (${curves.widths.join(', ')})`, {});
    sum += curves.errors[c][k];
  }
  return sum;
}

export function allocateByError(curves: ErrorCurveSet, opts: ErrorAllocationOptions): ErrorAllocation {
  const name = opts.name ?? 'tensor';
  const C = curves.errors.length;
  const ks = curves.widths
    .map((w, k) => ({ w, k }))
    .filter(({ w }) => w >= (opts.minBits ?? 0) && w <= (opts.maxBits ?? 8))
    .sort((a, b) => a.w - b.w);
  if (ks.length === 0) throw fail(name, `no width of its error curves (${curves.widths.join(', ')}) lies in [${opts.minBits ?? 0}, ${opts.maxBits ?? 8}]`, 'widen min-bits/max-bits or the curves');
  const lowW = ks[0].w;
  const highW = ks[ks.length - 1].w;
  const total = Math.floor(opts.budget * C + 1e-9);
  if (total < lowW * C || total > highW * C) {
    throw fail(name, `a budget of ${opts.budget} bits is outside what its curves allow (${lowW} to ${highW})`, 'record curves around the budget (clip-least-error{curves=true} spans two bits either side of the marked width)');
  }
  // Each channel's steps along the lower convex hull of (width, error): [bits, gain] per step.
  const hulls: { w: number; e: number }[][] = [];
  for (let c = 0; c < C; c++) {
    const pts = ks.map(({ w, k }) => ({ w, e: curves.errors[c][k] }));
    const hull: { w: number; e: number }[] = [];
    for (const p of pts) {
      while (hull.length >= 2) {
        const a = hull[hull.length - 2];
        const b = hull[hull.length - 1];
        // b lies on or above the segment a-p: drop it.
        if ((b.e - a.e) * (p.w - a.w) >= (p.e - a.e) * (b.w - a.w)) hull.pop();
        else break;
      }
      hull.push(p);
    }
    hulls.push(hull);
  }
  const bits = new Int32Array(C).fill(lowW);
  const at = new Int32Array(C); // index into the channel's hull
  let spent = lowW * C;
  // Greedy on the hull segments' slopes (error per bit), best first.
  while (spent < total) {
    let best = -1;
    let bestSlope = -Infinity;
    for (let c = 0; c < C; c++) {
      const h = hulls[c];
      const i = at[c];
      if (i + 1 >= h.length) continue;
      const slope = (h[i].e - h[i + 1].e) / (h[i + 1].w - h[i].w);
      if (slope > bestSlope) { bestSlope = slope; best = c; }
    }
    if (best < 0) break;
    const h = hulls[best];
    const step = h[at[best] + 1].w - h[at[best]].w;
    if (spent + step <= total) {
      at[best]++;
      bits[best] = h[at[best]].w;
      spent += step;
    } else {
      // The segment does not fit whole: take what is left of the budget along it (a curve point).
      const left = total - spent;
      bits[best] += left;
      spent += left;
    }
  }
  return { bits, meanBits: spent / C, error: curveError(curves, bits) };
}
