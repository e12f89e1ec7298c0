export { readTfjsModel, IO_TRANSPOSES_KEY, SOURCE_FORMAT_KEY, SOURCE_LAYOUT_KEY, type TfjsFormat } from './read';
export type { TfjsMemorySource, TfjsSource, ShardData } from './source';
export { supportedLayers } from './layer-ops';
export { supportedGraphOps } from './graph-ops';
export { supportedActivations } from './activations';
