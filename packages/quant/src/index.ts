export * from './rounding';
export * from './layout';
export * from './params';
export * from './quantize';
export * from './pack';
export * from './random';
