export { readTfliteFile } from './read';
export { parseTfliteFile, type TfliteFile, type TfliteTensor } from './model-file';
export { decodeConstant } from './constants';
export { type WriteTfliteOptions, writeTflite } from './write/writer';
export { withBatch } from './write/batch';
export { alignBiasesToTflite } from './write/align';
export { layerMultiplier, quantizeMultiplier, requantOffset } from './write/requant';
export { toTfliteLayout } from './file-layout';
