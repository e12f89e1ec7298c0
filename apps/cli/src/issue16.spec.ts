import { existsSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { encodeNpy } from '@nibble/data';
import { readOnnxFile } from '@nibble/onnx';
import { cli } from './testing/run-cli';
import { ProgressBar } from './shared/progress';

/* Regression tests of issue 16's findings, each through the CLI as a user meets it. */

const root = join(__dirname, '..', '..', '..');
const MODEL = join(root, 'models', 'fmnist-resnet20.onnx');
const HANDS = join(root, 'node_modules', '@mediapipe', 'hands', 'hand_landmark_lite.tflite');

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'nibble-issue16-'));
});

describe('1. preprocessing travels with the model', () => {
  it('quantize writes the preprocessing it calibrated with into the output; eval of the output says which it used', async () => {
    const out = join(dir, 'pre.onnx');
    const r = await cli('quantize', MODEL, '--data', 'fashion-mnist:calib', '--recipe', 'w4a4-baseline', '--samples', '8', '--preprocess', 'fashion-mnist,normalize=0.5/0.25', '--out', out);
    expect(r.code).toBe(0);
    expect(readOnnxFile(out).metadata.get('nibble.preprocess')).toBe('fashion-mnist,normalize=0.5/0.25');
    const e = await cli('eval', out, '--data', 'fashion-mnist:test', '--limit', '16');
    expect(e.code).toBe(0);
    expect(e.out).toContain("preprocessing: fashion-mnist,normalize=0.5/0.25 (from the model's nibble.preprocess metadata)");
    const i = await cli('inspect', out);
    expect(i.out).toContain('preprocessing: fashion-mnist,normalize=0.5/0.25');
  }, 120_000);

  it('a model without preprocessing metadata fed a dataset preset gets a warning saying what was applied', async () => {
    const bare = join(dir, 'bare.onnx');
    const { writeOnnxFile } = await import('@nibble/onnx');
    const m = readOnnxFile(MODEL);
    m.metadata.delete('nibble.preprocess');
    writeOnnxFile(m, bare);
    const e = await cli('eval', bare, '--data', 'fashion-mnist:test', '--limit', '8', '--json');
    expect(e.code).toBe(0);
    expect(e.err).toContain("applied the dataset's preset 'fashion-mnist'");
    expect(JSON.parse(e.out).preprocess.source).toBe('dataset-preset');
  }, 60_000);

  it('float npy data is not divided by 255 a second time by preprocessing the user did not ask for', async () => {
    // The same 8 test images as bytes (IDX) and as floats in [0, 1] (npy): same accuracy.
    const ubyte = await cli('eval', MODEL, '--data', 'fashion-mnist:test', '--limit', '32', '--json');
    const { openDataset } = await import('@nibble/data');
    const ds = await openDataset('fashion-mnist:test', { preprocess: 'gray,scale=1/255' });
    const b = await ds.batch(Array.from({ length: 32 }, (_, i) => i));
    writeFileSync(join(dir, 'x.npy'), encodeNpy('<f4', [32, 28, 28], b.inputs.data as Float32Array));
    writeFileSync(join(dir, 'y.npy'), encodeNpy('<i4', [32], b.labels));
    const float = await cli('eval', MODEL, '--data', `npy:${join(dir, 'x.npy')},${join(dir, 'y.npy')}`, '--json');
    expect(float.code).toBe(0);
    expect(JSON.parse(float.out).top1).toBe(JSON.parse(ubyte.out).top1);
    expect(JSON.parse(float.out).preprocess.applied).toContain('scale step skipped');
  }, 60_000);
});

describe('2. outputs never replace inputs', () => {
  it('calibrate --out <the model> and quantize --out <the model> exit 2 and leave it unchanged', async () => {
    const copy = join(dir, 'in.onnx');
    writeFileSync(copy, readFileSync(MODEL));
    for (const argv of [['calibrate', copy, '--data', 'fashion-mnist:calib', '--out', copy], ['quantize', copy, '--data', 'fashion-mnist:calib', '--recipe', 'w4a4-all', '--out', copy]]) {
      const r = await cli(...argv, '--json');
      expect(r.code).toBe(2);
      expect(JSON.parse(r.err).error.message).toContain('would destroy the input');
    }
    expect(readFileSync(copy).equals(readFileSync(MODEL))).toBe(true);
  });

  it('an existing output is refused without --force; a missing or read-only directory is a user error before any work', async () => {
    const existing = join(dir, 'exists.json');
    writeFileSync(existing, 'keep me');
    const r = await cli('calibrate', MODEL, '--data', 'fashion-mnist:calib', '--out', existing);
    expect(r.code).toBe(2);
    expect(r.err).toContain('--force');
    expect(readFileSync(existing, 'utf8')).toBe('keep me');
    const missing = await cli('calibrate', MODEL, '--data', 'fashion-mnist:calib', '--out', join(dir, 'nope', 's.json'));
    expect(missing.code).toBe(2);
    expect(missing.err).not.toContain('internal error');
  });
});

