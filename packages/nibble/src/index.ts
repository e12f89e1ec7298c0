export { isNibbleError, NibbleError } from '@nibble/ir';
// The pass registry, for listings and help (`nibble passes`); importing this package registers every pass.
export { describePass, getPass, listPasses, optionTextName, type AnyPass, type OptionDecl } from '@nibble/core';
export * from './load';
export * from './inspect';
export * from './roundtrip';
export * from './defaults';
export * from './datasets';
export * from './calibrate';
export * from './recipes';
export * from './quantize';
export * from './evaluate';
export * from './main-job';
