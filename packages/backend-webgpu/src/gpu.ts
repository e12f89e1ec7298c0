/// <reference types="@webgpu/types" preserve="true" />
import { NibbleError } from '@nibble/ir';

/**
 * The WebGPU device the backend runs on, with what the kernels need to know
 * about its adapter: a name to print, whether it is a software rasterizer
 * (timings on it measure a CPU emulation, not a GPU), and whether WGSL's
 * packed 4x8 integer dot product is available.
 */
export interface WebGpuContext {
  device: GPUDevice;
  adapterName: string;
  software: boolean;
  dot4: boolean;
}

/** Where Debian's chromium package puts SwiftShader's Vulkan driver (the only Vulkan device on a machine without a GPU). */
export const SWIFTSHADER_ICD = '/usr/lib/chromium/vk_swiftshader_icd.json';

interface NodeProcess {
  versions?: { node?: string };
  env: Record<string, string | undefined>;
  platform: string;
  arch: string;
  cwd(): string;
  getBuiltinModule?(id: string): unknown;
}

/**
 * navigator.gpu in Node: the npm `webgpu` package (Dawn). Loaded through
 * process.getBuiltinModule and createRequire rather than an import, so a
 * browser bundle of this package never pulls in Node's modules or Dawn.
 * Points the Vulkan loader at SwiftShader when nothing else is configured,
 * so tests and users need no set-up on a machine that has chromium.
 */
function nodeGpu(): GPU | undefined {
  const proc = (globalThis as { process?: NodeProcess }).process;
  if (!proc?.versions?.node || !proc.getBuiltinModule) return undefined;
  const fs = proc.getBuiltinModule('fs') as typeof import('fs');
  const path = proc.getBuiltinModule('path') as typeof import('path');
  const mod = proc.getBuiltinModule('module') as typeof import('module');
  // The Vulkan loader reads this when Dawn creates its instance, so it must be set before, and in the real
  // process: Jest's sandbox has a copy of process.env that never reaches the C environment.
  const real = (proc.getBuiltinModule('process') as NodeProcess | undefined) ?? proc;
  if (!real.env.VK_ICD_FILENAMES && fs.existsSync(SWIFTSHADER_ICD)) real.env.VK_ICD_FILENAMES = SWIFTSHADER_ICD;
  // Resolved from the working directory (the application's node_modules): no __filename, which the ESM
  // build would have to shim with Node imports that a browser bundle cannot resolve.
  const req = mod.createRequire(path.join(proc.cwd(), 'index.js'));
  type Dawn = { create(flags: string[]): GPU };
  let dawn: Dawn;
  try {
    dawn = req('webgpu') as Dawn;
  } catch (e) {
    // The package's entry is ESM (not requirable under Jest's module system): its native addon is.
    let dir: string;
    try {
      dir = path.dirname(req.resolve('webgpu'));
    } catch {
      return undefined;
    }
    const arch = proc.platform === 'darwin' ? 'universal' : proc.arch;
    const addon = path.join(dir, 'dist', `${proc.platform}-${arch}`, 'dawn.node');
    if (!fs.existsSync(addon)) throw new NibbleError('E_RUNTIME', `the webgpu package has no Dawn build for ${proc.platform}-${arch}`, { hint: `${String(e)}` });
    dawn = req(addon) as Dawn;
  }
  return dawn.create([]);
}

let shared: Promise<WebGpuContext | undefined> | undefined;
let nodeInstance: GPU | undefined;

/** Why the last requestWebGpu() found no adapter (for skip messages). */
export let webGpuUnavailableReason = '';

async function open(gpu: GPU | undefined): Promise<WebGpuContext | undefined> {
  if (!gpu) {
    webGpuUnavailableReason = 'no WebGPU: navigator.gpu is missing and the npm package `webgpu` could not be loaded';
    return undefined;
  }
  const adapter = await gpu.requestAdapter();
  if (!adapter) {
    webGpuUnavailableReason = 'WebGPU found no adapter (in Node: install Debian packages chromium and libvulkan1 for SwiftShader, or set VK_ICD_FILENAMES)';
    return undefined;
  }
  // adapter.info (newer) or requestAdapterInfo() (older implementations).
  const withInfo = adapter as GPUAdapter & { info?: GPUAdapterInfo; requestAdapterInfo?: () => Promise<GPUAdapterInfo> };
  const info: Partial<GPUAdapterInfo> = withInfo.info ?? (await withInfo.requestAdapterInfo?.()) ?? {};
  const adapterName = info.description || [info.vendor, info.architecture, info.device].filter(Boolean).join(' ') || 'unknown adapter';
  const software = Boolean((info as { isFallbackAdapter?: boolean }).isFallbackAdapter) || /swiftshader|llvmpipe|lavapipe|warp|software/i.test(`${adapterName} ${info.architecture}`);
  const dot4 = Boolean(gpu.wgslLanguageFeatures?.has('packed_4x8_integer_dot_product'));
  const limits = adapter.limits;
  const device = await adapter.requestDevice({
    requiredLimits: { maxStorageBufferBindingSize: limits.maxStorageBufferBindingSize, maxBufferSize: limits.maxBufferSize, maxStorageBuffersPerShaderStage: Math.min(8, limits.maxStorageBuffersPerShaderStage) },
  });
  return { device, adapterName, software, dot4 };
}

/**
 * The process's WebGPU context (created once): navigator.gpu in a browser,
 * Dawn in Node; undefined when no adapter can be created
 * (webGpuUnavailableReason says why). Pass `gpu` to use another GPU object.
 */
export function requestWebGpu(gpu?: GPU): Promise<WebGpuContext | undefined> {
  if (gpu) return open(gpu);
  if (!shared) {
    const nav = (globalThis as { navigator?: { gpu?: GPU } }).navigator;
    let g: GPU | undefined = nav?.gpu;
    if (!g) {
      try {
        g = nodeInstance ??= nodeGpu();
      } catch (e) {
        webGpuUnavailableReason = `the webgpu package failed to load: ${String(e)}`;
      }
    }
    shared = open(g);
  }
  return shared;
}

/** The context, or a typed error that says what to install. */
export async function requireWebGpu(gpu?: GPU): Promise<WebGpuContext> {
  const ctx = await requestWebGpu(gpu);
  if (!ctx) throw new NibbleError('E_RUNTIME', webGpuUnavailableReason, { hint: 'in Node: npm install webgpu, and apt-get install chromium libvulkan1 (SwiftShader); in a browser: enable WebGPU (Chromium: --enable-unsafe-webgpu)' });
  return ctx;
}
