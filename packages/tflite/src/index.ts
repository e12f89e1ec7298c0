export { readTflite, readTfliteFile, IO_TRANSPOSES_KEY, SOURCE_FORMAT_KEY, SOURCE_LAYOUT_KEY, type ReadTfliteOptions } from './read';
export { supportedTfliteOps } from './lowerings';
export { parseTfliteFile, type TfliteFile, type TfliteOperator, type TfliteOperatorCode, type TfliteSubgraph, type TfliteTensor } from './model-file';
