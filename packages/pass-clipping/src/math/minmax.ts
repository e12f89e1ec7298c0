import { ClipRange } from './aciq';

/** The naive baseline: the observed range; lo = 0 for a one-sided (ReLU-fed) tensor. */
export function minMaxRange(stats: { min: number; max: number }, oneSided = false): ClipRange {
  return oneSided ? { lo: 0, hi: Math.max(stats.max, 0) } : { lo: stats.min, hi: stats.max };
}
