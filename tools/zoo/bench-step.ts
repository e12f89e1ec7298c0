/**
 * Measures one training step of each zoo architecture on the wasm backend:
 * wall and CPU milliseconds per image (CPU time is what matters on a shared
 * machine). With --profile, also the kernel times of one step.
 *
 *   npx tsx tools/zoo/bench-step.ts [--batch 128] [--steps 5] [--profile] [arch...]
 */
import { initWasmBackend, tf } from './tf-wasm';
import { ARCH_NAMES, buildArch, inferShapes, isTrainable } from './arch';
import { forward, Params } from './forward';
import { initialParams } from './train';
import { Prng } from './prng';

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const opt = (k: string, d: number): number => {
    const i = args.indexOf(k);
    if (i < 0) return d;
    const v = Number(args[i + 1]);
    args.splice(i, 2);
    return v;
  };
  const batch = opt('--batch', 128);
  const steps = opt('--steps', 5);
  const profile = args.includes('--profile');
  const archs = args.filter((a) => !a.startsWith('--'));
  await initWasmBackend();
  for (const name of archs.length ? archs : ARCH_NAMES) {
    const arch = buildArch(name);
    const { params: shapes } = inferShapes(arch);
    const init = initialParams(shapes, new Prng(1));
    const params: Params = new Map();
    for (const [n, s] of shapes) params.set(n, tf.variable(tf.tensor(init.get(n)!, s), isTrainable(n), `bench-${name}/${n}`));
    const vars = [...params].filter(([n]) => isTrainable(n)).map(([, v]) => v);
    const rng = new Prng(2);
    const x = tf.tensor4d(Float32Array.from({ length: batch * 784 }, () => rng.normal()), [batch, 28, 28, 1]);
    const y = tf.oneHot(tf.tensor1d(Array.from({ length: batch }, (_, i) => i % 10), 'int32'), 10);
    const step = (): void => {
      const upd = new Map<string, tf.Tensor>();
      const { value, grads } = tf.variableGrads(() => tf.losses.softmaxCrossEntropy(y, forward(arch, params, x, true, upd)) as tf.Scalar, vars);
      tf.tidy(() => {
        for (const v of vars) v.assign(tf.sub(v, tf.mul(grads[v.name], 0.01)));
      });
      value.dataSync();
      tf.dispose([value, ...Object.values(grads), ...upd.values()]);
    };
    step(); // XNNPACK operator setup and allocation happen on the first call
    let wall = 0;
    let cpu = 0;
    for (let i = 0; i < steps; i++) {
      const t0 = performance.now();
      const c0 = process.cpuUsage();
      step();
      const c = process.cpuUsage(c0);
      wall += performance.now() - t0;
      cpu += (c.user + c.system) / 1000;
    }
    const t0 = performance.now();
    tf.tidy(() => forward(arch, params, x, false).dataSync());
    const evalMs = (performance.now() - t0) / batch;
    console.log(`${name}: train step ${(wall / steps / batch).toFixed(2)} ms/img wall, ${(cpu / steps / batch).toFixed(2)} ms/img cpu (batch ${batch}, ${steps} steps); inference ${evalMs.toFixed(2)} ms/img`);
    if (profile) {
      const info = await tf.profile(() => step());
      const byKernel = new Map<string, number>();
      for (const k of info.kernels) byKernel.set(k.name, (byKernel.get(k.name) ?? 0) + (k.kernelTimeMs as number));
      for (const [k, ms] of [...byKernel].sort((a, b) => b[1] - a[1]).slice(0, 12)) console.log(`  ${k.padEnd(26)} ${ms.toFixed(0)} ms`);
    }
    params.forEach((v) => v.dispose());
    tf.dispose([x, y]);
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
