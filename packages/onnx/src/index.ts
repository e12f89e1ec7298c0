export { readOnnx, readOnnxFile } from './read';
export { writeFileAtomic, writeOnnx, writeOnnxFile } from './write';
export { lowerToQdq, qdqContainer, type QdqLoweringOptions } from './qdq/lower';
export { upgradeToQdqOpset } from './qdq/upgrade-opset';
export { lowerForOrt, targetConstraintError } from './qdq/ort';
export { alignBiasesToOrt } from './qdq/ort-bias';
export { crc32, decodeEntropyContainer, encodeEntropyContainer, isEntropyContainer, ENTROPY_MAGIC, type DecodeStats } from './entropy-container';
export { readEntropyContainerFile, writeEntropyContainerFile } from './entropy-container-file';
