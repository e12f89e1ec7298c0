/*
 * @nibble/pass-allocation: per-channel bit allocation. The math (src/math)
 * is pure functions; alloc-bits (and alloc-bins, bins that need not be
 * powers of two) applies it to the values quant-policy marked. Importing
 * this module registers them.
 */
import { registerPass } from '@nibble/core';
import { allocBinsPass } from './alloc-bins.pass';
import { allocBitsPass } from './alloc-bits.pass';
import { mixedPrecisionPass } from './mixed-precision.pass';

registerPass(allocBitsPass);
registerPass(allocBinsPass);
registerPass(mixedPrecisionPass);
export type { LayerSensitivity } from './mixed-precision.pass';
