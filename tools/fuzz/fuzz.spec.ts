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
