import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';

/** Where Debian's chromium puts SwiftShader's Vulkan driver (as @nibble/backend-webgpu's loader). */
const SWIFTSHADER_ICD = '/usr/lib/chromium/vk_swiftshader_icd.json';

let probed: string | undefined;

/**
 * Why no WebGPU adapter can be created in Node here ('' when one can).
 * Jest collects tests synchronously, so the probe runs in a child process
 * (Dawn, the npm `webgpu` package, with SwiftShader's Vulkan driver when
 * nothing else is configured), once per test file.
 */
export function webGpuUnavailable(): string {
  if (probed !== undefined) return probed;
  const env = { ...process.env };
  if (!env.VK_ICD_FILENAMES && existsSync(SWIFTSHADER_ICD)) env.VK_ICD_FILENAMES = SWIFTSHADER_ICD;
  const script = "const { create } = await import('webgpu'); const a = await create([]).requestAdapter(); console.log(a ? 'adapter' : 'none'); process.exit(0);";
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { env, encoding: 'utf8', timeout: 60_000 });
  const out = r.stdout ?? '';
  if (out.includes('adapter')) probed = '';
  else if (out.includes('none')) probed = 'WebGPU (npm webgpu, Dawn) found no adapter: install Debian packages chromium and libvulkan1 (SwiftShader), or set VK_ICD_FILENAMES';
  else probed = `the npm package webgpu did not load: ${(r.stderr ?? '').split('\n').find((l) => l.includes('Error')) ?? r.error?.message ?? 'unknown error'}`;
  return probed;
}

/** describe() when a WebGPU adapter can be created, else describe.skip with the reason in its name (and a warning). */
export function describeWithWebGpu(name: string, fn: () => void): void {
  const why = webGpuUnavailable();
  if (!why) {
    describe(name, fn);
    return;
  }
  console.warn(`${name}: skipped: ${why}`);
  describe.skip(`${name} [skipped: ${why}]`, fn);
}