describe('3. size options are bounded', () => {
  it('--histogram 100000000 is a clear error (exit 2), and a large one is refused by its memory estimate', async () => {
    const huge = await cli('calibrate', MODEL, '--data', 'fashion-mnist:calib', '--out', join(dir, 'h.json'), '--histogram', '100000000');
    expect(huge.code).toBe(2);
    expect(huge.err).toContain('--histogram must be an integer in [8, 1048576]');
    const big = await cli('calibrate', MODEL, '--data', 'fashion-mnist:calib', '--out', join(dir, 'h.json'), '--histogram', '1000000', '--json');
    expect(big.code).toBe(2);
    const e = JSON.parse(big.err).error;
    expect(e.code).toBe('E_TOO_LARGE');
    expect(e.hint).toContain('--memory-limit');
    expect(existsSync(join(dir, 'h.json'))).toBe(false);
    expect((await cli('eval', MODEL, '--data', 'fashion-mnist:test', '--batch', '100000')).code).toBe(2);
  });

  it('eval without --batch shrinks the default batch to the memory limit instead of refusing; a given --batch is refused', async () => {
    // ResNet-20 holds ~2 MB of activations per sample: 0.01 GiB takes 5 of them, not the default 64.
    const shrunk = await cli('eval', MODEL, '--data', 'fashion-mnist:test', '--limit', '64', '--memory-limit', '0.01', '--json');
    expect(shrunk.code).toBe(0);
    const r = JSON.parse(shrunk.out);
    expect(r.batchSize).toBeLessThan(64);
    expect(r.n).toBe(64);
    const full = JSON.parse((await cli('eval', MODEL, '--data', 'fashion-mnist:test', '--limit', '64', '--json')).out);
    expect(r.correct).toBe(full.correct);
    const given = await cli('eval', MODEL, '--data', 'fashion-mnist:test', '--limit', '64', '--memory-limit', '0.01', '--batch', '64', '--json');
    expect(given.code).toBe(2);
    expect(JSON.parse(given.err).error).toMatchObject({ code: 'E_TOO_LARGE', option: 'batch' });
  });
});

describe('4. fixed-batch models', () => {
  it('a MediaPipe model fixed to batch 1: --batch 32 is refused naming the input, and calibration runs in batches of 1 by default', async () => {
    const r = await cli('calibrate', HANDS, '--data', `npy:${join(dir, 'hands.npy')}`, '--out', join(dir, 'hands.json'), '--batch', '32', '--preprocess', 'none', '--json');
    expect(r.code).toBe(2);
    writeFileSync(join(dir, 'hands.npy'), encodeNpy('<f4', [3, 3, 224, 224], new Float32Array(3 * 3 * 224 * 224).fill(0.5)));
    const again = await cli('calibrate', HANDS, '--data', `npy:${join(dir, 'hands.npy')}`, '--out', join(dir, 'hands.json'), '--batch', '32', '--json');
    expect(again.code).toBe(2);
    expect(JSON.parse(again.err).error.message).toContain('--batch 32 cannot be honoured');
    const ok = await cli('calibrate', HANDS, '--data', `npy:${join(dir, 'hands.npy')}`, '--out', join(dir, 'hands.json'), '--samples', '2', '--json');
    expect(ok.err).toBe('');
    expect(ok.code).toBe(0);
    expect(JSON.parse(ok.out).samples).toBe(2);
  }, 120_000);
});

describe('6. a pipeline that quantizes nothing', () => {
  it.each([[''], ['quantize'], ['fold-bn']])('--pipeline "%s" exits 2 unless --allow-unquantized', async (pipeline) => {
    const out = join(dir, `none-${pipeline || 'empty'}.onnx`);
    const r = await cli('quantize', MODEL, '--data', 'fashion-mnist:calib', '--pipeline', pipeline, '--out', out, '--samples', '4');
    expect(r.code).toBe(2);
    expect(r.err).toContain('quantizes nothing');
    expect(existsSync(out)).toBe(false);
    if (pipeline === '') expect((await cli('quantize', MODEL, '--data', 'fashion-mnist:calib', '--pipeline', '', '--out', out, '--allow-unquantized')).code).toBe(0);
  }, 60_000);
});

