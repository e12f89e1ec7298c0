import { SeededRandom } from '@nibble/quant';
import { absHistogram, capHistogram, cdfAt, cdfAtSorted, checkHistogram, histogramOf, occupiedRange, quantile, rebin, reluHistogram, totalMass } from './histogram';

function randomHistogram(seed: number, n = 40) {
  const r = new SeededRandom(seed);
  const edges = new Float64Array(n + 1);
  edges[0] = -3 + r.uniform();
  for (let i = 1; i <= n; i++) edges[i] = edges[i - 1] + 0.02 + r.uniform() * 0.3;
  const counts = Float64Array.from({ length: n }, () => (r.uniform() < 0.2 ? 0 : Math.floor(r.uniform() * 100)));
  return { counts, edges };
}

describe('histogram reading (piecewise uniform)', () => {
  const h = { counts: [2, 0, 6], edges: [-1, 0, 1, 3] };

  it('cdf interpolates within bins and sweeps sorted points', () => {
    expect(cdfAt(h, -2)).toBe(0);
    expect(cdfAt(h, -0.5)).toBe(1);
    expect(cdfAt(h, 0.5)).toBe(2);
    expect(cdfAt(h, 2)).toBe(5);
    expect(cdfAt(h, 9)).toBe(8);
    expect(Array.from(cdfAtSorted(h, [-0.5, 0.5, 2, 9]))).toEqual([1, 2, 5, 8]);
  });

  it('quantile inverts the cdf', () => {
    const g = randomHistogram(1);
    const total = totalMass(g);
    for (const p of [0.001, 0.1, 0.5, 0.9, 0.999]) expect(cdfAt(g, quantile(g, p)) / total).toBeCloseTo(p, 10);
    expect(quantile(h, 0.25)).toBe(0);
    expect(quantile(h, 1)).toBe(3);
  });

  it('relu view: mass below 0 becomes a point mass at 0, the rest is unchanged', () => {
    const g = randomHistogram(2);
    const r = reluHistogram(g);
    checkHistogram(r);
    expect(totalMass(r)).toBeCloseTo(totalMass(g), 9);
    expect(r.edges[0]).toBe(0);
    expect(cdfAt(r, 0)).toBeCloseTo(cdfAt(g, 0), 9);
    for (const x of [0.1, 0.7, 1.9, 4]) expect(cdfAt(r, x)).toBeCloseTo(cdfAt(g, x), 9);
  });

  it('cap view: cdf of min(x, u) is F below u and the whole mass at u; nothing above u leaves it unchanged', () => {
    const h = randomHistogram(3);
    const total = totalMass(h);
    for (const u of [-2.5, 0, 1.234, h.edges[10]]) {
      const c = capHistogram(h, u);
      checkHistogram(c);
      expect(totalMass(c)).toBeCloseTo(total, 9);
      expect(occupiedRange(c).hi).toBeLessThanOrEqual(u);
      for (const t of [-2.7, -1, u - 0.01, 0.5]) if (t < u) expect(cdfAt(c, t)).toBeCloseTo(cdfAt(h, t), 9);
      expect(cdfAt(c, u)).toBeCloseTo(total, 9);
    }
    expect(capHistogram(h, h.edges[h.edges.length - 1])).toBe(h);
    // All the mass above u: one point mass at u.
    expect(capHistogram({ counts: [2, 3], edges: [1, 2, 3] }, 0.5)).toEqual({ counts: Float64Array.from([5]), edges: Float64Array.from([0.5, 0.5]) });
  });

  it('abs view: cdf_|x|(t) = F(t) - F(-t)', () => {
    for (const seed of [3, 4, 5]) {
      const g = randomHistogram(seed);
      const a = absHistogram(g);
      checkHistogram(a);
      expect(a.edges[0]).toBeGreaterThanOrEqual(0);
      expect(totalMass(a)).toBeCloseTo(totalMass(g), 9);
      for (const t of [0.05, 0.4, 1.3, 2.2, 7]) expect(cdfAt(a, t)).toBeCloseTo(cdfAt(g, t) - cdfAt(g, -t), 9);
    }
  });

  it('relu and abs views: exact layouts (point mass first, gaps as one empty bin, mirrored bins merged, zero as +0)', () => {
    const r = reluHistogram({ counts: [2, 1, 0, 0, 4], edges: [-1, -0, 1, 1.5, 2, 3] });
    expect(r).toEqual({ counts: Float64Array.from([2, 1, 0, 4]), edges: Float64Array.from([0, 0, 1, 2, 3]) });
    expect(Object.is(r.edges[0], 0)).toBe(true);
    const a = absHistogram({ counts: [1, 2, 3, 4], edges: [-2, -1, -0, 1, 2] });
    expect(a).toEqual({ counts: Float64Array.from([5, 5]), edges: Float64Array.from([0, 1, 2]) });
    expect(Object.is(a.edges[0], 0)).toBe(true);
    // A bin straddling 0 splits by length; a zero-width bin stays a point mass, mirrored.
    expect(absHistogram({ counts: [4], edges: [-1, 3] })).toEqual({ counts: Float64Array.from([2, 2]), edges: Float64Array.from([0, 1, 3]) });
    expect(absHistogram({ counts: [3, 0, 1], edges: [-2, -2, 1, 2] })).toEqual({ counts: Float64Array.from([1, 3]), edges: Float64Array.from([1, 2, 2]) });
    expect(absHistogram({ counts: [0, 0], edges: [-1, 0, 1] })).toEqual({ counts: [0], edges: [0, 0] });
  });

  it('rebin conserves mass and agrees with the cdf at the new edges', () => {
    const g = randomHistogram(6);
    const edges = [-1, -0.5, 0, 0.25, 2];
    const r = rebin(g, edges);
    expect(totalMass(r)).toBeCloseTo(totalMass(g), 9);
    for (let i = 1; i < edges.length - 1; i++) expect(cdfAt(r, edges[i])).toBeCloseTo(cdfAt(g, edges[i]), 9);
  });

  it('histogramOf bins samples and occupiedRange finds the mass', () => {
    const x = [0, 0.1, 0.5, 0.99, 1];
    const g = histogramOf(x, 4);
    expect(Array.from(g.counts)).toEqual([2, 0, 1, 2]);
    expect(occupiedRange({ counts: [0, 3, 0], edges: [0, 1, 2, 3] })).toEqual({ lo: 1, hi: 2 });
  });

  it('rejects malformed histograms', () => {
    expect(() => checkHistogram({ counts: [1, 2], edges: [0, 1] })).toThrow(expect.objectContaining({ code: 'E_SHAPE' }));
    expect(() => checkHistogram({ counts: [1], edges: [1, 0] })).toThrow(expect.objectContaining({ code: 'E_NUMERIC' }));
    expect(() => checkHistogram({ counts: [-1], edges: [0, 1] })).toThrow(expect.objectContaining({ code: 'E_NUMERIC' }));
  });
});
