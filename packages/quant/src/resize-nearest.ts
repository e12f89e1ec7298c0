import { constantTensor, type Node } from '@nibble/ir';
import type { Fail } from './qdq-ops';

/*
 * Resize, mode nearest (PP-OCR's FPN upsampling), as both integer backends
 * read it: a gather of rows and columns. The source index of each output row
 * and column is computed here with onnxruntime's coordinate rules in float32.
 */

type Rule = (x: number, scale: number, inSize: number, outSize: number) => number;

const COORDINATES: Record<string, Rule> = {
  asymmetric: (x, s) => Math.fround(x / s),
  half_pixel: (x, s) => Math.fround(Math.fround(Math.fround(x + 0.5) / s) - 0.5),
  pytorch_half_pixel: (x, s, _i, o) => (o > 1 ? Math.fround(Math.fround(Math.fround(x + 0.5) / s) - 0.5) : 0),
  tf_half_pixel_for_nn: (x, s) => Math.fround(Math.fround(x + 0.5) / s),
  align_corners: (x, _s, i, o) => (o === 1 ? 0 : Math.fround(Math.fround(x * (i - 1)) / (o - 1))),
};

const ROUNDING: Record<string, (v: number) => number> = {
  floor: Math.floor,
  ceil: Math.ceil,
  round_prefer_floor: (v) => (v === Math.floor(v) + 0.5 ? Math.floor(v) : Math.round(v)),
  round_prefer_ceil: (v) => Math.round(v),
};

/** A nearest Resize of [C, H, W]: the output extent and the source row of each output row, the source column of each output column. */
export function nearestResize(node: Node, shape: readonly number[], fail: Fail): { OH: number; OW: number; rows: Int32Array; cols: Int32Array } {
  const interpolation = node.getString('mode', 'nearest');
  if (interpolation !== 'nearest') return fail(`mode '${interpolation}' is not supported (nearest only)`);
  const ctm = node.getString('coordinate_transformation_mode', 'half_pixel');
  const coordinate = COORDINATES[ctm];
  const rounding = ROUNDING[node.getString('nearest_mode', 'round_prefer_floor')];
  if (!coordinate || !rounding) return fail(`coordinate_transformation_mode '${ctm}' or nearest_mode '${node.getString('nearest_mode', '')}' is not supported`);
  if (node.getInt('exclude_outside', 0) !== 0 || node.getInts('axes', []).length) return fail('exclude_outside and axes are not supported');
  const [C, H, W] = shape;
  const scalesT = node.inputs[2] ? constantTensor(node.inputs[2]) : undefined;
  const sizesT = node.inputs[3] ? constantTensor(node.inputs[3]) : undefined;
  if ((node.inputs[2] && !scalesT) || (node.inputs[3] && !sizesT)) return fail('scales and sizes must be constants');
  let sh: number, sw: number, OH: number, OW: number;
  if (sizesT && sizesT.size === 4) {
    const s = sizesT.toFloat64();
    if (s[0] !== 1 || s[1] !== C) return fail('only the spatial axes may be resized');
    [OH, OW] = [s[2], s[3]];
    [sh, sw] = [Math.fround(OH / H), Math.fround(OW / W)];
  } else if (scalesT && scalesT.size === 4) {
    const s = Array.from(scalesT.toFloat64(), (v) => Math.fround(v));
    if (s[0] !== 1 || s[1] !== 1) return fail('only the spatial axes may be resized');
    [sh, sw] = [s[2], s[3]];
    [OH, OW] = [Math.floor(H * sh), Math.floor(W * sw)];
  } else {
    return fail('scales or sizes must hold 4 values');
  }
  const index = (scale: number, inSize: number, outSize: number): Int32Array =>
    Int32Array.from({ length: outSize }, (_, o) => Math.min(inSize - 1, Math.max(0, rounding(coordinate(o, scale, inSize, outSize)))));
  return { OH, OW, rows: index(sh, H, OH), cols: index(sw, W, OW) };
}
