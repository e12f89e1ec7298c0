export { readOnnx, readOnnxFile } from './read';
export type { ReadOnnxOptions } from './read';
export { writeOnnx, writeOnnxFile } from './write';
export { MIN_IR_VERSION, MAX_IR_VERSION, MIN_OPSET, MAX_OPSET } from './onnx-import';
