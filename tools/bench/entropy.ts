/*
 * How many bytes the entropy-coded container (.nbz, docs/entropy-container.md)
 * saves over the int4-packed QDQ file and over that file under HTTP
 * compression (gzip, brotli at max quality), and how fast it decodes
 * (issue 19). Writes the section entropy-container of docs/benchmarks.md.
 *
 *   npx tsx tools/bench/entropy.ts [--samples 32] [--runs 7] [--no-doc]
 *   npx tsx tools/bench/entropy.ts --vlc [--samples 32] [--runs 7] [--no-doc]
 *   npx tsx tools/bench/entropy.ts --decode [--baseline DIR] [--runs 7] [--no-doc]
 *
 * --vlc measures the variable-length recipes (w4a4-vlc, w3a3-vlc: bins that
 * are not powers of two, alloc-bins) against the int4 file of w4a4-all
 * under brotli, and writes the section entropy-vlc instead; it quantizes
 * nsfwjs MobileNetV2 itself when out/nsfwjs-mobilenetv2/model.json exists.
 *
 * --decode measures only decode speed, on the .nbz files the --vlc run left
 * in out/entropy (w4a4-all, w4a4-vlc, w3a3-vlc), and writes the section
 * entropy-decode: warm (the same process decodes each file RUNS times after a
 * warm-up; median and best) and first (one decode in a fresh process, as a
 * loader pays it with the JIT still cold; median and best of RUNS processes).
 * The current decoder is timed twice: as it runs (whole streams and the CRC
 * in WebAssembly) and with WebAssembly turned off. --baseline DIR times
 * another decoder beside them in the same run: DIR holds an
 * entropy-container.ts exporting decodeEntropyContainer, with what it imports
 * (e.g. an earlier commit's packages/onnx/src/entropy-container.ts and
 * wire.ts, and the files of packages/quant/src/entropy but the specs, with
 * the container's @nibble/quant imports of decodeCodes, decodePackedNibbles,
 * encodeCodes and crc32Update pointed at ./rans and ./crc32; channelLayout
 * may stay on @nibble/quant). docs/benchmarks.md's figures used commit
 * 4704d13's decoder, copied to out/decode-baseline.
 *
 * Zoo models are quantized with the CLI (w4a4-all, w4a4-baseline); nsfwjs
 * MobileNetV2 is included when its quantized files exist at
 * out/entropy/nsfwjs-<recipe>.onnx (quantize them as tools/bench/pretrained/
 * nsfwjs-w4a4.ts does: `nibble quantize out/nsfwjs-mobilenetv2/model.json
 * --recipe R --data images:data/photos/calib --preprocess rgb,resize=224x224,unit
 * --batch 8 --out out/entropy/nsfwjs-R.onnx`).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { brotliCompressSync, constants, gzipSync } from 'node:zlib';
import { decodeEntropyContainer, encodeEntropyContainer, readOnnx, type DecodeStats } from '@nibble/onnx';
import { setWasmDecoding } from '@nibble/quant';
import { levelEntropy, loadModel, workspaceRoot } from 'nibble';

import { writeDocSection } from './shared/doc-section';

const ROOT = workspaceRoot();
const OUT = join(ROOT, 'out', 'entropy');
const ZOO = ['fmnist-resnet20', 'fmnist-vgg', 'fmnist-mobilenetv2'];
const { values: v } = parseArgs({
  options: {
    samples: { type: 'string', default: '32' }, runs: { type: 'string', default: '7' }, 'no-doc': { type: 'boolean' }, vlc: { type: 'boolean' },
    decode: { type: 'boolean' }, baseline: { type: 'string' },
    // Internal: the child process of a first-decode measurement (decoder module, or '' for the current one).
    'first-decode': { type: 'string' }, decoder: { type: 'string', default: '' },
  },
});
/** The power-of-two recipe whose int4 file under brotli the variable-length ones are measured against. */
const REFERENCE = 'w4a4-all';
const RECIPES = v.vlc ? [REFERENCE, 'w4a4-vlc', 'w3a3-vlc'] : ['w4a4-all', 'w4a4-baseline'];
const NSFWJS = join(ROOT, 'out', 'nsfwjs-mobilenetv2', 'model.json');

