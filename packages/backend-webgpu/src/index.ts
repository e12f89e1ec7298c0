export { createWebGpuExecutor, type WebGpuExecutor, type WebGpuExecutorOptions, type WebGpuExecutorStats } from './executor';
export { requestWebGpu, requireWebGpu, SWIFTSHADER_ICD, webGpuUnavailableReason, type WebGpuContext } from './gpu';
export { registeredOps } from './registry';
