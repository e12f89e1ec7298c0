import { NibbleError } from '@nibble/ir';
import type { CollectorInput } from './channels';
import { TensorStatsCollector, type TensorStats, type TensorStatsOptions } from './tensor-stats';

/**
 * One pass over the data: for each batch, the observed tensors by name (e.g.
 * the activations an Executor fetched). Called once, and a second time with
 * pass = 2 only if some statistic needs it; the second call must yield the
 * same batches (any order), e.g. the same dataset with the same seed and limit.
 */
export type TensorStream = (pass: 1 | 2) => AsyncIterable<Readonly<Record<string, CollectorInput>>>;

export interface CollectResult {
  readonly stats: ReadonlyMap<string, TensorStats>;
  /** How many passes over the data were made (1 or 2). */
  readonly passes: 1 | 2;
}

/**
 * Runs TensorStatsCollectors over a stream: the loop the calibration analysis
 * drives, without knowing where the tensors come from. Every named tensor must
 * appear in every batch.
 */
export async function collectTensorStats(
  specs: Readonly<Record<string, TensorStatsOptions>>, stream: TensorStream,
): Promise<CollectResult> {
  const collectors = new Map<string, TensorStatsCollector>();
  for (const [name, options] of Object.entries(specs)) collectors.set(name, new TensorStatsCollector({ name, ...options }));
  await feed(collectors, stream(1), false);
  const second = [...collectors.values()].some((c) => c.needsSecondPass);
  if (second) await feed(collectors, stream(2), true);
  const stats = new Map<string, TensorStats>();
  for (const [name, c] of collectors) stats.set(name, c.result());
  return { stats, passes: second ? 2 : 1 };
}

async function feed(collectors: Map<string, TensorStatsCollector>, batches: AsyncIterable<Readonly<Record<string, CollectorInput>>>, second: boolean): Promise<void> {
  for await (const batch of batches) {
    for (const [name, c] of collectors) {
      const t = batch[name];
      if (t === undefined) {
        throw new NibbleError('E_INTERNAL', `statistics of '${name}': a batch of pass ${second ? 2 : 1} lacks this tensor`, {
          value: name, hint: 'fetch every observed value in every batch',
        });
      }
      if (second) c.updateSecondPass(t);
      else c.update(t);
    }
  }
}
