import { fuzzTarget, targets, type Target } from './targets';

/*
 * The CI fuzz run: 2,000 seeded mutants per reader (bounded work, not
 * time), each read or refused with a typed user error. A finding prints its
 * target and index: `npx tsx tools/fuzz/run.ts --only <target>` replays it.
 */
const RUNS = 2000;
const SEED = 1;

const all: Target[] = targets();
afterAll(() => all.forEach((t) => t.dispose?.()));

describe('fuzz: every hostile input is read or refused with a typed user error', () => {
  it.each(all.map((t) => [t.name, t] as const))('%s: 2,000 mutants, 0 untyped errors', async (_name, t) => {
    const fig = await fuzzTarget(t, SEED, RUNS);
    expect(fig.inputs).toBe(RUNS);
    expect(fig.findings).toEqual([]);
    // Both outcomes occur: the mutants reach past the first check, and the reader refuses damage.
    expect(fig.rejected).toBeGreaterThan(0);
  }, 120_000);
});

describe('fuzz: findings of the long runs stay fixed', () => {
  // `run.ts --runs 100000 --seed 2` found these TFLite mutants: an operator reading an omitted input (-1 or a short
  // list) in a constant fold, an output naming tensor -1, float paddings reaching an int64 constant. All typed now.
  const FOUND = [9629, 14065, 16068, 26653, 29078, 33990, 49467, 52087, 56422, 57893, 67846, 71842, 72326];
  it.each(FOUND)('tflite, seed 2, mutant %i', async (index) => {
    const fig = await fuzzTarget(all.find((t) => t.name === 'tflite')!, 2, 1, index);
    expect(fig.findings).toEqual([]);
    expect(fig.rejected).toBe(1);
  });
});
