import type { Node } from '@nibble/ir';
import { shapeError, strides } from './tensor-util';

/** The numpy (multidirectional) broadcast of the shapes; E_SHAPE naming the node when they do not fit. */
export function broadcastShape(node: Node, shapes: readonly (readonly number[])[]): number[] {
  const rank = Math.max(...shapes.map((s) => s.length));
  const out = new Array<number>(rank).fill(1);
  for (const s of shapes) {
    for (let i = 0; i < s.length; i++) {
      const a = rank - s.length + i;
      const d = s[i];
      if (d === out[a] || d === 1) continue;
      if (out[a] !== 1) throw shapeError(node, `cannot broadcast ${shapes.map((x) => `[${x.join(',')}]`).join(' with ')}`);
      out[a] = d;
    }
  }
  return out;
}

/** For an input of `inShape` broadcast to `outShape`: the input element read by output element i. */
export function broadcastIndex(inShape: readonly number[], outShape: readonly number[]): (i: number) => number {
  const size = inShape.reduce((a, b) => a * b, 1);
  if (size === outShape.reduce((a, b) => a * b, 1)) return (i) => i;
  if (size === 1) return () => 0;
  const offset = outShape.length - inShape.length;
  const outStrides = strides(outShape);
  const inStrides = strides(inShape);
  // A broadcast axis (extent 1 in the input) contributes nothing to the input index.
  const step = outShape.map((_, a) => (a < offset || inShape[a - offset] === 1 ? 0 : inStrides[a - offset]));
  return (i) => {
    let rest = i;
    let src = 0;
    for (let a = 0; a < outShape.length; a++) {
      const c = Math.floor(rest / outStrides[a]);
      rest -= c * outStrides[a];
      src += c * step[a];
    }
    return src;
  };
}
