/**
 * Trains one zoo CNN on Fashion-MNIST with TF.js (wasm backend) and writes it
 * as a standard TF.js layers model plus a training record.
 *
 *   npx tsx tools/zoo/train.ts --arch resnet20 --epochs 5 --seed 1 --out models/tfjs/fmnist-resnet20
 *
 * Rerunning the same command resumes from tools/zoo/checkpoints/<arch>/.
 */
import * as fs from 'fs';
import * as path from 'path';
import { writeFileAtomic } from '@nibble/data';
import { initWasmBackend, tf } from './tf-wasm';
import { buildArch, inferShapes, isTrainable } from './arch';
import { forward, Params } from './forward';
import { loadFashionMnist, pixelStats } from './fmnist';
import { fillBatch, normalise, Normalisation } from './batches';
import { Prng } from './prng';
import { loadCheckpoint, saveCheckpoint } from './checkpoint';
import { buildLayersModel, loadLayersModel, saveLayersModel, setLayersWeights } from './tfjs-model';

export interface TrainConfig {
  arch: string;
  epochs: number;
  seed: number;
  batch: number;
  lr: number;
  momentum: number;
  weightDecay: number;
  warmupSteps: number;
  augPad: number;
  augFlip: boolean;
  /** Smoke runs only: use the first N training / test images. */
  trainLimit: number;
  testLimit: number;
}

interface EpochRecord {
  epoch: number;
  steps: number;
  trainLoss: number;
  trainAcc: number;
  testLoss: number;
  testAcc: number;
  lr: number;
  epochSeconds: number;
  msPerImage: number;
}

interface Progress {
  epoch: number;
  stepInEpoch: number;
  globalStep: number;
  rngState: number;
  /** The current epoch's sample order, so a resumed epoch sees the same batches. */
  permutation: number[];
  history: EpochRecord[];
  trainSeconds: number;
  epochLossSum: number;
  epochCorrect: number;
  epochSeen: number;
  epochSeconds: number;
  done: boolean;
}

function parseArgs(argv: string[]): { cfg: TrainConfig; out: string; ckptDir: string; ckptEvery: number; maxSteps: number } {
  const a = new Map<string, string>();
  for (let i = 0; i < argv.length; i++) {
    const k = argv[i];
    if (!k.startsWith('--')) throw new Error(`unexpected argument '${k}' (options are --name value)`);
    const v = argv[i + 1];
    if (v === undefined || v.startsWith('--')) throw new Error(`option ${k} needs a value`);
    a.set(k.slice(2), v);
    i++;
  }
  const num = (k: string, d: number): number => {
    const v = a.get(k);
    if (v === undefined) return d;
    const n = Number(v);
    if (!Number.isFinite(n)) throw new Error(`--${k} must be a number, got '${v}'`);
    return n;
  };
  const arch = a.get('arch');
  if (!arch) throw new Error('--arch is required (resnet20, vgg, mobilenetv2)');
  const out = a.get('out');
  if (!out) throw new Error('--out <dir> is required (where the TF.js layers model is written)');
  const cfg: TrainConfig = {
    arch,
    epochs: num('epochs', 5),
    seed: num('seed', 1),
    batch: num('batch', 128),
    lr: num('lr', 0.1),
    momentum: num('momentum', 0.9),
    weightDecay: num('wd', 5e-4),
    warmupSteps: num('warmup', 200),
    augPad: num('aug-pad', 2),
    augFlip: (a.get('aug-flip') ?? 'true') === 'true',
    trainLimit: num('train-limit', 0),
    testLimit: num('test-limit', 0),
  };
  const known = new Set(['arch', 'epochs', 'seed', 'batch', 'lr', 'momentum', 'wd', 'warmup', 'aug-pad', 'aug-flip', 'train-limit', 'test-limit', 'out', 'checkpoint-dir', 'checkpoint-every', 'max-steps']);
  for (const k of a.keys()) if (!known.has(k)) throw new Error(`unknown option --${k}`);
  const ckptDir = a.get('checkpoint-dir') ?? path.join(__dirname, 'checkpoints', arch);
  return { cfg, out, ckptDir, ckptEvery: num('checkpoint-every', 100), maxSteps: num('max-steps', 0) };
}