/** nsfwjs MobileNetV2 on the 24 bundled photos, as tools/bench/pretrained/nsfwjs-w4a4.ts quantizes it. */
function quantizeNsfwjs(recipe: string): string {
  const out = join(OUT, `nsfwjs-${recipe}.onnx`);
  const args = ['tsx', join('apps', 'cli', 'src', 'main.ts'), 'quantize', NSFWJS, '--recipe', recipe, '--data', 'images:data/photos/calib',
    '--preprocess', 'rgb,resize=224x224,unit', '--batch', '8', '--out', out, '--force', '--quiet'];
  const r = spawnSync('npx', args, { cwd: ROOT, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`quantize nsfwjs ${recipe} failed: ${r.stderr}`);
  return out;
}
const RUNS = Number(v.runs);

function quantizeZoo(model: string, recipe: string): string {
  const out = join(OUT, `${model}-${recipe}.onnx`);
  const args = ['tsx', join('apps', 'cli', 'src', 'main.ts'), 'quantize', join('models', `${model}.onnx`), '--data', 'fashion-mnist:calib', '--samples', String(v.samples), '--recipe', recipe, '--out', out, '--force', '--quiet'];
  const r = spawnSync('npx', args, { cwd: ROOT, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`quantize ${model} ${recipe} failed: ${r.stderr}`);
  return out;
}

const brotli = (b: Uint8Array): number => brotliCompressSync(b, { params: { [constants.BROTLI_PARAM_QUALITY]: 11, [constants.BROTLI_PARAM_LGWIN]: 24 } }).length;
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
function timeMs(f: () => unknown): number[] {
  const times: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const t0 = performance.now();
    f();
    times.push(performance.now() - t0);
  }
  return times;
}
/** Decoding a file in the same process: a few untimed decodes first, so that V8 has compiled the decoder (the first decode is measured apart). */
function warmDecode(decode: Decode, nbz: Uint8Array): number[] {
  for (let i = 0; i < 3; i++) decode(nbz);
  return timeMs(() => decode(nbz));
}
type Decode = typeof decodeEntropyContainer;

/** One decode in a fresh Node process (this script with --first-decode): what a loader pays, JIT included. Milliseconds. */
function firstDecodeMs(nbzPath: string, decoder = ''): number {
  const r = spawnSync(process.execPath, ['--import', 'tsx', process.argv[1], '--first-decode', nbzPath, '--decoder', decoder], { cwd: ROOT, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`first decode of ${nbzPath} failed: ${r.stderr}`);
  return Number(JSON.parse(r.stdout.trim().split('\n').pop()!).ms);
}

/** A decoder by name: '' the current one, 'js' the current one with its loops in JavaScript (no WebAssembly), else a directory (--baseline). */
async function decoderFrom(module: string): Promise<Decode> {
  if (!module) return decodeEntropyContainer;
  if (module === 'js') {
    return (bytes, opts) => {
      setWasmDecoding(false);
      try {
        return decodeEntropyContainer(bytes, opts);
      } finally {
        setWasmDecoding(true);
      }
    };
  }
  const m = (await import(pathToFileURL(resolve(ROOT, module, 'entropy-container.ts')).href)) as { decodeEntropyContainer: Decode };
  return m.decodeEntropyContainer;
}

/** The child of firstDecodeMs: read the file, decode it once, print the time. */
async function firstDecodeChild(nbzPath: string, module: string): Promise<void> {
  const decode = await decoderFrom(module);
  const nbz = new Uint8Array(readFileSync(nbzPath));
  const t0 = performance.now();
  decode(nbz);
  console.log(JSON.stringify({ ms: performance.now() - t0 }));
}

interface Row {
  name: string; recipe: string; codes: number; file: number; payload: number; gzip: number; brotli: number; brotliWeights: number;
  container: number; streams: number; brotliContainer: number; bound: number; mcodes: number; mcodesBest: number; mcodesFirst: number; loadOnnx: number; loadNbz: number;
}

/** Entropy bound of the coded weights: sum over channels of n * H(codes) / 8, from the report's entropy. */
function entropyBound(onnx: Uint8Array): { codes: number; bytes: number; payload: number; brotliWeights: number } {
  const model = readOnnx(onnx);
  let codes = 0;
  let bits = 0;
  let payload = 0;
  const parts: Uint8Array[] = [];
  for (const node of model.graph.nodes) {
    const t = node.opType === 'DequantizeLinear' ? node.inputs[0]?.const : undefined;
    if (!t || !['int4', 'uint4', 'int8', 'uint8'].includes(t.dtype)) continue;
    const perChannel = (node.inputs[1]?.const?.size ?? 1) > 1;
    const axis = perChannel ? node.getInt('axis', 1) : null;
    const rank = t.shape.length;
    const channels = axis === null ? 1 : t.shape[(axis + rank) % rank];
    const h = levelEntropy(t.toFloat64(), t.shape, axis, channels);
    codes += t.size;
    bits += h.mean * t.size;
    payload += t.data.length;
    parts.push(new Uint8Array((t.data as Uint8Array).buffer, (t.data as Uint8Array).byteOffset, (t.data as Uint8Array).byteLength));
  }
  return { codes, bytes: bits / 8, payload, brotliWeights: brotli(Buffer.concat(parts)) };
}

async function measure(name: string, recipe: string, path: string): Promise<Row> {
  const onnx = new Uint8Array(readFileSync(path));
  const nbz = encodeEntropyContainer(onnx, readOnnx(onnx));
  const nbzPath = path.replace(/\.onnx$/, '.nbz');
  writeFileSync(nbzPath, nbz);
  const dv = new DataView(nbz.buffer, nbz.byteOffset);
  const b = entropyBound(onnx);
  // Weight bytes in the container: the coded streams, plus the payloads of weights left plain (coding did not pay).
  let streams = b.payload;
  for (let k = 0; k < dv.getUint32(16, true); k++) streams += dv.getUint32(20 + 25 * k + 21, true) - dv.getUint32(20 + 25 * k + 4, true);
  const stats: DecodeStats = { codes: 0 };
  decodeEntropyContainer(nbz, { stats });
  const ms = warmDecode(decodeEntropyContainer, nbz);
  const load = async (p: string): Promise<number> => {
    const t: number[] = [];
    for (let i = 0; i < RUNS; i++) {
      const t0 = performance.now();
      await loadModel(p);
      t.push(performance.now() - t0);
    }
    return median(t);
  };
  return {
    name, recipe, codes: b.codes, file: onnx.length, payload: b.payload,
    gzip: gzipSync(onnx, { level: 9 }).length,
    brotli: brotli(onnx), brotliWeights: b.brotliWeights,
    container: nbz.length, streams, brotliContainer: brotli(nbz),
    bound: Math.round(b.bytes), mcodes: stats.codes / median(ms) / 1000, mcodesBest: stats.codes / Math.min(...ms) / 1000,
    mcodesFirst: stats.codes / median(Array.from({ length: RUNS }, () => firstDecodeMs(nbzPath))) / 1000,
    loadOnnx: await load(path), loadNbz: await load(nbzPath),
  };
}

const DECODE_HOW = `warm: median and best of ${RUNS} decodes in one process after 3 untimed ones; first: one decode in a fresh Node process (JIT cold, as a loader meets it), median of ${RUNS} processes`;
const decodeCell = (r: { mcodes: number; mcodesBest: number; mcodesFirst: number }): string => `${r.mcodes.toFixed(0)} / ${r.mcodesBest.toFixed(0)} / ${r.mcodesFirst.toFixed(0)}`;
const loadAtStart = loadavg()[0];
/** The machine's load, which the decode and load columns depend on (a shared 2-core VM here). */
const loadLine = (): string => `Load average (1 min) ${loadAtStart.toFixed(1)} at the start of the run, ${loadavg()[0].toFixed(1)} at the end.`;

async function main(): Promise<void> {
  if (v['first-decode'] !== undefined) return firstDecodeChild(v['first-decode'], v.decoder);
  if (v.decode) return decodeOnly();
  mkdirSync(OUT, { recursive: true });
  const rows: Row[] = [];
  for (const model of ZOO) for (const recipe of RECIPES) rows.push(await measure(model, recipe, quantizeZoo(model, recipe)));
  for (const recipe of RECIPES) {
    const p = join(OUT, `nsfwjs-${recipe}.onnx`);
    if (v.vlc && existsSync(NSFWJS)) rows.push(await measure('nsfwjs-mobilenetv2', recipe, quantizeNsfwjs(recipe)));
    else if (existsSync(p)) rows.push(await measure('nsfwjs-mobilenetv2', recipe, p));
    else console.error(`skipped nsfwjs ${recipe}: ${p} not found (see the header of this script)`);
  }
  if (v.vlc) return writeVlc(rows);
  const r2 = (x: number): string => x.toFixed(2);
  const lines = [
    '| model | recipe | weights (codes) | fp32 weight bytes | int4 weight bytes | int4 file | gzip -9 | brotli q11 | .nbz file | .nbz weight bytes | entropy bound | brotli of the int4 weights alone | .nbz / brotli | .nbz weights / brotli of weights | brotli(.nbz) | decode M codes/s: warm median / best / first | load ms onnx / nbz |',
    '|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|',
    ...rows.map((r) => `| ${r.name} | ${r.recipe} | ${r.codes} | ${4 * r.codes} | ${r.payload} | ${r.file} | ${r.gzip} | ${r.brotli} | ${r.container} | ${r.streams} | ${r.bound} | ${r.brotliWeights} | ${r2(r.container / r.brotli)} | ${r2(r.streams / r.brotliWeights)} | ${r.brotliContainer} | ${decodeCell(r)} | ${r.loadOnnx.toFixed(1)} / ${r.loadNbz.toFixed(1)} |`),
  ];
  console.log(lines.join('\n'));
  if (v['no-doc']) return;
  writeDocSection(join(ROOT, 'docs', 'benchmarks.md'), 'entropy-container', [
    '## Entropy-coded weight container (.nbz, issue 19)',
    '',
    `Quantized zoo models (${v.samples} calibration images of fashion-mnist:calib) and nsfwjs MobileNetV2 (24 photos), their`,
    'QDQ ONNX file (int4 packed two per byte, 8-bit layers as bytes) as written, under gzip -9 and brotli (quality 11,',
    'window 24; node:zlib), and as the .nbz container of docs/entropy-container.md (rANS per channel or per tensor). Weight',
    'bytes count the codes a DequantizeLinear reads; the entropy bound is the sum over channels of n * H(codes) / 8 (the',
    "report's levelEntropy). Decode: decodeEntropyContainer of the whole file (all streams, splicing and CRC-32), codes per",
    `second: ${DECODE_HOW}; load: nibble's loadModel of the .onnx and of the .nbz (median of ${RUNS}).`,
    loadLine(),
    '',
    ...lines,
    '',
    'Command: `npx tsx tools/bench/entropy.ts` (machine-dependent columns: decode and load).',
  ].join('\n'));
}

/**
 * The variable-length recipes beside w4a4-all: the .nbz weight bytes (the
 * coded streams) against brotli of w4a4-all's int4 file, the comparison of
 * issue 19's acceptance (<= 0.8), and against brotli of its weights alone.
 */
function writeVlc(rows: Row[]): void {
  const r2 = (x: number): string => x.toFixed(2);
  const ref = new Map(rows.filter((r) => r.recipe === REFERENCE).map((r) => [r.name, r]));
  const lines = [
    `| model | recipe | weights (codes) | entropy bits per code | .nbz weight bytes | .nbz file | ${REFERENCE} int4 file | brotli q11 of it | brotli of its weights alone | .nbz weights / brotli(${REFERENCE} file) | .nbz weights / brotli(${REFERENCE} weights) | decode M codes/s: warm median / best / first |`,
    '|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
    ...rows.map((r) => {
      const b = ref.get(r.name)!;
      return `| ${r.name} | ${r.recipe} | ${r.codes} | ${r2((8 * r.bound) / r.codes)} | ${r.streams} | ${r.container} | ${b.file} | ${b.brotli} | ${b.brotliWeights} | ${r2(r.streams / b.brotli)} | ${r2(r.streams / b.brotliWeights)} | ${decodeCell(r)} |`;
    }),
  ];
  console.log(lines.join('\n'));
  if (v['no-doc']) return;
  writeDocSection(join(ROOT, 'docs', 'benchmarks.md'), 'entropy-vlc', [
    '## Variable-length bins in the entropy-coded container (issue 19, second part)',
    '',
    `The zoo models (${v.samples} calibration images of fashion-mnist:calib) and nsfwjs MobileNetV2 (24 photos) quantized with`,
    `${REFERENCE} and with the variable-length recipes w4a4-vlc and w3a3-vlc (alloc-bins: omega_i ~ sigma_i^(2/3) bins per channel,`,
    'any integer, mean log2 omega <= the budget; docs/entropy-container.md), written as .nbz. Weight bytes are the coded streams',
    '(plus any weight left plain); entropy bits per code are the sum over channels of n * H(codes) over all codes. The ratios',
    `compare them with brotli (quality 11, window 24) of ${REFERENCE}'s int4 QDQ file, the whole file and its weights alone.`,
    `Decode: decodeEntropyContainer of the whole .nbz, codes per second: ${DECODE_HOW}.`,
    loadLine(),
    '',
    ...lines,
    '',
    'Command: `npx tsx tools/bench/entropy.ts --vlc` (machine-dependent column: decode).',
  ].join('\n'));
}

/**
 * Decode speed alone, on the files the --vlc run left (each recipe of the
 * zoo and nsfwjs), with the current decoder and, given --baseline, another one
 * in the same run: warm runs alternate between the two, first decodes too.
 */
async function decodeOnly(): Promise<void> {
  const decoders: [string, string][] = [['current, JS loops', 'js'], ['current', '']];
  if (v.baseline) decoders.unshift(['baseline', v.baseline]);
  const loaded = await Promise.all(decoders.map(([, m]) => decoderFrom(m)));
  const names = [...ZOO.map((m) => [m, m] as const), ['nsfwjs-mobilenetv2', 'nsfwjs'] as const];
  const header = decoders.map(([d]) => `${d}: warm median / best | ${d}: first, median / best`).join(' | ');
  const lines = [`| model | recipe | codes | ${header} |`, `|---|---|---:|${decoders.map(() => '---:|---:|').join('')}`];
  for (const [name, prefix] of names) {
    for (const recipe of [REFERENCE, 'w4a4-vlc', 'w3a3-vlc']) {
      const path = join(OUT, `${prefix}-${recipe}.nbz`);
      if (!existsSync(path)) {
        console.error(`skipped ${path}: not found (run with --vlc first)`);
        continue;
      }
      const nbz = new Uint8Array(readFileSync(path));
      const stats: DecodeStats = { codes: 0 };
      const outs = loaded.map((d) => d(nbz, { stats }));
      if (outs.some((o) => Buffer.compare(o, outs[0]) !== 0)) throw new Error(`${path}: the decoders restore different bytes`);
      const codes = stats.codes / loaded.length;
      loaded.forEach((d) => warmDecode(d, nbz));
      const warm: number[][] = loaded.map(() => []);
      const first: number[][] = loaded.map(() => []);
      for (let i = 0; i < RUNS; i++) {
        loaded.forEach((d, k) => {
          const t0 = performance.now();
          d(nbz);
          warm[k].push(performance.now() - t0);
          first[k].push(firstDecodeMs(path, decoders[k][1]));
        });
      }
      const rate = (ms: number): string => (codes / ms / 1000).toFixed(0);
      const cells = loaded.map((_, k) => `${rate(median(warm[k]))} / ${rate(Math.min(...warm[k]))} | ${rate(median(first[k]))} / ${rate(Math.min(...first[k]))}`);
      lines.push(`| ${name} | ${recipe} | ${codes} | ${cells.join(' | ')} |`);
      console.log(lines[lines.length - 1]);
    }
  }
  console.log(lines.join('\n'));
  console.log(loadLine());
  if (v['no-doc']) return;
  writeDocSection(join(ROOT, 'docs', 'benchmarks.md'), 'entropy-decode', [
    '## Decode speed of the entropy-coded container (issue 19)',
    '',
    'decodeEntropyContainer of the whole .nbz (tables, rANS, splicing, CRC-32) on the files of the section above, in M codes',
    `per second. Warm: the same process decodes the file ${RUNS} times after 3 untimed decodes; first: one decode in a fresh`,
    `Node process, the JIT still cold, as a loader meets it (${RUNS} processes). Median / best. Current: the decoder as it runs`,
    '(each stream decoded by one call into WebAssembly: tables, lookup, codes and checks; one CRC-32 over the restored file);',
    'current, JS loops: the same with WebAssembly turned off (setWasmDecoding(false)). A first decode pays, besides the codes,',
    "costs a warm one does not: V8 compiling the JavaScript on the path (lazily, function by function) and running it",
    'interpreted, compiling the WebAssembly module and each of its functions, then recompiling the hot ones with its optimizing',
    'tier (on a background thread, which competes with the decode when the machine is loaded).',
    v.baseline ? `Baseline: the decoder in ${v.baseline}, run in the same run, alternating with the others.` : '',
    loadLine(),
    '',
    ...lines,
    '',
    `Command: \`npx tsx tools/bench/entropy.ts --decode${v.baseline ? ' --baseline DIR' : ''}\` (after the --vlc run; see the script's header for DIR).`,
  ].join('\n'));
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
