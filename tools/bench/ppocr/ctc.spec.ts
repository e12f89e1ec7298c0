import { characterSet, ctcGreedyDecode } from './ctc';
import { editDistance } from './recognize';

/** [steps, classes] probabilities from one winning class per step (p) with the rest spread evenly. */
function path(winners: number[], classes: number, p = 0.9): Float32Array {
  const out = new Float32Array(winners.length * classes).fill((1 - p) / (classes - 1));
  winners.forEach((c, t) => (out[t * classes + c] = p));
  return out;
}

describe('PP-OCR character set', () => {
  it('puts the blank first and the space last when the model has two more classes than the dictionary', () => {
    const set = characterSet('a\nb\nc\n', 5);
    expect(set.chars).toEqual(['', 'a', 'b', 'c', ' ']);
    expect(set.withSpace).toBe(true);
  });

  it('has no space class when the model has one more class than the dictionary, and reads CRLF files', () => {
    expect(characterSet('a\r\nb', 3)).toEqual({ chars: ['', 'a', 'b'], withSpace: false });
  });

  it('rejects a dictionary that does not fit the model', () => {
    expect(() => characterSet('a\nb', 7)).toThrow(/2 characters, the model 7 classes/);
  });

  it('reads the shipped dictionary as 6623 characters plus blank and space (6625 classes)', () => {
    const { readFileSync } = jest.requireActual('node:fs') as typeof import('node:fs');
    const { join } = jest.requireActual('node:path') as typeof import('node:path');
    const text = readFileSync(join(__dirname, '..', '..', '..', 'node_modules', '@gutenye', 'ocr-models', 'assets', 'ppocr_keys_v1.txt'), 'utf8');
    const set = characterSet(text, 6625);
    expect(set.chars).toHaveLength(6625);
    expect(set.chars[6624]).toBe(' ');
    // ASCII letters are in the set: the English test words are readable at all.
    for (const ch of 'CHINAHEREriserProdukt') expect(set.chars.indexOf(ch)).toBeGreaterThan(0);
  });
});

describe('greedy CTC decoding', () => {
  const set = characterSet('a\nb\nc', 5); // 0 blank, 1 a, 2 b, 3 c, 4 space

  it('merges repeats, drops blanks, and keeps a letter doubled across a blank', () => {
    // a a - b b - b c c - - space a  ->  "abbc a"
    const winners = [1, 1, 0, 2, 2, 0, 2, 3, 3, 0, 0, 4, 1];
    const d = ctcGreedyDecode(path(winners, 5), winners.length, set);
    expect(d.text).toBe('abbc a');
    expect(d.classes).toEqual([1, 2, 2, 3, 4, 1]);
  });

  it('reports the mean winning probability of the kept characters (the first step of each run)', () => {
    const probs = path([1, 1, 0, 2], 5);
    probs[0 * 5 + 1] = 0.6; // first step of the 'a' run
    probs[1 * 5 + 1] = 0.99; // merged into it: not counted
    probs[3 * 5 + 2] = 0.8;
    const d = ctcGreedyDecode(probs, 4, set);
    expect(d.text).toBe('ab');
    expect(d.probs.map((p) => +p.toFixed(6))).toEqual([0.6, 0.8]);
    expect(d.confidence).toBeCloseTo(0.7, 6);
  });

  it('reads nothing, with confidence 0, from all blanks', () => {
    expect(ctcGreedyDecode(path([0, 0, 0], 5), 3, set)).toEqual({ text: '', confidence: 0, classes: [], probs: [] });
  });

  it('rejects a buffer of the wrong size', () => {
    expect(() => ctcGreedyDecode(new Float32Array(9), 2, set)).toThrow(/9 values is not 2 steps x 5 classes/);
  });
});

describe('edit distance', () => {
  it('counts insertions, deletions and substitutions', () => {
    expect(editDistance('kitten', 'sitting')).toBe(3);
    expect(editDistance('', 'abc')).toBe(3);
    expect(editDistance('Produkt', 'Produkt')).toBe(0);
    expect(editDistance('HERE', 'HFRF')).toBe(2);
  });

  it('counts a character outside the basic plane once', () => {
    expect(editDistance('中文', '中')).toBe(1);
    expect(editDistance('𠀀a', 'a')).toBe(1);
  });
});
