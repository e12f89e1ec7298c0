export { readOnnx, readOnnxFile } from './read';
export { writeFileAtomic, writeOnnx, writeOnnxFile } from './write';
export { lowerToQdq, qdqContainer, type QdqLoweringOptions } from './qdq/lower';
export { upgradeToQdqOpset } from './qdq/upgrade-opset';
export { lowerForOrt, targetConstraintError } from './qdq/ort';
