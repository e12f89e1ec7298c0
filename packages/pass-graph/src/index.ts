/*
 * @nibble/pass-graph: the canonical graph passes that run before
 * calibration. Importing this module registers them under their pipeline
 * names: fold-bn, mark-fused-relu, fold-constants, eliminate-dead-code,
 * remove-identity, fold-affine.
 */
import { registerPass } from '@nibble/core';
import { eliminateDeadCodePass } from './eliminate-dead-code.pass';
import { foldAffinePass } from './fold-affine.pass';
import { foldBnPass } from './fold-bn.pass';
import { foldConstantsPass } from './fold-constants.pass';
import { markFusedReluPass } from './mark-fused-relu.pass';
import { removeIdentityPass } from './remove-identity.pass';

registerPass(foldBnPass);
registerPass(markFusedReluPass);
registerPass(foldConstantsPass);
registerPass(eliminateDeadCodePass);
registerPass(removeIdentityPass);
registerPass(foldAffinePass);
