/*
 * @nibble/pass-allocation: per-channel bit allocation. The math (src/math)
 * is pure functions; alloc-bits applies it to the values quant-policy
 * marked. Importing this module registers alloc-bits.
 */
import { registerPass } from '@nibble/core';
import { allocBitsPass } from './alloc-bits.pass';

registerPass(allocBitsPass);
