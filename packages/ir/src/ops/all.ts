/*
 * Loading this module registers nibble's operator vocabulary. Each family
 * registers itself when its module loads; the index imports this file so
 * that anyone holding @nibble/ir sees the full registry.
 */
import './elementwise';
import './conv';
import './linear';
import './normalization';
import './pooling';
import './reduce';
import './shape-ops';
import './tensor-ops';
import './constant-ops';
import './resize';
import './quant-ops';

export { convOutputShape, convTransposeOutputShape } from './conv';
export { matmulShape } from './linear';
export { broadcastShapes } from './infer-util';
export { constantNodeTensor, constantTensor, createInferContext } from './context';
