import { join } from 'node:path';
import { openDataset } from '@nibble/data';
import { type Model, Tensor } from '@nibble/ir';
import { readOnnx, readOnnxFile } from '@nibble/onnx';
import { createOrtExecutor } from '@nibble/runtime';
import { quantize } from 'nibble';
import { createWasmExecutor } from '@nibble/backend-wasm';

/*
 * One zoo model end to end: fmnist-resnet20 quantized with w4a4-baseline on
 * 32 calibration images, its QDQ file run by the wasm plan and by
 * onnxruntime's exact QDQ simulation (float32) on 200 test images. Every
 * activation's codes are compared. A differing code must be a rounding tie
 * of the float32 simulation (its pre-rounding value within 1e-3 of a half
 * level) or follow one in the same sample; the ties are counted.
 */

const N = 200;
const BATCH = 50;

function argmax(row: Float64Array | Float32Array): number {
  let best = 0;
  for (let i = 1; i < row.length; i++) if (row[i] > row[best]) best = i;
  return best;
}

interface Layer { dq: string; pre: string; scale: Float64Array; zp: Float64Array; channels: number }

function quantizedActivations(m: Model): Layer[] {
  return m.graph.nodes.filter((n) => n.opType === 'QuantizeLinear' && !n.inputs[0]!.isInitializer).map((q) => {
    const dq = q.outputs[0].uses.find((u) => u.node.opType === 'DequantizeLinear')!.node;
    const s = q.inputs[1]!.const!.toFloat64();
    return { dq: dq.outputs[0].name, pre: q.inputs[0]!.name, scale: s, zp: q.inputs[2]!.const!.toFloat64(), channels: s.length };
  });
}

it('fmnist-resnet20 w4a4-baseline: wasm codes = onnxruntime QDQ simulation except counted ties; identical top-1', async () => {
  const float = readOnnxFile(join(__dirname, '..', '..', 'models', 'fmnist-resnet20.onnx'));
  const { onnx } = await quantize(float, { recipe: 'w4a4-baseline', data: 'fashion-mnist:calib', samples: 32 });
  const qdq = readOnnx(onnx);
  const layers = quantizedActivations(qdq);
  const fetch = [...layers.map((l) => l.dq), ...layers.map((l) => l.pre)];
  const ort = await createOrtExecutor(qdq, { extraOutputs: fetch });
  const wasm = await createWasmExecutor(qdq, { extraOutputs: layers.map((l) => l.dq) });
  const data = await openDataset('fashion-mnist:test');
  let codes = 0, ties = 0, unexplained = 0, sameTop1 = 0, seen = 0;
  const output = qdq.graph.outputs[0].name;
  for await (const b of data.batches({ batchSize: BATCH, limit: N })) {
    const x: Tensor = b.inputs;
    const feeds = { [qdq.graph.inputs[0].name]: x };
    const a = await ort.run(feeds, fetch);
    const w = await wasm.run(feeds, layers.map((l) => l.dq));
    const n = x.shape[0];
    const tainted = new Uint8Array(n);
    for (const l of layers) {
      const av = a[l.dq].toFloat64(), wv = w[l.dq].toFloat64(), pre = a[l.pre].toFloat64();
      const per = av.length / n;
      const inner = per / (l.channels === 1 ? 1 : l.channels);
      codes += av.length;
      const newlyTainted: number[] = [];
      for (let i = 0; i < av.length; i++) {
        if (av[i] === wv[i]) continue;
        const sample = Math.floor(i / per);
        const c = l.channels === 1 ? 0 : Math.floor((i % per) / inner);
        const t = pre[i] / l.scale[c];
        if (Math.abs(Math.abs(t - Math.trunc(t)) - 0.5) < 1e-3) ties++;
        else if (!tainted[sample]) unexplained++;
        newlyTainted.push(sample);
      }
      for (const s of newlyTainted) tainted[s] = 1;
    }
    const ao = a[output].toFloat64(), wo = (await wasm.run(feeds))[output].toFloat64();
    const k = ao.length / n;
    for (let i = 0; i < n; i++) if (argmax(ao.subarray(i * k, (i + 1) * k)) === argmax(wo.subarray(i * k, (i + 1) * k))) sameTop1++;
    seen += n;
  }
  await ort.dispose();
  await wasm.dispose();
  console.log(`resnet20 w4a4-baseline, ${seen} images: ${codes} codes, ${ties} rounding ties of the float32 simulation, ${unexplained} unexplained; top-1 identical on ${sameTop1}`);
  expect(seen).toBe(N);
  expect(unexplained).toBe(0);
  expect(ties).toBeLessThanOrEqual(codes * 1e-5);
  expect(sameTop1 / seen).toBeGreaterThanOrEqual(0.999);
}, 120_000);
