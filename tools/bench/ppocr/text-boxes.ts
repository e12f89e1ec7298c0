/*
 * Text boxes out of a DBNet probability map, and how two sets of boxes
 * agree. The map is binarised, its 8-connected regions become axis-aligned
 * boxes, and a box is kept when the mean probability inside its region
 * reaches a threshold (PP-OCR's defaults: 0.3 to binarise, 0.6 per box;
 * PP-OCR fits rotated rectangles to contours, the upright boxes here are
 * enough to compare two maps of the same image).
 */

export interface Box {
  /** Inclusive pixel bounds on the map. */
  x0: number;
  y0: number;
  x1: number;
  y1: number;
  /** Mean probability over the region's pixels. */
  score: number;
  /** Pixels in the region. */
  pixels: number;
}

export interface BoxOptions {
  /** Probability above which a pixel is text (default 0.3). */
  threshold?: number;
  /** Mean region probability a box needs (default 0.6). */
  boxThreshold?: number;
  /** Shorter side, in pixels, below which a box is dropped (default 3). */
  minSide?: number;
}

/**
 * Labels the 8-connected regions of `prob > threshold` on a height x width
 * map, in raster order of each region's first pixel, and returns their
 * boxes. An explicit stack (no recursion) keeps large regions safe.
 */
export function textBoxes(prob: Float32Array, height: number, width: number, options: BoxOptions = {}): Box[] {
  const threshold = options.threshold ?? 0.3;
  const boxThreshold = options.boxThreshold ?? 0.6;
  const minSide = options.minSide ?? 3;
  if (prob.length !== height * width) throw new Error(`textBoxes: ${prob.length} values is not ${height} x ${width}`);
  const seen = new Uint8Array(height * width);
  const stack = new Int32Array(height * width);
  const boxes: Box[] = [];
  for (let start = 0; start < prob.length; start++) {
    if (seen[start] || !(prob[start] > threshold)) continue;
    let top = 0;
    stack[top++] = start;
    seen[start] = 1;
    let x0 = width, y0 = height, x1 = -1, y1 = -1, sum = 0, pixels = 0;
    while (top > 0) {
      const p = stack[--top];
      const y = Math.floor(p / width);
      const x = p - y * width;
      x0 = Math.min(x0, x); x1 = Math.max(x1, x);
      y0 = Math.min(y0, y); y1 = Math.max(y1, y);
      sum += prob[p];
      pixels++;
      for (let dy = -1; dy <= 1; dy++) {
        const ny = y + dy;
        if (ny < 0 || ny >= height) continue;
        for (let dx = -1; dx <= 1; dx++) {
          const nx = x + dx;
          if (nx < 0 || nx >= width) continue;
          const q = ny * width + nx;
          if (!seen[q] && prob[q] > threshold) {
            seen[q] = 1;
            stack[top++] = q;
          }
        }
      }
    }
    const score = sum / pixels;
    if (score < boxThreshold || Math.min(x1 - x0 + 1, y1 - y0 + 1) < minSide) continue;
    boxes.push({ x0, y0, x1, y1, score, pixels });
  }
  return boxes;
}

/** Intersection over union of two boxes with inclusive pixel bounds. */
export function iou(a: Box, b: Box): number {
  const w = Math.min(a.x1, b.x1) - Math.max(a.x0, b.x0) + 1;
  const h = Math.min(a.y1, b.y1) - Math.max(a.y0, b.y0) + 1;
  if (w <= 0 || h <= 0) return 0;
  const inter = w * h;
  const area = (r: Box) => (r.x1 - r.x0 + 1) * (r.y1 - r.y0 + 1);
  return inter / (area(a) + area(b) - inter);
}

export interface BoxAgreement {
  /** Boxes of the reference (float) map, of the compared (quantized) map, and one-to-one pairs with IoU >= the threshold. */
  reference: number;
  compared: number;
  matched: number;
  /** Mean IoU over the matched pairs (NaN when none). */
  meanIou: number;
}

/**
 * One-to-one matching: all pairs at or above `minIou`, taken greedily by
 * decreasing IoU (ties by reference index, then compared index), each box
 * used once. Greedy equals the optimum whenever every box overlaps at most
 * one box of the other set that well, which is the case for text boxes that
 * do not overlap each other.
 */
export function matchBoxes(reference: readonly Box[], compared: readonly Box[], minIou = 0.5): BoxAgreement {
  const pairs: { i: number; j: number; v: number }[] = [];
  reference.forEach((a, i) => compared.forEach((b, j) => {
    const v = iou(a, b);
    if (v >= minIou) pairs.push({ i, j, v });
  }));
  pairs.sort((p, q) => q.v - p.v || p.i - q.i || p.j - q.j);
  const usedR = new Set<number>();
  const usedC = new Set<number>();
  let matched = 0;
  let sum = 0;
  for (const p of pairs) {
    if (usedR.has(p.i) || usedC.has(p.j)) continue;
    usedR.add(p.i);
    usedC.add(p.j);
    matched++;
    sum += p.v;
  }
  return { reference: reference.length, compared: compared.length, matched, meanIou: matched ? sum / matched : NaN };
}

/** Precision, recall and F1 of compared boxes against the reference boxes, summed over images first. */
export function precisionRecall(parts: readonly BoxAgreement[]): { precision: number; recall: number; f1: number; matched: number; reference: number; compared: number } {
  const reference = parts.reduce((s, p) => s + p.reference, 0);
  const compared = parts.reduce((s, p) => s + p.compared, 0);
  const matched = parts.reduce((s, p) => s + p.matched, 0);
  // No boxes on either side is perfect agreement, not 0/0.
  const precision = compared ? matched / compared : reference ? 0 : 1;
  const recall = reference ? matched / reference : 1;
  const f1 = precision + recall > 0 ? (2 * precision * recall) / (precision + recall) : 0;
  return { precision, recall, f1, matched, reference, compared };
}

/**
 * Signal-to-quantization-noise ratio in dB, 10 log10(sum x^2 / sum (x - y)^2),
 * float64 sums over every element of every pair; +Infinity when y equals x.
 */
export function sqnrDb(pairs: readonly { reference: ArrayLike<number>; compared: ArrayLike<number> }[]): number {
  let signal = 0;
  let noise = 0;
  for (const { reference: x, compared: y } of pairs) {
    if (x.length !== y.length) throw new Error(`sqnrDb: ${x.length} values against ${y.length}`);
    for (let i = 0; i < x.length; i++) {
      signal += x[i] * x[i];
      const d = x[i] - y[i];
      noise += d * d;
    }
  }
  return noise === 0 ? Infinity : 10 * Math.log10(signal / noise);
}

/**
 * A box grown by PP-OCR's unclip distance, area * ratio / perimeter (DBNet
 * shrinks text regions by that much in training), clamped to the map.
 */
export function unclip(box: Box, height: number, width: number, ratio = 1.5): Box {
  const w = box.x1 - box.x0 + 1;
  const h = box.y1 - box.y0 + 1;
  const d = (w * h * ratio) / (2 * (w + h));
  return {
    ...box,
    x0: Math.max(0, Math.floor(box.x0 - d)),
    y0: Math.max(0, Math.floor(box.y0 - d)),
    x1: Math.min(width - 1, Math.ceil(box.x1 + d)),
    y1: Math.min(height - 1, Math.ceil(box.y1 + d)),
  };
}
