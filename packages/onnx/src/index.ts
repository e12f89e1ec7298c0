export { readOnnx, readOnnxFile } from './read';
export { writeFileAtomic, writeOnnx, writeOnnxFile } from './write';
export { lowerToQdq, qdqContainer } from './qdq/lower';
export { upgradeToQdqOpset } from './qdq/upgrade-opset';
