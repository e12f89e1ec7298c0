import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadModel } from 'nibble';
import { readCharacterSet } from './ctc';
import { DET_MODEL, detSample, DICTIONARY, probabilityMaps, REC_MODEL } from './detect';
import { readRgb, recInput } from './ocr-inputs';
import { recognize } from './recognize';
import { textBoxes } from './text-boxes';

/*
 * The benchmark's float32 side on the real models and the committed data:
 * if preprocessing (channel order, normalisation, padding), the character
 * set or the decoding were wrong, PP-OCRv4 would not read the four words.
 */
const ROOT = join(__dirname, '..', '..', '..');
const WORDS = join(ROOT, 'data', 'text', 'words');

describe('PP-OCRv4 float32 on data/text', () => {
  it('reads the four test words exactly, with high confidence', async () => {
    const model = await loadModel(join(ROOT, REC_MODEL));
    const set = readCharacterSet(join(ROOT, DICTIONARY), 6625);
    const labels = readFileSync(join(WORDS, 'labels.csv'), 'utf8').trim().split('\n').slice(1).map((l) => l.split(','));
    expect(labels.map(([, text]) => text)).toEqual(['CHINA', 'HERE', 'riser', 'Produkt']);
    const { decoded } = await recognize(model, labels.map(([file]) => recInput(readRgb(join(WORDS, file)))), set);
    expect(decoded.map((d) => d.text)).toEqual(labels.map(([, text]) => text));
    for (const d of decoded) expect(d.confidence).toBeGreaterThan(0.9);
  }, 60_000);

  it('finds the five lines of the parking sign', async () => {
    const model = await loadModel(join(ROOT, DET_MODEL));
    const s = detSample('scenetext01.jpg', readRgb(join(ROOT, 'data', 'text', 'scenes', 'scenetext01.jpg')));
    expect([s.height, s.width]).toEqual([480, 640]);
    const [map] = await probabilityMaps(model, [s]);
    const boxes = textBoxes(map, s.height, s.width);
    expect(boxes).toHaveLength(5);
    // Stacked lines of one sign: one column, top to bottom, none overlapping the next.
    for (const b of boxes) {
      expect(b.x0).toBeGreaterThan(200);
      expect(b.x1).toBeLessThan(350);
    }
    for (let i = 1; i < boxes.length; i++) expect(boxes[i].y0).toBeGreaterThan(boxes[i - 1].y1);
  }, 60_000);
});
