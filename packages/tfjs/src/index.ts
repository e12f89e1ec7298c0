export { readTfjsModel, type TfjsFormat } from './read';
// The metadata keys every importer sets live in @nibble/ir; re-exported for callers of this package.
export { IO_TRANSPOSES_KEY, SOURCE_FORMAT_KEY, SOURCE_LAYOUT_KEY } from '@nibble/ir';
export type { TfjsMemorySource, TfjsSource, ShardData } from './source';
export { supportedLayers } from './layer-ops';
export { supportedGraphOps } from './graph-ops';
export { supportedActivations } from './activations';
