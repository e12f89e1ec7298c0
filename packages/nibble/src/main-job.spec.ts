import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { argmax } from './agreement';
import { defaultModelPath } from './defaults';
import { evaluate } from './evaluate';
import { loadModel } from './load';
import { runMainJob } from './main-job';

/*
 * The main job end to end on a small slice: every row is measured on the file it wrote, and the agreement with
 * float32 it reports is the one a reader recomputes from the two files' logits.
 */
describe('runMainJob', () => {
  let dir: string;
  beforeAll(() => { dir = mkdtempSync(join(tmpdir(), 'nibble-main-job-')); });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('writes the quantized model, report.json and an HTML report with the accuracy against float', async () => {
    const report = await runMainJob({
      model: defaultModelPath(), calibration: 'fashion-mnist:calib', test: 'fashion-mnist:test', testLimit: 300,
      samples: 8, seed: 0, recipes: ['w4a4-baseline'], outDir: dir,
    });
    expect(report.rows.map((r) => r.name)).toEqual(['float32', 'w4a4-baseline']);
    const q = report.rows[1];
    expect(q.n).toBe(300);
    // Recompute the agreement from the two models' logits.
    const f = await evaluate(await loadModel(defaultModelPath()), { data: 'fashion-mnist:test', limit: 300, keepLogits: true });
    const r = await evaluate(await loadModel(q.file), { data: 'fashion-mnist:test', limit: 300, keepLogits: true });
    expect(r.top1).toBe(q.top1);
    const k = f.classes!;
    let agree = 0;
    for (let i = 0; i < 300; i++) {
      if (argmax(f.logits!.subarray(i * k, (i + 1) * k)) === argmax(r.logits!.subarray(i * k, (i + 1) * k))) agree++;
    }
    expect(q.agreement).toBe(agree / 300);
    expect(q.agreement!).toBeLessThan(1); // 4-bit: some samples move
    expect(q.meanKl!).toBeGreaterThan(0);
    const json = JSON.parse(readFileSync(join(dir, 'report.json'), 'utf8'));
    expect(json.rows[1].agreement).toBe(q.agreement);
    const html = readFileSync(q.report!, 'utf8');
    expect(html).toContain('id="accuracy"');
    expect(html).toContain(`${(100 * q.top1).toFixed(2)} % quantized`);
    expect(html).toContain(`${300 - agree} of 300 differ`);
  }, 180_000);
});