/** Linear warm-up to the peak, then cosine decay to zero at the last step. */
export function learningRate(cfg: TrainConfig, step: number, totalSteps: number): number {
  const warm = Math.min(cfg.warmupSteps, Math.floor(totalSteps / 5));
  if (step < warm) return (cfg.lr * (step + 1)) / warm;
  const t = (step - warm) / Math.max(totalSteps - warm, 1);
  return 0.5 * cfg.lr * (1 + Math.cos(Math.PI * t));
}

/** He-normal convs (fan-in), Glorot-uniform dense, BN at identity; all from the seeded PRNG. */
export function initialParams(shapes: Map<string, number[]>, rng: Prng): Map<string, Float32Array> {
  const out = new Map<string, Float32Array>();
  for (const [name, shape] of shapes) {
    const n = shape.reduce((x, y) => x * y, 1);
    const data = new Float32Array(n);
    const field = name.split('/').pop()!;
    if (field === 'gamma' || field === 'moving_variance') data.fill(1);
    else if (field === 'kernel' && shape.length === 2) {
      const limit = Math.sqrt(6 / (shape[0] + shape[1]));
      for (let i = 0; i < n; i++) data[i] = (2 * rng.next() - 1) * limit;
    } else if (field === 'kernel' || field === 'depthwise_kernel') {
      // HWIO: fan-in is kh*kw*cin; depthwise [kh,kw,C,1] has fan-in kh*kw.
      const fanIn = field === 'depthwise_kernel' ? shape[0] * shape[1] : shape[0] * shape[1] * shape[2];
      const std = Math.sqrt(2 / fanIn);
      for (let i = 0; i < n; i++) data[i] = rng.normal() * std;
    }
    out.set(name, data);
  }
  return out;
}

function decays(name: string): boolean {
  return name.endsWith('/kernel');
}

function evaluate(arch: ReturnType<typeof buildArch>, params: Params, pixels: Float32Array, labels: Uint8Array, count: number): { loss: number; acc: number } {
  const bs = 500;
  let correct = 0;
  let lossSum = 0;
  for (let s = 0; s < count; s += bs) {
    const n = Math.min(bs, count - s);
    const [l, c] = tf.tidy(() => {
      const x = tf.tensor4d(pixels.subarray(s * 784, (s + n) * 784), [n, 28, 28, 1]);
      const y = tf.tensor1d(Array.from(labels.subarray(s, s + n)), 'int32');
      const logits = forward(arch, params, x, false);
      const loss = tf.losses.softmaxCrossEntropy(tf.oneHot(y, arch.classes), logits, undefined, undefined, tf.Reduction.SUM);
      const hit = tf.sum(tf.cast(tf.equal(tf.argMax(logits, 1), y), 'int32'));
      return [loss.dataSync()[0], hit.dataSync()[0]];
    });
    lossSum += l;
    correct += c;
  }
  return { loss: lossSum / count, acc: correct / count };
}

function sameConfig(a: TrainConfig, b: TrainConfig): string[] {
  return (Object.keys(a) as (keyof TrainConfig)[]).filter((k) => a[k] !== b[k]).map((k) => `${k}: checkpoint ${b[k]}, command ${a[k]}`);
}

