/*
 * A worker process of the accuracy benchmark (forked by run.ts): measures
 * the cells it is sent, one at a time, and answers each with its result.
 * Only the parent writes the cache. The float model and its reference
 * logits are read once per model.
 */
import type { Model } from '@nibble/ir';
import { loadModel } from 'nibble';
import { type CellResult, readLogits } from './cache';
import { type CellSpec, type FloatReference, measureCell } from './cell';

export interface WorkerTask {
  id: number;
  modelPath: string;
  logitsPath: string;
  float: Omit<FloatReference, 'logits'>;
  spec: CellSpec;
}

export type WorkerReply = { id: number; result: CellResult } | { id: number; error: string };

const models = new Map<string, Model>();
const references = new Map<string, FloatReference>();

async function handle(task: WorkerTask): Promise<CellResult> {
  let model = models.get(task.modelPath);
  if (!model) {
    model = await loadModel(task.modelPath);
    models.set(task.modelPath, model);
  }
  let reference = references.get(task.logitsPath);
  if (!reference) {
    const logits = readLogits(task.logitsPath);
    if (!logits || logits.length !== task.float.n * task.float.classes) {
      throw new Error(`${task.logitsPath}: float32 logits missing or of the wrong size`);
    }
    reference = { ...task.float, logits };
    references.set(task.logitsPath, reference);
  }
  return measureCell(model, task.spec, reference);
}

if (!process.send) {
  console.error('tools/bench/accuracy/worker.ts is started by run.ts (it needs an IPC channel)');
  process.exit(2);
}

// Tasks arrive one at a time (the parent waits for each reply), so they never overlap.
process.on('message', (task: WorkerTask) => {
  handle(task).then(
    (result) => process.send!({ id: task.id, result } satisfies WorkerReply),
    (e: unknown) => process.send!({ id: task.id, error: e instanceof Error ? (e.stack ?? e.message) : String(e) } satisfies WorkerReply),
  );
});
// A parent that dies (killed benchmark) must not leave workers behind.
process.on('disconnect', () => process.exit(1));
