export { isNibbleError, NibbleError } from '@nibble/ir';
export * from './load';
export * from './inspect';
export * from './roundtrip';
export * from './defaults';
