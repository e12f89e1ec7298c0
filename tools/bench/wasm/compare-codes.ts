import { createWasmExecutor } from '@nibble/backend-wasm';
import { openDataset } from '@nibble/data';
import type { Model, Tensor } from '@nibble/ir';
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
  const ds = await openDataset(data, preprocess ? { preprocess } : {});
  async function* inputs(): AsyncGenerator<Tensor> {
    for await (const b of ds.batches({ batchSize: 1, limit: images })) yield b.inputs;
  }
  const r = await compareCodesOn(qdq, inputs());
  return { images: r.images, codes: r.codes, ties: r.ties, downstream: r.downstream, unexplained: r.unexplained, sameTop1: r.sameTop1, kernels: r.kernels };
}

/** Sum of squares of the simulation's output and of our difference from it (SQNR = 10 log10 of their ratio). */
export interface OutputAgreement {
  signal: number;
  noise: number;
  /** Output values (float32) that differ from the simulation's, and the largest |difference|. */
  differing: number;
  maxAbs: number;
  /** SQNR (dB) of each sample's output, and codes differing per sample (ties and downstream). */
  perSample: { sqnrDb: number; differingCodes: number }[];
  /** With float reference outputs: SQNR (dB) of the simulation's and of our output against them, pooled. */
  vsFloat?: { simDb: number; oursDb: number };
}

/** compareCodes on given inputs (one sample each); also the output's agreement. */
export async function compareCodesOn(qdq: Model, samples: AsyncIterable<Tensor> | Iterable<Tensor>, floatOutputs?: readonly Float64Array[]): Promise<CodeAgreement & { output: OutputAgreement }> {
  const vsFloat = { signal: 0, simNoise: 0, oursNoise: 0 };
  const acts = activations(qdq);
  const output = qdq.graph.outputs[0].name;
  const ortFetch = [...acts.map((a) => a.codes), ...acts.map((a) => a.before), output];
  const wasmFetch = [...acts.map((a) => a.codes), output];
  const ort = await createOrtExecutor(qdq, { extraOutputs: ortFetch.slice(0, -1) });
  const wasm = await createWasmExecutor(qdq, { extraOutputs: wasmFetch.slice(0, -1) });
  const r: CodeAgreement & { output: OutputAgreement } = { images: 0, codes: 0, ties: 0, downstream: 0, unexplained: 0, sameTop1: 0, kernels: [], output: { signal: 0, noise: 0, differing: 0, maxAbs: 0, perSample: [] } };
  let shape: number[] | undefined;
  try {
    for await (const x of samples) {
      shape = x.shape.slice(1);
      const feeds = { [qdq.graph.inputs[0].name]: x };
      const a = await ort.run(feeds, ortFetch);
      const w = await wasm.run(feeds, wasmFetch);
      let tainted = false;
      let differingHere = 0;
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
          differingHere++;
        }
        tainted ||= differs;
      }
      const ao = a[output].toFloat64(), wo = w[output].toFloat64();
      let signal = 0, noise = 0;
      for (let i = 0; i < ao.length; i++) {
        const d = wo[i] - ao[i];
        signal += ao[i] * ao[i];
        noise += d * d;
        if (d !== 0) r.output.differing++;
        r.output.maxAbs = Math.max(r.output.maxAbs, Math.abs(d));
      }
      r.output.signal += signal;
      r.output.noise += noise;
      r.output.perSample.push({ sqnrDb: 10 * Math.log10(signal / noise), differingCodes: differingHere });
      const f = floatOutputs?.[r.images];
      if (f) {
        for (let i = 0; i < f.length; i++) {
          vsFloat.signal += f[i] * f[i];
          vsFloat.simNoise += (ao[i] - f[i]) ** 2;
          vsFloat.oursNoise += (wo[i] - f[i]) ** 2;
        }
      }
      if (argmax(ao) === argmax(wo)) r.sameTop1++;
      r.images++;
    }
    if (floatOutputs) r.output.vsFloat = { simDb: 10 * Math.log10(vsFloat.signal / vsFloat.simNoise), oursDb: 10 * Math.log10(vsFloat.signal / vsFloat.oursNoise) };
    const plan = (wasm as unknown as { plan(s: number[]): { steps: { kernel: string }[] } }).plan(shape ?? (qdq.graph.inputs[0].type!.shape!.slice(1) as number[]));
    r.kernels = [...new Set(plan.steps.map((s) => s.kernel))].sort();
  } finally {
    await ort.dispose();
    await wasm.dispose();
  }
  return r;
}
