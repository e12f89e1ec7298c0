import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PNG } from 'pngjs';
import * as jpeg from 'jpeg-js';
import { parsePipeline, resolvePipeline } from '@nibble/core';
import { decodeImage, encodeIdx, encodeNpy, parseDatasetSpec, parseIdx, parseNpy, parsePreprocess } from '@nibble/data';
import { attr, createModel, Graph, isNibbleError, SeededRandom, Tensor } from '@nibble/ir';
import { readOnnx, writeOnnx } from '@nibble/onnx';
import { readTfjsModel } from '@nibble/tfjs';
import { readTfliteFile } from '@nibble/tflite';
import { ensurePassesRegistered, recipesInOrder } from 'nibble';
import { mutateBytes, mutateJson, mutateText, type Prng } from './mutate';

/*
 * The fuzz targets: each reads one hostile input the way nibble reads a
 * user's file or option. An input passes when it is read or rejected with a
 * typed NibbleError of a user code; anything else (a TypeError, a RangeError,
 * E_INTERNAL) is a finding, replayable from (target, seed, index).
 */

export interface Target {
  name: string;
  /** Runs input `index` of the seeded sequence. */
  run(rand: Prng, index: number): Promise<void> | void;
  dispose?(): void;
}

const root = join(__dirname, '..', '..');

function tinyOnnx(): Uint8Array {
  const g = new Graph('fuzz');
  const x = g.addInput('x', { dtype: 'float32', shape: ['N', 1, 6, 6] });
  const w = g.addInitializer('w', new Tensor('float32', [2, 1, 3, 3], Float32Array.from({ length: 18 }, (_, i) => (i % 5) - 2)));
  const b = g.addInitializer('b', new Tensor('float32', [2], Float32Array.of(0.5, -0.5)));
  const c = g.addNode({ opType: 'Conv', name: 'conv', inputs: [x, w, b], outputs: ['c'], attributes: { kernel_shape: attr.ints([3, 3]), pads: attr.ints([1, 1, 1, 1]) } }).outputs[0];
  const r = g.addNode({ opType: 'Relu', name: 'relu', inputs: [c], outputs: ['r'] }).outputs[0];
  const p = g.addNode({ opType: 'GlobalAveragePool', name: 'gap', inputs: [r], outputs: ['p'] }).outputs[0];
  const f = g.addNode({ opType: 'Flatten', name: 'flat', inputs: [p], outputs: ['f'] }).outputs[0];
  const fw = g.addInitializer('fw', new Tensor('float32', [3, 2], Float32Array.of(1, 2, 3, 4, 5, 6)));
  g.addOutput(g.addNode({ opType: 'Gemm', name: 'fc', inputs: [f, fw], outputs: ['y'], attributes: { transB: attr.int(1) } }).outputs[0]);
  return writeOnnx(createModel(g, 13, 7));
}

function tinyPng(): Uint8Array {
  const png = new PNG({ width: 6, height: 5 });
  for (let i = 0; i < png.data.length; i++) png.data[i] = (i * 37) & 255;
  return PNG.sync.write(png);
}

function tinyJpeg(): Uint8Array {
  const data = Buffer.alloc(8 * 8 * 4);
  for (let i = 0; i < data.length; i++) data[i] = (i * 53) & 255;
  return jpeg.encode({ data, width: 8, height: 8 }, 80).data;
}

