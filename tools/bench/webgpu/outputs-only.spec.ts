import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { datasetFromArrays } from '@nibble/data';
import { buildCase, CONFORMANCE_CASES, describeWithWebGpu } from '@nibble/testing';
import { measureOutputs, type OutputsRun } from './outputs-only';

/*
 * exactness.ts --outputs-only on a small integer conv (a conformance case) and
 * a 10-image dataset: the webgpu outputs equal the wasm backend's, and the
 * progress file makes a second run resume instead of redoing or mixing.
 */
describeWithWebGpu('exactness --outputs-only: batches, comparison and resuming', () => {
  const dir = mkdtempSync(join(tmpdir(), 'webgpu-outputs-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const built = buildCase(CONFORMANCE_CASES.find((c) => c.name.startsWith('int: 1x1 conv, per-tensor 4-bit'))!);
  const [C, H, W] = built.feed.shape.slice(1);
  const N = 10;
  const data = datasetFromArrays({ data: Float32Array.from({ length: N * C * H * W }, (_, i) => Math.sin(i * 0.37) * 2), shape: [N, C, H, W], layout: 'nchw', file: 'mem' });
  const run = (over: Partial<OutputsRun>): OutputsRun => ({
    model: 'case', recipe: 'r', qdq: built.qdq, bytes: Uint8Array.of(1, 2, 3), data, offset: 0, images: N, batch: 4, progress: join(dir, 'p.jsonl'), ...over,
  });

  it('compares every batch, records one line per batch, and resumes from them', async () => {
    const first = await measureOutputs(run({ images: 6 }));
    expect(first).toMatchObject({ images: 6, outputsDiffering: 0, sameTop1Wasm: 6, resumed: 0 });
    expect(readFileSync(join(dir, 'p.jsonl'), 'utf8').trim().split('\n')).toHaveLength(2);
    // The whole range: the two batches done are read back, the rest run (the batch 4..7 was cut at 6: 6..7, then 8..9).
    const all = await measureOutputs(run({}));
    expect(all).toMatchObject({ images: N, outputsDiffering: 0, sameTop1Wasm: N, resumed: 2 });
    const starts = readFileSync(join(dir, 'p.jsonl'), 'utf8').trim().split('\n').map((l) => (JSON.parse(l) as { start: number }).start);
    expect(starts).toEqual([0, 4, 6, 8]);
    // Nothing left: no new line.
    await measureOutputs(run({}));
    expect(readFileSync(join(dir, 'p.jsonl'), 'utf8').trim().split('\n')).toHaveLength(4);
  }, 120_000);

  it('refuses to add batches of another quantized file to a progress file', async () => {
    writeFileSync(join(dir, 'q.jsonl'), `${JSON.stringify({ model: 'case', recipe: 'r', file: 'other', start: 0, images: 4 })}\n`);
    await expect(measureOutputs(run({ progress: join(dir, 'q.jsonl') }))).rejects.toThrow(/another file/);
  });
});
