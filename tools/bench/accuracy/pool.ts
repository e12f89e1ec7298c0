/*
 * Runs benchmark cells in worker processes (worker.ts), each
 * single-threaded, `jobs` at a time. Results come back in completion
 * order; the caller records each one as it arrives.
 */
import { type ChildProcess, fork } from 'node:child_process';
import { join } from 'node:path';
import type { CellResult } from './cache';
import type { WorkerReply, WorkerTask } from './worker';

const WORKER = join(__dirname, 'worker.ts');

export async function runPool(
  tasks: readonly Omit<WorkerTask, 'id'>[],
  jobs: number,
  onResult: (task: Omit<WorkerTask, 'id'>, result: CellResult) => void,
): Promise<void> {
  if (tasks.length === 0) return;
  let next = 0;
  let failure: Error | undefined;
  const workers: ChildProcess[] = [];
  const one = (): Promise<void> =>
    new Promise((resolve, reject) => {
      // The parent's execArgv carries tsx's loader, so the worker runs TypeScript the same way.
      const child = fork(WORKER, [], { execArgv: process.execArgv, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
      workers.push(child);
      let current: number | undefined;
      const send = () => {
        current = undefined;
        if (failure || next >= tasks.length) {
          child.disconnect();
          return;
        }
        const id = next++;
        current = id;
        child.send({ ...tasks[id], id } satisfies WorkerTask);
      };
      child.on('message', (reply: WorkerReply) => {
        if ('error' in reply) {
          failure ??= new Error(`cell ${JSON.stringify(tasks[reply.id].spec)} of ${tasks[reply.id].modelPath} failed:\n${reply.error}`);
          child.disconnect();
          return;
        }
        onResult(tasks[reply.id], reply.result);
        send();
      });
      child.on('error', reject);
      child.on('exit', (code, signal) => {
        if (!failure && current !== undefined) {
          failure = new Error(`a benchmark worker exited (code ${code}, signal ${signal}) while measuring ${JSON.stringify(tasks[current].spec)}`);
        }
        resolve();
      });
      send();
    });
  const n = Math.max(1, Math.min(jobs, tasks.length));
  try {
    await Promise.all(Array.from({ length: n }, one));
  } finally {
    for (const w of workers) if (w.exitCode === null && w.signalCode === null) w.kill();
  }
  if (failure) throw failure;
}
