export { readTflite, readTfliteFile, type ReadTfliteOptions } from './read';
// The metadata keys every importer sets live in @nibble/ir; re-exported for callers of this package.
export { IO_TRANSPOSES_KEY, SOURCE_FORMAT_KEY, SOURCE_LAYOUT_KEY } from '@nibble/ir';
export { supportedTfliteOps } from './lowerings';
export { parseTfliteFile, type TfliteFile, type TfliteOperator, type TfliteOperatorCode, type TfliteSubgraph, type TfliteTensor } from './model-file';