describe('7-8. diagnostics', () => {
  it('--json errors are JSON, bugs included; --version prints the version', async () => {
    const r = await cli('inspect', join(dir, 'missing.onnx'), '--json');
    expect(r.code).toBe(2);
    expect(JSON.parse(r.err).error.code).toBe('E_FILE_NOT_FOUND');
    const { reportError } = await import('./shared/errors');
    let text = '';
    expect(reportError(new TypeError('boom'), (t) => (text = t), true)).toBe(1);
    expect(JSON.parse(text).error.code).toBe('E_INTERNAL');
    const v = await cli('--version');
    expect(v.code).toBe(0);
    expect(v.out).toMatch(/^nibble \d+\.\d+\.\d+/);
  });

  it('--data fashion-mnist says a split is missing', async () => {
    const r = await cli('eval', MODEL, '--data', 'fashion-mnist');
    expect(r.code).toBe(2);
    expect(r.err).toContain('needs a split after a colon, e.g. fashion-mnist:test');
  });

  it('NaN in calibration data names the sample; a NaN weight names the weight; a wrong image size exits 2 in eval', async () => {
    const x = new Float32Array(4 * 28 * 28).fill(0.5);
    x[2 * 784 + 100] = NaN;
    writeFileSync(join(dir, 'nan.npy'), encodeNpy('<f4', [4, 28, 28], x));
    const r = await cli('calibrate', MODEL, '--data', `npy:${join(dir, 'nan.npy')}`, '--out', join(dir, 'nan.json'), '--json');
    expect(r.code).toBe(2);
    expect(JSON.parse(r.err).error.message).toMatch(/sample 2 holds NaN/);

    const { writeOnnxFile } = await import('@nibble/onnx');
    const m = readOnnxFile(MODEL);
    const w = m.graph.initializers.find((v) => v.const && v.const.dtype === 'float32' && v.const.size > 10)!;
    (w.const!.data as Float32Array)[3] = NaN;
    writeOnnxFile(m, join(dir, 'nanw.onnx'));
    const q = await cli('quantize', join(dir, 'nanw.onnx'), '--data', 'fashion-mnist:calib', '--recipe', 'w4a4-all', '--out', join(dir, 'nanw.q.onnx'), '--json');
    expect(q.code).toBe(2);
    expect(JSON.parse(q.err).error.message).toContain(`the weight '${w.name}' holds NaN`);

    writeFileSync(join(dir, 'big.npy'), encodeNpy('<f4', [2, 32, 32], new Float32Array(2 * 32 * 32)));
    writeFileSync(join(dir, 'lab.npy'), encodeNpy('<i4', [2], [0, 1]));
    const e = await cli('eval', MODEL, '--data', `npy:${join(dir, 'big.npy')},${join(dir, 'lab.npy')}`, '--json');
    expect(e.code).toBe(2);
    expect(JSON.parse(e.err).error.code).toBe('E_SHAPE');
  }, 60_000);

  it('on a pipe, progress prints a line every few seconds (stage, done/total, rate); --quiet prints none', () => {
    let now = 0;
    const lines: string[] = [];
    const io = { out: () => undefined, err: (t: string) => lines.push(t), interactive: false, clock: () => now };
    const bar = new ProgressBar('calibrating', 100, io);
    bar.update(10);
    now = 6000;
    bar.update(60);
    now = 7000;
    bar.update(70);
    now = 12000;
    bar.update(100);
    expect(lines).toEqual(['calibrating: 60/100 (10/s)', 'calibrating: 100/100 (8.3/s)']);
    const quiet = new ProgressBar('calibrating', 100, io, true);
    now = 60000;
    quiet.update(50);
    expect(lines).toHaveLength(2);
  });

  it('an interrupted run leaves no temporary file behind', () => {
    // Signals end the CLI through a handler (exit 130/143) that runs between synchronous writes, so
    // no write is cut off; the atomic writer also removes its temporary file when a write fails.
    const { writeFileAtomic } = jest.requireActual('@nibble/data') as typeof import('@nibble/data');
    expect(() => writeFileAtomic(join(dir, 'no-such-dir', 'x.json'), 'x')).toThrow(/cannot write the file/);
    expect(readdirSync(dir).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });
});
