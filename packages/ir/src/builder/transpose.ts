import { NibbleError } from '../errors';
import { Tensor } from '../tensor';

/**
 * Transposed copy of a constant tensor: output axis i is input axis perm[i].
 * Any dtype whose storage holds one element per slot; packed int4/uint4 is
 * refused (unpack it first).
 */
export function transposeTensor(t: Tensor, perm: readonly number[]): Tensor {
  if (t.dtype === 'int4' || t.dtype === 'uint4') {
    throw new NibbleError('E_INTERNAL', `transposeTensor: ${t.dtype} storage is packed two to a byte`, { hint: 'unpack the tensor before transposing it' });
  }
  const rank = t.shape.length;
  const outShape = perm.map((p) => t.shape[p]);
  const inStrides = new Array<number>(rank).fill(1);
  for (let i = rank - 2; i >= 0; i--) inStrides[i] = inStrides[i + 1] * t.shape[i + 1];
  // Source stride of each output axis; walk the output in order and step the source index.
  const step = perm.map((p) => inStrides[p]);
  const out = new Tensor(t.dtype, outShape);
  const src = t.data as Float32Array;
  const dst = out.data as Float32Array;
  const idx = new Array<number>(rank).fill(0);
  const last = rank - 1;
  const inner = rank ? outShape[last] : 1;
  const innerStep = rank ? step[last] : 0;
  let s = 0;
  for (let o = 0; o < t.size; o += inner) {
    for (let k = 0, q = s; k < inner; k++, q += innerStep) dst[o + k] = src[q];
    for (let i = last - 1; i >= 0; i--) {
      s += step[i];
      if (++idx[i] < outShape[i]) break;
      s -= step[i] * outShape[i];
      idx[i] = 0;
    }
  }
  return out;
}
