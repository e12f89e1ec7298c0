import type { Graph } from '@nibble/ir';
import { TensorStatsCollector } from '../tensor-stats';
import { perTensorStats, type ValueStatistics } from './calibration-stats';
import { weightTargets } from './targets';

export interface WeightStatsOptions {
  histogram?: { bins?: number } | false;
  perChannel?: boolean;
}

/**
 * Statistics of every float constant the graph's nodes read, straight from
 * the tensors (no executor): the whole tensor is at hand, so the mean
 * absolute deviation is always the exact two-pass one.
 */
export function weightStatistics(graph: Graph, options: WeightStatsOptions = {}): ValueStatistics[] {
  return weightTargets(graph).map(({ name, tensor, axis }) => {
    const run = (a: number | null) => {
      const c = new TensorStatsCollector({ axis: a, name, mad: 'two-pass', histogram: options.histogram ?? false });
      c.update(tensor);
      if (c.needsSecondPass) c.updateSecondPass(tensor);
      return c.result();
    };
    const whole = run(null);
    const perChannel = options.perChannel !== false && axis !== null ? run(axis) : undefined;
    return {
      name, kind: 'weight' as const, shape: [...tensor.shape], axis: perChannel ? axis : null,
      perTensor: perTensorStats(whole), ...(perChannel ? { perChannel } : {}),
    };
  });
}
