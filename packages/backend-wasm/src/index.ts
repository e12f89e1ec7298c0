export { createWasmExecutor, type WasmExecutorOptions, type WasmExecutorStats } from './executor';
export { registeredOps } from './registry';
