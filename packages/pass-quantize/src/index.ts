/*
 * @nibble/pass-quantize: where quantization starts and where it becomes
 * integer grids. Importing this module registers quant-policy and quantize.
 * The marks and annotations they leave are specified in docs/quantized-ir.md.
 */
import { registerPass } from '@nibble/core';
import { quantPolicyPass } from './quant-policy.pass';
import { quantizePass } from './quantize.pass';

// The mark's reader lives in @nibble/ir (every pass package and the calibration analysis read it); kept here for callers of this package.
export {
  QUANT_POINT_KEY, QUANT_ROLES, markedValues, quantPointOf, targetIncludes,
  type QuantPoint, type QuantRole, type QuantTarget,
} from '@nibble/ir';
export { firstAndLastLayers, logitValues, weightedLayers, type WeightedLayer } from './layers';
export { globPattern, parseOverrides, parsePatternList, type NodePattern, type Override } from './patterns';
export { FLOAT_WEIGHT_KEY, QUANTIZE_MINMAX_SOURCE } from './quantize.pass';

export { quantPolicyPass };
registerPass(quantPolicyPass);

export { quantizePass };
registerPass(quantizePass);
