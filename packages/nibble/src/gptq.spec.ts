import { join } from 'node:path';
import type { Model } from '@nibble/ir';
import { workspaceRoot } from '@nibble/testing';
import { createOrtExecutor } from '@nibble/runtime';
import { loadModel } from './load';
import { openDataSource, quantize } from './quantize';
import { renderReportHtml } from './report/html';
import { reportData } from './report/model';

const RESNET = join(workspaceRoot(), 'models', 'fmnist-resnet20.onnx');
const BASE = 'fold-bn,fold-constants,eliminate-dead-code,mark-fused-relu,quant-policy{w-bits=3,a-bits=8},clip-minmax,quantize';

/** Logit SQNR (dB) of `q` against the float model on the first `limit` samples of `data`; weights as quantized, activations float. */
async function logitSqnr(float: Model, q: Model, data: string, limit: number): Promise<number> {
  const ds = await openDataSource(data, undefined, float);
  const input = float.graph.inputs[0].name;
  const [a, b] = [await createOrtExecutor(float), await createOrtExecutor(q)];
  let s = 0;
  let e = 0;
  let seen = 0;
  try {
    for await (const batch of ds.batches({ batchSize: 50 })) {
      const ref = (await a.run({ [input]: batch.inputs }))[a.outputNames[0]].toFloat64();
      const got = (await b.run({ [input]: batch.inputs }))[b.outputNames[0]].toFloat64();
      for (let i = 0; i < ref.length; i++) {
        s += ref[i] * ref[i];
        e += (got[i] - ref[i]) ** 2;
      }
      seen += batch.inputs.shape[0];
      if (seen >= limit) break;
    }
  } finally {
    await a.dispose();
    await b.dispose();
  }
  return 10 * Math.log10(s / e);
}

describe("pass 'gptq'", () => {
  it('chooses 3-bit weight codes whose model is closer to float32 than rounding to nearest, on the calibration and on unseen test images', async () => {
    const model = await loadModel(RESNET);
    const nearest = await quantize(model, { pipeline: BASE, data: 'fashion-mnist:calib', samples: 16 });
    const gptq = await quantize(model, { pipeline: `${BASE},gptq`, data: 'fashion-mnist:calib', samples: 16 });
    const facts = gptq.report.facts.filter((f) => f.pass === 'gptq');
    const layers = facts.filter((f) => f.key === 'weight').map((f) => f.value as { nearestDb: number; gptqDb: number; vectors: number });
    // The 8-bit first and last layers (quant-policy's rule) keep their nearest codes, and so do the six 3x3 convs
    // of the last stage: 16 images give them 16 x 7 x 7 input vectors for 576 columns, under min-vectors=4 per column.
    const skipped = facts.filter((f) => f.key === 'skipped');
    expect(skipped.map((f) => f.subject).sort()).toEqual(['fc.weight', ...[1, 2, 3].flatMap((b) => [`s3b${b}_a_conv.weight_bn`, `s3b${b}_b_conv.weight_bn`]), 'stem_conv.weight_bn']);
    expect(skipped.find((f) => f.subject === 's3b2_b_conv.weight_bn')!.value).toEqual({ reason: '784 input vectors for 576 columns (min-vectors=4 per column)' });
    expect(layers.length).toBe(14);
    for (const l of layers) expect(l.gptqDb).toBeGreaterThan(l.nearestDb);
    expect(layers[0].vectors).toBe(16 * 28 * 28);
    const calib = [await logitSqnr(model, nearest.model, 'fashion-mnist:calib', 16), await logitSqnr(model, gptq.model, 'fashion-mnist:calib', 16)];
    const test = [await logitSqnr(model, nearest.model, 'fashion-mnist:test', 200), await logitSqnr(model, gptq.model, 'fashion-mnist:test', 200)];
    expect(calib[1]).toBeGreaterThan(calib[0] + 2);
    expect(test[1]).toBeGreaterThan(test[0] + 2);
    // The HTML report lists every weight gptq saw: 14 with both figures, 8 with the reason they kept their codes.
    const html = renderReportHtml(reportData(gptq, { model: 'm.onnx', out: 'q.onnx' }));
    const table = html.slice(html.indexOf('<table id="gptq">'), html.indexOf('</table>', html.indexOf('<table id="gptq">')));
    expect(table.match(/<tr><td><code>/g)!.length).toBe(22);
    expect(table.match(/nearest codes kept: /g)!.length).toBe(8);
    expect(renderReportHtml(reportData(nearest, { model: 'm.onnx', out: 'q.onnx' }))).not.toContain('id="gptq"');
    // Same inputs, same codes.
    const again = await quantize(model, { pipeline: `${BASE},gptq`, data: 'fashion-mnist:calib', samples: 16 });
    const codes = (m: Model) => m.graph.initializers.filter((v) => v.name.endsWith('_quantized')).map((v) => Array.from(v.const!.toFloat64()).join(','));
    expect(codes(again.model)).toEqual(codes(gptq.model));
    // bias-correct leaves the weights gptq chose alone and says so.
    const total = (facts.find((f) => f.key === 'totals')!.value as { weights: number }).weights;
    const corrected = await quantize(model, { pipeline: `${BASE},gptq,bias-correct`, data: 'fashion-mnist:calib', samples: 16 });
    expect(corrected.report.facts.find((f) => f.pass === 'bias-correct' && f.key === 'corrected')!.value).toMatchObject({ weights: total - 14, leftToGptq: 14 });
  }, 300_000);

  it('refuses to run before quantize or after bias-correct, saying where it goes; warns when it can reach no weight', async () => {
    const model = await loadModel(RESNET);
    const eight = await quantize(model, { pipeline: 'fold-bn,quant-policy{w-bits=8,a-bits=8},clip-minmax,quantize,gptq', data: 'fashion-mnist:calib', samples: 4 });
    expect(eight.report.warnings.filter((w) => w.includes('gptq: no weight it can reach'))).toHaveLength(1);
    await expect(quantize(model, { pipeline: 'fold-bn,quant-policy{w-bits=4,a-bits=8},clip-minmax,gptq,quantize', data: 'fashion-mnist:calib', samples: 4 }))
      .rejects.toThrow(/gptq: no quantized weights/);
    await expect(quantize(model, { pipeline: `${BASE},bias-correct,gptq`, data: 'fashion-mnist:calib', samples: 4 }))
      .rejects.toThrow(/gptq: weight '.*' is already bias-corrected/);
  }, 120_000);
});