async function main(): Promise<void> {
  const { cfg, out, ckptDir, ckptEvery, maxSteps } = parseArgs(process.argv.slice(2));
  const command = ['npx tsx tools/zoo/train.ts', ...process.argv.slice(2)].join(' ');
  await initWasmBackend();
  const arch = buildArch(cfg.arch);
  const log = (s: string): void => console.log(`${new Date().toISOString()} ${s}`);
  log(`command: ${command}`);
  log(`config: ${JSON.stringify(cfg)}`);

  const train = loadFashionMnist('train');
  const test = loadFashionMnist('t10k');
  const stats = pixelStats(train);
  const norm: Normalisation = { scale: 1 / 255, mean: stats.mean, std: stats.std };
  const trainCount = cfg.trainLimit > 0 ? Math.min(cfg.trainLimit, train.count) : train.count;
  const testCount = cfg.testLimit > 0 ? Math.min(cfg.testLimit, test.count) : test.count;
  const trainPix = normalise(train, norm);
  const testPix = normalise(test, norm);
  const background = (0 - norm.mean) / norm.std;
  const stepsPerEpoch = Math.floor(trainCount / cfg.batch);
  const totalSteps = stepsPerEpoch * cfg.epochs;
  log(`data: train ${trainCount}, test ${testCount}, normalisation mean ${norm.mean.toFixed(6)} std ${norm.std.toFixed(6)}, ${stepsPerEpoch} steps/epoch, ${totalSteps} steps`);

  const { params: shapes } = inferShapes(arch);
  const rng = new Prng(cfg.seed);
  const params: Params = new Map();
  const velocity = new Map<string, tf.Tensor>();
  let progress: Progress;
  const saved = loadCheckpoint<TrainConfig, Progress>(ckptDir);
  if (saved) {
    const diff = sameConfig(cfg, saved.meta.config);
    if (diff.length > 0) {
      throw new Error(`checkpoint ${ckptDir}/latest.json was made with other settings (${diff.join('; ')}); rerun with those settings to resume, or pass another --checkpoint-dir to start afresh`);
    }
    progress = saved.meta.progress;
    for (const [name] of shapes) {
      const t = saved.tensors.get(name);
      if (!t) throw new Error(`checkpoint ${ckptDir} lacks parameter '${name}'`);
      params.set(name, tf.variable(tf.tensor(t.data, t.shape), isTrainable(name), `train/${name}`));
      if (isTrainable(name)) {
        const v = saved.tensors.get(`velocity:${name}`);
        if (!v) throw new Error(`checkpoint ${ckptDir} lacks the momentum of '${name}'`);
        velocity.set(name, tf.tensor(v.data, v.shape));
      }
    }
    rng.state = progress.rngState;
    log(`resumed from ${ckptDir}/${saved.meta.payload}: epoch ${progress.epoch + 1}, step ${progress.stepInEpoch}/${stepsPerEpoch}, global ${progress.globalStep}${progress.done ? ' (training already finished)' : ''}`);
  } else {
    const init = initialParams(shapes, rng);
    for (const [name, shape] of shapes) {
      params.set(name, tf.variable(tf.tensor(init.get(name)!, shape), isTrainable(name), `train/${name}`));
      if (isTrainable(name)) velocity.set(name, tf.zeros(shape));
    }
    progress = {
      epoch: 0, stepInEpoch: 0, globalStep: 0, rngState: rng.state, permutation: Array.from(rng.permutation(trainCount)),
      history: [], trainSeconds: 0, epochLossSum: 0, epochCorrect: 0, epochSeen: 0, epochSeconds: 0, done: false,
    };
    progress.rngState = rng.state;
    log(`fresh start, ${[...shapes.values()].reduce((s, v) => s + v.reduce((x, y) => x * y, 1), 0)} parameters`);
  }
  const trainable = [...params].filter(([n]) => isTrainable(n));
  const trainableVars = trainable.map(([, v]) => v);

  const checkpoint = (): void => {
    progress.rngState = rng.state;
    const tensors = new Map<string, { shape: number[]; data: Float32Array }>();
    for (const [n, v] of params) tensors.set(n, { shape: v.shape, data: v.dataSync() as Float32Array });
    for (const [n, v] of velocity) tensors.set(`velocity:${n}`, { shape: v.shape, data: v.dataSync() as Float32Array });
    saveCheckpoint(ckptDir, progress.globalStep, cfg, progress, tensors);
  };

  const batchPix = new Float32Array(cfg.batch * 784);
  const batchLab = new Int32Array(cfg.batch);
  let stepsThisRun = 0;
  let windowStart = performance.now();
  let windowCpu = process.cpuUsage();
  let windowSteps = 0;
  let windowLoss = 0;
  let windowCorrect = 0;
  while (!progress.done) {
    if (maxSteps > 0 && stepsThisRun >= maxSteps) {
      checkpoint();
      log(`stopping after --max-steps ${maxSteps} (checkpoint written)`);
      return;
    }
    const t0 = performance.now();
    const idx = progress.permutation.slice(progress.stepInEpoch * cfg.batch, (progress.stepInEpoch + 1) * cfg.batch);
    fillBatch(trainPix, 28, 28, idx, batchPix, { pad: cfg.augPad, flip: cfg.augFlip }, rng, background);
    for (let i = 0; i < idx.length; i++) batchLab[i] = train.labels[idx[i]];
    const lr = learningRate(cfg, progress.globalStep, totalSteps);
    const bnUpdates = new Map<string, tf.Tensor>();
    let logits: tf.Tensor | null = null;
    const { value, grads } = tf.variableGrads(() => {
      const x = tf.tensor4d(batchPix, [cfg.batch, 28, 28, 1]);
      const y = tf.oneHot(tf.tensor1d(batchLab, 'int32'), arch.classes);
      const out = forward(arch, params, x, true, bnUpdates);
      logits = tf.keep(out);
      return tf.losses.softmaxCrossEntropy(y, out) as tf.Scalar;
    }, trainableVars);
    const loss = value.dataSync()[0];
    if (!Number.isFinite(loss)) throw new Error(`loss became ${loss} at global step ${progress.globalStep}; lower --lr`);
    const correct = tf.tidy(() => tf.sum(tf.cast(tf.equal(tf.argMax(logits!, 1), tf.tensor1d(batchLab, 'int32')), 'int32')).dataSync()[0]);
    tf.tidy(() => {
      for (const [name, w] of trainable) {
        let g = grads[w.name];
        if (cfg.weightDecay > 0 && decays(name)) g = tf.add(g, tf.mul(w, cfg.weightDecay));
        const v = tf.add(tf.mul(velocity.get(name)!, cfg.momentum), g);
        w.assign(tf.sub(w, tf.mul(v, lr)));
        velocity.get(name)!.dispose();
        velocity.set(name, tf.keep(v));
      }
      for (const [name, t] of bnUpdates) params.get(name)!.assign(t);
    });
    tf.dispose([value, logits!, ...Object.values(grads), ...bnUpdates.values()]);
    const dt = (performance.now() - t0) / 1000;
    progress.trainSeconds += dt;
    progress.epochSeconds += dt;
    progress.epochLossSum += loss * cfg.batch;
    progress.epochCorrect += correct;
    progress.epochSeen += cfg.batch;
    progress.stepInEpoch++;
    progress.globalStep++;
    stepsThisRun++;
    windowSteps++;
    windowLoss += loss;
    windowCorrect += correct;
    if (windowSteps === 50 || progress.stepInEpoch === stepsPerEpoch) {
      const ms = (performance.now() - windowStart) / (windowSteps * cfg.batch);
      const cpu = process.cpuUsage(windowCpu);
      const cpuMs = (cpu.user + cpu.system) / 1000 / (windowSteps * cfg.batch);
      log(`epoch ${progress.epoch + 1}/${cfg.epochs} step ${progress.stepInEpoch}/${stepsPerEpoch} global ${progress.globalStep}/${totalSteps} lr ${lr.toFixed(5)} loss ${(windowLoss / windowSteps).toFixed(4)} train-acc ${(windowCorrect / (windowSteps * cfg.batch)).toFixed(4)} ${ms.toFixed(2)} ms/img (cpu ${cpuMs.toFixed(2)}) tensors ${tf.memory().numTensors}`);
      windowStart = performance.now();
      windowCpu = process.cpuUsage();
      windowSteps = 0;
      windowLoss = 0;
      windowCorrect = 0;
    }
    if (progress.stepInEpoch === stepsPerEpoch) {
      const te = evaluate(arch, params, testPix, test.labels, testCount);
      const rec: EpochRecord = {
        epoch: progress.epoch + 1, steps: stepsPerEpoch, trainLoss: progress.epochLossSum / progress.epochSeen, trainAcc: progress.epochCorrect / progress.epochSeen,
        testLoss: te.loss, testAcc: te.acc, lr, epochSeconds: progress.epochSeconds, msPerImage: (1000 * progress.epochSeconds) / progress.epochSeen,
      };
      progress.history.push(rec);
      log(`END epoch ${rec.epoch}: train loss ${rec.trainLoss.toFixed(4)} acc ${rec.trainAcc.toFixed(4)} | test loss ${rec.testLoss.toFixed(4)} acc ${rec.testAcc.toFixed(4)} | ${rec.epochSeconds.toFixed(0)} s (${rec.msPerImage.toFixed(2)} ms/img)`);
      progress.epoch++;
      progress.stepInEpoch = 0;
      progress.epochLossSum = 0;
      progress.epochCorrect = 0;
      progress.epochSeen = 0;
      progress.epochSeconds = 0;
      if (progress.epoch >= cfg.epochs) progress.done = true;
      else progress.permutation = Array.from(rng.permutation(trainCount));
      checkpoint();
    } else if (progress.globalStep % ckptEvery === 0) {
      checkpoint();
    }
  }

  // Final artefacts: the standard layers model, checked against the functional net.
  const te = evaluate(arch, params, testPix, test.labels, testCount);
  log(`final float32 test accuracy (TF.js functional, wasm): ${te.acc.toFixed(4)} (loss ${te.loss.toFixed(4)}) on ${testCount} images`);
  const model = buildLayersModel(arch);
  setLayersWeights(model, params as unknown as Map<string, tf.Tensor>);
  const probe = tf.tensor4d(testPix.subarray(0, 256 * 784), [256, 28, 28, 1]);
  const ref = tf.tidy(() => forward(arch, params, probe, false));
  const diffOf = (m: tf.LayersModel): number => tf.tidy(() => tf.max(tf.abs(tf.sub(m.predict(probe) as tf.Tensor, ref))).dataSync()[0]);
  const dBuilt = diffOf(model);
  const record = {
    architecture: arch.name,
    description: arch.description,
    data: { name: 'Fashion-MNIST', source: 'Debian dataset-fashion-mnist (/usr/share/datasets/fashion-mnist)', train: trainCount, test: testCount },
    input: { layout: 'NHWC', shape: [1, ...arch.inputShape], dtype: 'float32' },
    normalisation: norm,
    config: cfg,
    command,
    optimiser: `SGD momentum ${cfg.momentum}, peak lr ${cfg.lr}, ${Math.min(cfg.warmupSteps, Math.floor(totalSteps / 5))} linear warm-up steps then cosine to 0 per step, weight decay ${cfg.weightDecay} on conv/dense kernels, batch ${cfg.batch}`,
    augmentation: `random shift up to ${cfg.augPad} px (zero padding), horizontal flip ${cfg.augFlip}`,
    history: progress.history,
    testAccuracyTfjs: te.acc,
    testLossTfjs: te.loss,
    trainSeconds: progress.trainSeconds,
    tfjsVersion: tf.version.tfjs,
    backend: tf.getBackend(),
  };
  await saveLayersModel(model, out, { training: record });
  const reloaded = await loadLayersModel(out);
  const dLoaded = diffOf(reloaded);
  log(`layers model vs functional: max |logit diff| ${dBuilt.toExponential(2)} built, ${dLoaded.toExponential(2)} after save+load`);
  if (!(dBuilt < 1e-3 && dLoaded < 1e-3)) throw new Error(`the TF.js layers model disagrees with the trained network (max logit diff ${dBuilt}, reloaded ${dLoaded})`);
  writeFileAtomic(path.join(out, 'training.json'), JSON.stringify({ ...record, layersModelMaxLogitDiff: dLoaded }, null, 1) + '\n');
  log(`wrote ${out}/model.json, weights.bin, training.json`);
  if (!fs.existsSync(path.join(out, 'model.json'))) throw new Error('model.json missing after save');
}

if (require.main === module) {
  main().catch((e) => {
    console.error(e instanceof Error ? e.stack ?? e.message : e);
    process.exit(1);
  });
}
