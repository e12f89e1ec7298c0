export { createOrtExecutor, createOrtExecutorForBytes } from './ort-executor';
export type { OrtBackend } from './ort-module';
