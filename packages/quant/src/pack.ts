import { DType, NibbleError, Shape, Tensor, integerRange } from '@nibble/ir';
import { AffineParams, channelLevelRange, checkParams } from './params';

const CONTAINERS: Record<'signed' | 'unsigned', [number, DType][]> = {
  signed: [[4, 'int4'], [8, 'int8'], [16, 'int16']],
  unsigned: [[4, 'uint4'], [8, 'uint8'], [16, 'uint16']],
};

const CONTAINER_BITS: Partial<Record<DType, number>> = { int4: 4, uint4: 4, int8: 8, uint8: 8, int16: 16, uint16: 16 };

/** The narrowest integer dtype of p's view that holds every channel: (u)int4, (u)int8 or (u)int16. */
export function containerDType(p: AffineParams): DType {
  let bits = 0;
  for (let c = 0; c < p.bits.length; c++) bits = Math.max(bits, p.bits[c]);
  return CONTAINERS[p.signed ? 'signed' : 'unsigned'].find(([b]) => bits <= b)![1];
}

function checkContainer(p: AffineParams, dtype: DType, where: string): [number, number] {
  const width = CONTAINER_BITS[dtype];
  const signed = dtype.startsWith('int');
  if (width === undefined || signed !== p.signed) {
    throw new NibbleError('E_BAD_OPTION', `${where}: ${dtype} cannot hold ${p.signed ? 'signed' : 'unsigned'} levels`, {
      option: 'container',
      value: where,
      hint: p.signed ? 'use int4, int8 or int16' : 'use uint4, uint8 or uint16 (or the signed view)',
    });
  }
  const [lo, hi] = integerRange(dtype);
  for (let c = 0; c < p.bits.length; c++) {
    const [qmin, qmax] = channelLevelRange(p, c);
    const zp = p.zeroPoint[c];
    if (qmin < lo || qmax > hi || zp < lo || zp > hi) {
      throw new NibbleError('E_BAD_OPTION', `${where}: channel ${c} (${p.bits[c]} bits, zero point ${zp}) does not fit ${dtype}`, {
        option: 'container',
        value: where,
        hint: `use a container of at least ${p.bits[c]} bits`,
      });
    }
  }
  return [lo, hi];
}

/**
 * Integer levels as an IR tensor of the container dtype (int4/uint4 packed
 * two per byte by @nibble/ir). Every level must lie in the container.
 */
export function toIntegerTensor(q: ArrayLike<number>, shape: Shape, p: AffineParams, dtype: DType = containerDType(p), name = 'tensor'): Tensor {
  checkParams(p, name);
  const [lo, hi] = checkContainer(p, dtype, name);
  for (let i = 0; i < q.length; i++) {
    if (!(q[i] >= lo && q[i] <= hi) || !Number.isInteger(q[i])) {
      throw new NibbleError('E_NUMERIC', `${name}: level ${q[i]} at element ${i} does not fit ${dtype}`, { value: name });
    }
  }
  return Tensor.from(dtype, shape, q);
}

/** The zero points as a tensor of the container dtype: shape [C] per channel, [] per tensor (as ONNX wants). */
export function zeroPointTensor(p: AffineParams, dtype: DType = containerDType(p), name = 'tensor'): Tensor {
  checkParams(p, name);
  checkContainer(p, dtype, name);
  return Tensor.from(dtype, p.axis === null ? [] : [p.zeroPoint.length], p.zeroPoint);
}

/** The scales as a float32 tensor: shape [C] per channel, [] per tensor. Exact, since scales are float32 values. */
export function scaleTensor(p: AffineParams, name = 'tensor'): Tensor {
  checkParams(p, name);
  return Tensor.from('float32', p.axis === null ? [] : [p.scale.length], p.scale);
}
