/*
 * @nibble/pass-graph: the canonical graph passes that run before
 * calibration. Importing this module registers them under their pipeline
 * names: fold-bn, mark-fused-relu, fold-constants, eliminate-dead-code,
 * remove-identity.
 */
import { registerPass } from '@nibble/core';
import { eliminateDeadCodePass } from './eliminate-dead-code.pass';
import { foldBnPass } from './fold-bn.pass';
import { foldConstantsPass } from './fold-constants.pass';
import { markFusedReluPass } from './mark-fused-relu.pass';
import { removeIdentityPass } from './remove-identity.pass';

export { CONSTANT_EVALUATORS, SHAPE_EVALUATORS } from './constant-eval';
export type { OpEvaluator, ShapeEvaluator } from './constant-eval';

export { foldBnPass };
registerPass(foldBnPass);

export { markFusedReluPass };
registerPass(markFusedReluPass);

export { foldConstantsPass };
registerPass(foldConstantsPass);

export { eliminateDeadCodePass };
registerPass(eliminateDeadCodePass);

export { removeIdentityPass };
registerPass(removeIdentityPass);
