/**
 * Throughput of @nibble/stats' collectors on one [32, 64, 28, 28] float32
 * activation batch (1.6M values), per channel along axis 1, as the
 * calibration of a small CNN feeds them (Laplace-distributed values).
 * Run: npx tsx --tsconfig tsconfig.base.json tools/bench/stats/collectors.ts
 */
import { SeededRandom, Tensor } from '@nibble/ir';
import {
  AbsDeviationCollector, HistogramCollector, MomentsCollector, TensorStatsCollector, type StatsCollector,
} from '@nibble/stats';

const shape = [32, 64, 28, 28];
const size = shape.reduce((a, b) => a * b, 1);
const rand = new SeededRandom(1);
const batches = Array.from({ length: 16 }, () => {
  const x = new Float32Array(size);
  for (let i = 0; i < size; i++) x[i] = rand.laplace(0.1, 1);
  return new Tensor('float32', shape, x);
});

function bench(name: string, make: () => StatsCollector<unknown>, rounds = 3): void {
  let best = Infinity;
  for (let r = 0; r < rounds; r++) {
    const col = make();
    const t0 = performance.now();
    for (const b of batches) col.update(b);
    col.result();
    best = Math.min(best, (performance.now() - t0) / batches.length);
  }
  console.log(`${name.padEnd(44)} ${best.toFixed(1).padStart(7)} ms/batch  ${((size / best) * 1e3 / 1e6).toFixed(0).padStart(5)} M values/s`);
}

console.log(`per channel, axis 1, batch [${shape.join(',')}] float32, ${batches.length} batches, best of rounds`);
bench('moments (count/min/max/mean/std)', () => new MomentsCollector({ axis: 1 }));
bench('mean abs deviation, one pass (banded)', () => new AbsDeviationCollector({ axis: 1 }));
bench('mean abs deviation, two-pass (first pass)', () => new AbsDeviationCollector({ axis: 1, mode: 'two-pass' }));
bench('histogram, 2048 bins', () => new HistogramCollector({ axis: 1 }));
bench('all (moments + mad + histogram)', () => new TensorStatsCollector({ axis: 1, histogram: { bins: 2048 } }));
bench('all, per tensor', () => new TensorStatsCollector({ histogram: { bins: 2048 } }));
