/*
 * @nibble/pass-bias-correction: weight bias correction. The math
 * (src/math) is pure functions; bias-correct applies it to the weights
 * quantize turned into DequantizeLinear. Importing this module registers it.
 */
import { registerPass } from '@nibble/core';
import { biasCorrectPass } from './bias-correct.pass';

registerPass(biasCorrectPass);
