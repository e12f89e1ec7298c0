import { type Box, iou, matchBoxes, precisionRecall, sqnrDb, textBoxes, unclip } from './text-boxes';

/** A height x width map with the given rectangles [x0, y0, x1, y1] (inclusive) set to p. */
function map(height: number, width: number, rects: [number, number, number, number, number][]): Float32Array {
  const m = new Float32Array(height * width);
  for (const [x0, y0, x1, y1, p] of rects) for (let y = y0; y <= y1; y++) for (let x = x0; x <= x1; x++) m[y * width + x] = p;
  return m;
}

const box = (x0: number, y0: number, x1: number, y1: number): Box => ({ x0, y0, x1, y1, score: 1, pixels: 0 });

describe('text boxes from a probability map', () => {
  it('finds each region with its bounds, mean score and pixel count, in raster order', () => {
    const m = map(20, 30, [[2, 3, 11, 6, 0.9], [20, 1, 27, 4, 0.7], [5, 12, 24, 16, 0.95]]);
    m[4 * 30 + 5] = 0.5; // one weaker pixel inside the first region lowers its mean
    const boxes = textBoxes(m, 20, 30);
    expect(boxes.map((b) => [b.x0, b.y0, b.x1, b.y1, b.pixels])).toEqual([[20, 1, 27, 4, 32], [2, 3, 11, 6, 40], [5, 12, 24, 16, 100]]);
    expect(boxes[1].score).toBeCloseTo((39 * 0.9 + 0.5) / 40, 6);
    expect(boxes[0].score).toBeCloseTo(0.7, 6);
  });

  it('joins pixels that touch only at a corner (8-connectivity)', () => {
    const m = map(10, 10, [[1, 1, 3, 3, 0.9], [4, 4, 6, 6, 0.9]]);
    expect(textBoxes(m, 10, 10).map((b) => [b.x0, b.y0, b.x1, b.y1])).toEqual([[1, 1, 6, 6]]);
  });

  it('binarises strictly above the threshold and drops weak or thin regions', () => {
    const m = map(12, 12, [[0, 0, 4, 4, 0.3], [6, 0, 10, 4, 0.5], [0, 7, 10, 8, 0.9], [11, 11, 11, 11, 0.9]]);
    // 0.3 is not above 0.3; 0.5 < 0.6 mean; the 11 x 2 strip is thinner than 3; the lone pixel too.
    expect(textBoxes(m, 12, 12)).toEqual([]);
    expect(textBoxes(m, 12, 12, { boxThreshold: 0.4, minSide: 1 }).map((b) => [b.x0, b.y0, b.x1, b.y1])).toEqual([[6, 0, 10, 4], [0, 7, 10, 8], [11, 11, 11, 11]]);
  });

  it('labels a region that fills the whole map without recursion', () => {
    const h = 600;
    const w = 800;
    const boxes = textBoxes(new Float32Array(h * w).fill(0.8), h, w);
    expect(boxes).toHaveLength(1);
    expect(boxes[0]).toMatchObject({ x0: 0, y0: 0, x1: w - 1, y1: h - 1, pixels: h * w });
  });
});

describe('box agreement', () => {
  it('computes IoU on inclusive pixel bounds', () => {
    expect(iou(box(0, 0, 9, 9), box(0, 0, 9, 9))).toBe(1);
    expect(iou(box(0, 0, 9, 9), box(5, 0, 14, 9))).toBeCloseTo(50 / 150, 12);
    expect(iou(box(0, 0, 9, 9), box(10, 0, 19, 9))).toBe(0);
  });

  it('matches one to one, best pairs first, and ignores pairs below the IoU threshold', () => {
    const ref = [box(0, 0, 9, 9), box(20, 0, 29, 9), box(40, 0, 49, 9)];
    // Two candidates for the first box (the better one wins), none good enough for the third.
    const got = [box(1, 0, 10, 9), box(0, 0, 9, 9), box(21, 0, 30, 9), box(45, 0, 54, 9)];
    const a = matchBoxes(ref, got);
    expect(a).toMatchObject({ reference: 3, compared: 4, matched: 2 });
    expect(a.meanIou).toBeCloseTo((1 + 90 / 110) / 2, 12);
    const pr = precisionRecall([a, matchBoxes([], [])]);
    expect(pr).toMatchObject({ matched: 2, reference: 3, compared: 4 });
    expect(pr.precision).toBeCloseTo(0.5, 12);
    expect(pr.recall).toBeCloseTo(2 / 3, 12);
    expect(pr.f1).toBeCloseTo((2 * 0.5 * (2 / 3)) / (0.5 + 2 / 3), 12);
  });

  it('counts no boxes on either side as agreement', () => {
    expect(precisionRecall([matchBoxes([], [])])).toMatchObject({ precision: 1, recall: 1, f1: 1 });
    expect(precisionRecall([matchBoxes([box(0, 0, 3, 3)], [])])).toMatchObject({ precision: 0, recall: 0, f1: 0 });
  });
});

describe('SQNR and unclip', () => {
  it('is 10 log10 of signal over noise energy, pooled over pairs', () => {
    // signal 1 + 4 + 9 + 16 = 30, noise 0.01 + 0.01 = 0.02
    const v = sqnrDb([{ reference: [1, 2], compared: [1.1, 2] }, { reference: [3, 4], compared: [3, 3.9] }]);
    expect(v).toBeCloseTo(10 * Math.log10(30 / 0.02), 9);
    expect(sqnrDb([{ reference: [1, 2], compared: [1, 2] }])).toBe(Infinity);
  });

  it('grows a box by area * ratio / perimeter and clamps it to the map', () => {
    // 20 x 10: d = 200 * 1.5 / 60 = 5
    expect(unclip(box(10, 10, 29, 19), 100, 100)).toMatchObject({ x0: 5, y0: 5, x1: 34, y1: 24 });
    expect(unclip(box(0, 0, 19, 9), 12, 100)).toMatchObject({ x0: 0, y0: 0, x1: 24, y1: 11 });
  });
});
