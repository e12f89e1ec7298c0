import { copyFileSync, mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { defaultModelPath } from 'nibble';
import { cli } from '../testing/run-cli';

describe('nibble convert', () => {
  const dir = mkdtempSync(join(tmpdir(), 'nibble-cli-convert-'));
  const model = join(dir, 'm.onnx');
  copyFileSync(defaultModelPath(), model);
  const original = readFileSync(model);

  it('refuses to write over its input (exit 2, the input unchanged)', async () => {
    const r = await cli('convert', model, model);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/would destroy the input/);
    expect(readFileSync(model).equals(original)).toBe(true);
  });

  it('refuses an existing output unless --force, and a name that is not .onnx', async () => {
    const out = join(dir, 'out.onnx');
    expect((await cli('convert', model, out)).code).toBe(0);
    const first = statSync(out).mtimeMs;
    const again = await cli('convert', model, out);
    expect(again.code).toBe(2);
    expect(again.err).toMatch(/exists/);
    expect(statSync(out).mtimeMs).toBe(first);
    expect((await cli('convert', model, out, '--force')).code).toBe(0);
    expect((await cli('convert', model, join(dir, 'out.tflite'))).code).toBe(2);
  });

  it('--shape fixes an input shape; a wrong name, rank or fixed dimension is a user error naming it', async () => {
    const out = join(dir, 'fixed.onnx');
    const r = await cli('convert', model, out, '--shape', 'input=4,1,28,28', '--json');
    expect(r.code).toBe(0);
    expect(JSON.parse(r.out).shapes).toEqual({ input: [4, 1, 28, 28] });
    const shown = await cli('inspect', out, '--json');
    expect(JSON.parse(shown.out).inputs[0].shape).toEqual([4, 1, 28, 28]);
    for (const [spec, message] of [['x=1,1,28,28', /not an input of the model.*\n.*input/], ['input=1,28,28', /rank 4/], ['input=1,3,28,28', /dimension 1 fixed at 1/], ['input=1,a', /not of the form/]] as const) {
      const bad = await cli('convert', model, join(dir, 'bad.onnx'), '--shape', spec);
      expect(bad.code).toBe(2);
      expect(bad.err).toMatch(message);
    }
  });
});
