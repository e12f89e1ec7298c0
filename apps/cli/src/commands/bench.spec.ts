import { join } from 'node:path';
import { cli } from '../testing/run-cli';

const RESNET = join(__dirname, '..', '..', '..', '..', 'models', 'fmnist-resnet20.onnx');

describe('nibble bench', () => {
  it('times each named backend on one input and reports our weight bytes (structure, not speed)', async () => {
    const r = await cli('bench', RESNET, '--data', 'fashion-mnist:calib', '--backend', 'wasm,ort-wasm', '--samples', '8', '--runs', '3', '--json');
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    const j = JSON.parse(r.out);
    expect(j.input).toEqual([1, 1, 28, 28]);
    expect(j.rows.map((x: { backend: string }) => x.backend)).toEqual(['wasm', 'ort-wasm']);
    for (const row of j.rows) {
      expect(row.latencyMs.runs).toBe(3);
      expect(row.latencyMs.median).toBeGreaterThan(0);
      expect(row.latencyMs.p90).toBeGreaterThanOrEqual(row.latencyMs.median);
    }
    // 4-bit weights packed two to a byte: about an eighth of the float32 weights (ResNet-20: ~0.27 M parameters).
    const ours = j.rows[0];
    expect(ours.weightBytes).toBeGreaterThan(0.27e6 / 2 * 0.9);
    expect(ours.weightBytes).toBeLessThan(0.27e6 * 4 / 4);
    expect(ours.arenaBytes).toBeGreaterThan(0);
    expect(j.rows[1].weightBytes).toBeNull();
  }, 180_000);

  it('refuses an unknown backend, tfjs-wasm on an ONNX file, more than one thread, and a missing --data', async () => {
    const unknown = await cli('bench', RESNET, '--data', 'fashion-mnist:calib', '--backend', 'wasm,tpu', '--json');
    expect(unknown.code).toBe(2);
    expect(JSON.parse(unknown.err).error).toMatchObject({ code: 'E_BAD_OPTION', option: 'backend' });
    expect(unknown.err).toContain('tpu');
    const tfjs = await cli('bench', RESNET, '--data', 'fashion-mnist:calib', '--backend', 'tfjs-wasm', '--runs', '1', '--json');
    expect(tfjs.code).toBe(2);
    expect(JSON.parse(tfjs.err).error.message).toContain('TF.js model.json');
    const threads = await cli('bench', RESNET, '--data', 'fashion-mnist:calib', '--threads', '4', '--json');
    expect(threads.code).toBe(2);
    expect(JSON.parse(threads.err).error.option).toBe('threads');
    const noData = await cli('bench', RESNET, '--json');
    expect(noData.code).toBe(2);
    expect(JSON.parse(noData.err).error.option).toBe('data');
  }, 60_000);
});
