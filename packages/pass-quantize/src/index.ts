/*
 * @nibble/pass-quantize: where quantization starts and where it becomes
 * integer grids. Importing this module registers quant-policy, quantize and
 * gptq (codes chosen on calibration data). The marks and annotations they
 * leave are specified in docs/quantized-ir.md.
 */
import { registerPass } from '@nibble/core';
import { gptqPass } from './gptq.pass';
import { quantPolicyPass } from './quant-policy.pass';
import { quantizePass } from './quantize.pass';

registerPass(quantPolicyPass);
registerPass(quantizePass);
registerPass(gptqPass);