export function targets(): Target[] {
  const dir = mkdtempSync(join(tmpdir(), 'nibble-fuzz-'));
  const onnxSeed = tinyOnnx();
  const tfliteSeed = readFileSync(join(root, 'node_modules/@mediapipe/face_detection/face_detection_short_range.tflite'));
  const tfjsJson = JSON.parse(readFileSync(join(root, 'models/tfjs/fmnist-resnet20/model.json'), 'utf8')) as unknown;
  const tfjsWeights = new Uint8Array(readFileSync(join(root, 'models/tfjs/fmnist-resnet20/weights.bin')));
  const idxSeeds = [encodeIdx('uint8', [3, 4, 5], Array.from({ length: 60 }, (_, i) => i)), encodeIdx('float32', [2, 3, 3], Array.from({ length: 18 }, (_, i) => i / 7)), encodeIdx('uint8', [4], [1, 2, 3, 4])];
  const npySeeds = [encodeNpy('<f4', [2, 3, 4], Array.from({ length: 24 }, (_, i) => i / 3)), encodeNpy('|u1', [2, 2, 2, 3], Array.from({ length: 24 }, (_, i) => i)), encodeNpy('<i8', [5], [0, 1, 2, 3, 4])];
  const imageSeeds = [tinyPng(), tinyJpeg()];
  ensurePassesRegistered();
  const pipelines = recipesInOrder().map((r) => r.pipeline);
  const texts = ['fashion-mnist:test', 'idx:a.idx,b.idx', 'npy:x.npy', 'images:dir,labels.csv'];
  const pre = ['rgb,resize=256,center-crop=224,scale=1/255,normalize=0.485:0.456:0.406/0.229:0.224:0.225,nchw', 'gray,scale=1/255,normalize=0.28/0.35', 'imagenet'];
  let n = 0;
  const list: Target[] = [
    { name: 'onnx', run: (r) => { readOnnx(mutateBytes(onnxSeed, r), { file: 'fuzz.onnx' }); } },
    {
      name: 'tflite',
      run: (r) => {
        const path = join(dir, `m${n++ % 4}.tflite`);
        writeFileSync(path, mutateBytes(tfliteSeed, r, { inPlace: r.nextInt(4) !== 0 }));
        readTfliteFile(path);
      },
    },
    {
      name: 'tfjs',
      run: async (r) => {
        // Half the mutants damage the topology, half the weight bytes.
        if (r.nextInt(2) === 0) await readTfjsModel({ modelJson: mutateJson(tfjsJson, r), weights: tfjsWeights, file: 'fuzz/model.json' });
        else await readTfjsModel({ modelJson: tfjsJson, weights: mutateBytes(tfjsWeights.subarray(0, 4096 + r.nextInt(8192)), r), file: 'fuzz/model.json' });
      },
    },
    { name: 'idx', run: (r) => { parseIdx(mutateBytes(idxSeeds[r.nextInt(idxSeeds.length)], r), 'fuzz.idx'); } },
    { name: 'npy', run: (r) => { parseNpy(mutateBytes(npySeeds[r.nextInt(npySeeds.length)], r), 'fuzz.npy'); } },
    { name: 'image', run: (r) => { decodeImage(mutateBytes(imageSeeds[r.nextInt(imageSeeds.length)], r), 'fuzz.img'); } },
    {
      name: 'pipeline',
      run: (r) => {
        const k = r.nextInt(3);
        if (k === 0) resolvePipeline(parsePipeline(mutateText(pipelines[r.nextInt(pipelines.length)], r)));
        else if (k === 1) parseDatasetSpec(mutateText(texts[r.nextInt(texts.length)], r));
        else parsePreprocess(mutateText(pre[r.nextInt(pre.length)], r));
      },
    },
  ];
  return list.map((t, i) => (i === 1 ? { ...t, dispose: () => rmSync(dir, { recursive: true, force: true }) } : t));
}

export interface Finding {
  target: string;
  index: number;
  error: string;
}

export interface TargetFigures {
  target: string;
  inputs: number;
  accepted: number;
  rejected: number;
  /** Distinct error codes of the rejections. */
  codes: Record<string, number>;
  findings: Finding[];
  /** Slowest input (ms), for the hang watch. */
  maxMs: number;
}

/** Runs `count` inputs of one target from `seed`: every input is (seed, index) and replays alone. */
export async function fuzzTarget(t: Target, seed: number, count: number, from = 0): Promise<TargetFigures> {
  const fig: TargetFigures = { target: t.name, inputs: 0, accepted: 0, rejected: 0, codes: {}, findings: [], maxMs: 0 };
  for (let i = from; i < from + count; i++) {
    const rand = new SeededRandom((seed * 1_000_003 + i) >>> 0);
    const t0 = performance.now();
    try {
      await t.run(rand, i);
      fig.accepted++;
    } catch (e) {
      if (isNibbleError(e) && e.code !== 'E_INTERNAL') {
        fig.rejected++;
        fig.codes[e.code] = (fig.codes[e.code] ?? 0) + 1;
      } else {
        fig.findings.push({ target: t.name, index: i, error: e instanceof Error ? `${e.name}: ${e.message}`.slice(0, 300) : String(e) });
      }
    }
    fig.maxMs = Math.max(fig.maxMs, performance.now() - t0);
    fig.inputs++;
  }
  return fig;
}
