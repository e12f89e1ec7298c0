export { readOnnx, readOnnxFile } from './read';
export type { ReadOnnxOptions } from './read';
export { writeOnnx, writeOnnxFile } from './write';
export { MIN_IR_VERSION, MAX_IR_VERSION, MIN_OPSET, MAX_OPSET } from './onnx-import';
export { lowerToQdq, needsChannelClamp, qdqContainer } from './qdq/lower';
export type { QdqContainer } from './qdq/lower';
export { upgradeToQdqOpset, QDQ_OPSET, QDQ_IR_VERSION } from './qdq/upgrade-opset';
export { validateOnnxModel } from './validate';
