// The generator itself lives in @nibble/ir; re-exported for callers that shuffle datasets.
export { SeededRandom } from '@nibble/ir';
export { permutation, sampleOrder, type OrderOptions } from './prng';
export {
  SourceDataset, createDataset,
  type Dataset, type DatasetOptions, type Sample, type Batch, type BatchOptions, type SampleSource,
} from './dataset';
export { ArraySource, datasetFromArrays, inferStoredLayout, labelsFromArray, type ArrayInit, type StoredLayout } from './array-source';
export {
  PREPROCESS_PRESETS, parsePreprocess, printPreprocess, resolvePreprocess, applyPreprocess, preprocessedSize, outputLayout,
  type PreprocessStep, type Layout, type ChannelOrder, type ImageSize,
} from './preprocess';
export { resizeBilinear, centerCrop, convertChannels, shorterSideSize } from './image-ops';
export { rawImage, type RawImage } from './raw-image';
export { decodeImage } from './image-decode';
export { scanImageFolder, ImageFolderSource, type FolderListing } from './image-folder';
export { parseIdx, readIdxFile, encodeIdx, type IdxArray, type IdxType } from './idx';
export { parseNpy, readNpyFile, encodeNpy, type NpyArray } from './npy';
export { writeFileAtomic } from './files';
export { parseDatasetSpec, printDatasetSpec, type DatasetSpec, type NamedSpec, type FileSpec } from './spec';
export {
  registerDatasetRoot, registerDefaultRoots, listDatasetRoots, resolveSplit, idxPairIn, mnistDataDir,
  DEBIAN_FASHION_MNIST_DIR,
  type DatasetRootResolver, type DatasetRootOptions, type ResolvedSplit, type RootCandidate,
} from './roots';
export { openDataset, type OpenDatasetOptions } from './open';
