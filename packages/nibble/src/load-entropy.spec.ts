import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { attr, createModel, Graph, NibbleError, Tensor } from '@nibble/ir';
import { writeEntropyContainerFile, writeOnnx } from '@nibble/onnx';
import { loadModel } from './load';
import { checkSavePath } from './quantize';

/* A .nbz (docs/entropy-container.md) loads through the public API as the ONNX file it holds. */

function qdqBytes(): Uint8Array {
  const g = new Graph('nbz');
  const x = g.addInput('x', { dtype: 'float32', shape: [1, 4, 3, 3] });
  const w = g.addInitializer('w_q', Tensor.from('int4', [8, 4, 1, 1], Array.from({ length: 32 }, (_, i) => ((i * 7) % 5) - 2)));
  const s = g.addInitializer('w_scale', Tensor.from('float32', [8], [1, 2, 3, 4, 5, 6, 7, 8].map((k) => k / 64)));
  const z = g.addInitializer('w_zp', Tensor.from('int4', [8], new Array<number>(8).fill(0)));
  const wf = g.addNode({ opType: 'DequantizeLinear', name: 'dq', inputs: [w, s, z], outputs: ['w'], attributes: { axis: attr.int(0) } }).outputs[0];
  const y = g.addNode({ opType: 'Conv', name: 'conv', inputs: [x, wf], outputs: ['y'] }).outputs[0];
  y.type = { dtype: 'float32', shape: [1, 8, 3, 3] };
  g.addOutput(y);
  return writeOnnx(createModel(g, 21, 10));
}

describe('loadModel of an entropy-coded container', () => {
  const dir = mkdtempSync(join(tmpdir(), 'nibble-nbz-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('reads the same model as the ONNX file', async () => {
    const onnx = qdqBytes();
    const path = join(dir, 'q.nbz');
    writeEntropyContainerFile(path, onnx);
    expect(readFileSync(path).length).toBeGreaterThan(0);
    expect(Buffer.from(writeOnnx(await loadModel(path))).equals(Buffer.from(onnx))).toBe(true);
  });

  it('names the file of a cut-short container', async () => {
    const path = join(dir, 'cut.nbz');
    writeEntropyContainerFile(path, qdqBytes());
    writeFileSync(path, readFileSync(path).subarray(0, 60));
    await expect(loadModel(path)).rejects.toMatchObject({ code: 'E_TRUNCATED', message: expect.stringContaining('cut.nbz') });
    writeFileSync(path, 'not a container');
    await expect(loadModel(path)).rejects.toBeInstanceOf(NibbleError);
  });

  it('accepts .nbz outputs for ONNX targets only', () => {
    expect(() => checkSavePath(join(dir, 'out.nbz'))).not.toThrow();
    expect(() => checkSavePath(join(dir, 'out.nbz'), {}, 'tflite')).toThrow(/only ONNX files are entropy-coded/);
  });
});
