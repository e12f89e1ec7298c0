import { readFileSync } from 'node:fs';

/*
 * PP-OCR recognition heads end in a softmax over a character set laid out as
 * [blank, dictionary lines..., ' ']: class 0 is the CTC blank, the
 * dictionary file's lines follow in order, and the models trained with
 * use_space_char (PP-OCRv4's Chinese recogniser is one) append a space as
 * the last class. The model's class count tells which: dictionary + 2 with
 * the space, dictionary + 1 without.
 */

/** Class index -> character; index 0 (the blank) is ''. */
export interface CharacterSet {
  readonly chars: readonly string[];
  readonly withSpace: boolean;
}

/** The dictionary's lines (one character each; a trailing newline is not a line), checked against the model's class count. */
export function characterSet(dictionaryText: string, classes: number): CharacterSet {
  const lines = dictionaryText.split(/\r?\n/);
  if (lines[lines.length - 1] === '') lines.pop();
  const withSpace = classes === lines.length + 2;
  if (!withSpace && classes !== lines.length + 1) {
    throw new Error(`the dictionary has ${lines.length} characters, the model ${classes} classes: expected ${lines.length + 1} or ${lines.length + 2} (blank + characters [+ space])`);
  }
  return { chars: ['', ...lines, ...(withSpace ? [' '] : [])], withSpace };
}

export function readCharacterSet(path: string, classes: number): CharacterSet {
  return characterSet(readFileSync(path, 'utf8'), classes);
}

export interface Decoded {
  text: string;
  /** Mean over the kept characters of their winning probability (PP-OCR's reported score); 0 when nothing was read. */
  confidence: number;
  /** The kept class indices, one per character of `text`. */
  classes: number[];
  /** Their winning probabilities. */
  probs: number[];
}

/**
 * Best-path CTC decoding of one sequence: the most probable class at each
 * time step, runs of the same class merged, blanks dropped. `probs` is
 * [steps, classes] row-major, softmax output (not logits).
 */
export function ctcGreedyDecode(probs: Float32Array, steps: number, set: CharacterSet): Decoded {
  const C = set.chars.length;
  if (probs.length !== steps * C) throw new Error(`ctcGreedyDecode: ${probs.length} values is not ${steps} steps x ${C} classes`);
  const classes: number[] = [];
  const kept: number[] = [];
  let previous = -1;
  for (let t = 0; t < steps; t++) {
    let best = 0;
    let bestP = probs[t * C];
    // The first maximum wins a tie, as an argmax does.
    for (let c = 1; c < C; c++) {
      const p = probs[t * C + c];
      if (p > bestP) {
        best = c;
        bestP = p;
      }
    }
    if (best !== 0 && best !== previous) {
      classes.push(best);
      kept.push(bestP);
    }
    previous = best;
  }
  const confidence = kept.length ? kept.reduce((a, b) => a + b, 0) / kept.length : 0;
  return { text: classes.map((c) => set.chars[c]).join(''), confidence, classes, probs: kept };
}
