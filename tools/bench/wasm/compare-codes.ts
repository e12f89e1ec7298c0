import { createWasmExecutor } from '@nibble/backend-wasm';
import { openDataset } from '@nibble/data';
import type { Model } from '@nibble/ir';
import { createOrtExecutor } from '@nibble/runtime';

/*
 * Our wasm plan against onnxruntime's exact QDQ simulation (float32) on the
 * same images, activation by activation: every QuantizeLinear's codes (read
 * through its DequantizeLinear). A differing code is a rounding tie when the
 * simulation's value before rounding lies within 1e-3 of a half level (the
 * float32 simulation and our float64 arithmetic round such values apart); a
 * difference in a sample that already had one is downstream of it. Anything
 * else is unexplained (a bug).
 */

interface Activation { codes: string; before: string; scale: Float64Array; channels: number }

function activations(m: Model): Activation[] {
  const out: Activation[] = [];
  for (const q of m.graph.nodes) {
    if (q.opType !== 'QuantizeLinear' || q.inputs[0]!.isInitializer) continue;
    const dq = q.outputs[0].uses.find((u) => u.node.opType === 'DequantizeLinear');
    const scale = q.inputs[1]!.const!.toFloat64();
    if (dq) out.push({ codes: dq.node.outputs[0].name, before: q.inputs[0]!.name, scale, channels: scale.length });
  }
  return out;
}

export interface CodeAgreement {
  images: number;
  codes: number;
  /** Codes that differ at a rounding tie of the simulation, and those downstream of one in the same sample. */
  ties: number;
  downstream: number;
  unexplained: number;
  sameTop1: number;
  /** Kernels the wasm plan ran. */
  kernels: string[];
}

const argmax = (v: Float64Array): number => v.reduce((b, x, i) => (x > v[b] ? i : b), 0);

export async function compareCodes(qdq: Model, data: string, images: number, preprocess?: string): Promise<CodeAgreement> {
  const acts = activations(qdq);
  const output = qdq.graph.outputs[0].name;
  const ortFetch = [...acts.map((a) => a.codes), ...acts.map((a) => a.before), output];
  const wasmFetch = [...acts.map((a) => a.codes), output];
  const ort = await createOrtExecutor(qdq, { extraOutputs: ortFetch.slice(0, -1) });
  const wasm = await createWasmExecutor(qdq, { extraOutputs: wasmFetch.slice(0, -1) });
  const r: CodeAgreement = { images: 0, codes: 0, ties: 0, downstream: 0, unexplained: 0, sameTop1: 0, kernels: [] };
  try {
    const ds = await openDataset(data, preprocess ? { preprocess } : {});
    for await (const b of ds.batches({ batchSize: 1, limit: images })) {
      const feeds = { [qdq.graph.inputs[0].name]: b.inputs };
      const a = await ort.run(feeds, ortFetch);
      const w = await wasm.run(feeds, wasmFetch);
      let tainted = false;
      for (const act of acts) {
        const av = a[act.codes].toFloat64(), wv = w[act.codes].toFloat64(), pre = a[act.before].toFloat64();
        const inner = av.length / act.channels;
        r.codes += av.length;
        let differs = false;
        for (let i = 0; i < av.length; i++) {
          if (av[i] === wv[i]) continue;
          const t = pre[i] / act.scale[act.channels === 1 ? 0 : Math.floor(i / inner)];
          if (Math.abs(Math.abs(t - Math.trunc(t)) - 0.5) < 1e-3) r.ties++;
          else if (tainted) r.downstream++;
          else r.unexplained++;
          differs = true;
        }
        tainted ||= differs;
      }
      if (argmax(a[output].toFloat64()) === argmax(w[output].toFloat64())) r.sameTop1++;
      r.images++;
    }
    const plan = (wasm as unknown as { plan(s: number[]): { steps: { kernel: string }[] } }).plan(qdq.graph.inputs[0].type!.shape!.slice(1) as number[]);
    r.kernels = [...new Set(plan.steps.map((s) => s.kernel))].sort();
  } finally {
    await ort.dispose();
    await wasm.dispose();
  }
  return r;
}
