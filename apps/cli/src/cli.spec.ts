import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as protobuf from 'protobufjs';
import * as ort from 'onnxruntime-node';
import { cli } from './testing/run-cli';

const root = join(__dirname, '..', '..', '..');
const assets = join(root, 'node_modules', '@gutenye', 'ocr-models', 'assets');
const MODELS = ['ch_PP-OCRv4_det_infer.onnx', 'ch_PP-OCRv4_rec_infer.onnx', 'ch_ppocr_mobile_v2.0_cls_infer.onnx'];

/** Parameter count straight from the protobuf, independent of nibble's reader. */
function rawParameterCount(path: string): number {
  const proto = readFileSync(join(root, 'packages', 'onnx', 'src', 'onnx.proto'), 'utf8');
  const Model = protobuf.parse(proto, { keepCase: true }).root.lookupType('onnx.ModelProto');
  const m = Model.toObject(Model.decode(readFileSync(path)), { longs: Number }) as any;
  const size = (t: any) => (t.dims ?? []).reduce((a: number, b: number) => a * b, 1);
  let n = 0;
  for (const t of m.graph.initializer ?? []) n += size(t);
  for (const node of m.graph.node ?? []) {
    if (node.op_type !== 'Constant') continue;
    for (const a of node.attribute ?? []) if (a.name === 'value' && a.t) n += size(a.t);
  }
  return n;
}

describe('nibble inspect', () => {
  it.each(MODELS)('reports the parameter count of %s as the raw protobuf has it', async (file) => {
    const r = await cli('inspect', join(assets, file), '--json');
    expect(r.code).toBe(0);
    const report = JSON.parse(r.out);
    expect(report.parameters).toBe(rawParameterCount(join(assets, file)));
    expect(report.parameters).toBeGreaterThan(100000);
  });

  it('counts MACs per layer on a model with known arithmetic', async () => {
    // Conv 3->4, 3x3, pad 1 on 8x8: 4*8*8 outputs x 3*3*3 MACs; Gemm 256->10: 2560 MACs.
    const dir = mkdtempSync(join(tmpdir(), 'nibble-cli-'));
    const { Graph, Tensor, attr, createModel } = await import('@nibble/ir');
    const { writeOnnxFile } = await import('@nibble/onnx');
    const g = new Graph('macs');
    const x = g.addInput('x', { dtype: 'float32', shape: ['N', 3, 8, 8] });
    const w = g.addInitializer('w', new Tensor('float32', [4, 3, 3, 3]));
    const conv = g.addNode({ opType: 'Conv', inputs: [x, w], outputs: ['c'], attributes: { pads: attr.ints([1, 1, 1, 1]), kernel_shape: attr.ints([3, 3]) } });
    const flat = g.addNode({ opType: 'Flatten', inputs: [conv.outputs[0]], outputs: ['f'] });
    const fw = g.addInitializer('fw', new Tensor('float32', [10, 256]));
    const gemm = g.addNode({ opType: 'Gemm', inputs: [flat.outputs[0], fw], outputs: ['y'], attributes: { transB: attr.int(1) } });
    g.addOutput(gemm.outputs[0]);
    const path = join(dir, 'macs.onnx');
    writeOnnxFile(createModel(g), path);
    const report = JSON.parse((await cli('inspect', path, '--json')).out);
    expect(report.layers.map((l: { macs: number }) => l.macs)).toEqual([6912, 2560]);
    expect(report.macs).toBe(9472);
    expect(report.parameters).toBe(4 * 27 + 2560);
  });

  it('needs --shape to count MACs of dynamic inputs', async () => {
    const path = join(assets, MODELS[2]);
    const dynamic = JSON.parse((await cli('inspect', path, '--json')).out);
    expect(dynamic.layersWithUnknownMacs).toBeGreaterThan(0);
    const fixed = JSON.parse((await cli('inspect', path, '--json', '--shape', 'x=1,3,48,192')).out);
    expect(fixed.layersWithUnknownMacs).toBe(0);
    expect(fixed.macs).toBeGreaterThan(dynamic.macs);
  });
});

describe('nibble convert', () => {
  it('writes a model onnxruntime loads and runs like the original', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'nibble-cli-'));
    const out = join(dir, 'cls.onnx');
    const r = await cli('convert', join(assets, MODELS[2]), out);
    expect(r.code).toBe(0);
    const feeds = { x: new ort.Tensor('float32', Float32Array.from({ length: 3 * 48 * 192 }, (_, i) => Math.sin(i)), [1, 3, 48, 192]) };
    const a = await (await ort.InferenceSession.create(join(assets, MODELS[2]))).run(feeds);
    const b = await (await ort.InferenceSession.create(out)).run(feeds);
    const name = Object.keys(a)[0];
    expect(Array.from(b[name].data as Float32Array)).toEqual(Array.from(a[name].data as Float32Array));
  });
});

describe('user errors', () => {
  it('a missing model file: exit 2, the path named, no stack', async () => {
    const r = await cli('inspect', '/nonexistent/model.onnx');
    expect(r.code).toBe(2);
    expect(r.err).toContain('/nonexistent/model.onnx');
    expect(r.err).not.toMatch(/\n\s+at /);
  });

  it('bytes that are not ONNX: exit 2, typed error', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'nibble-cli-'));
    const bad = join(dir, 'bad.onnx');
    writeFileSync(bad, 'this is not a protobuf at all, just text\n');
    const r = await cli('inspect', bad, '--json');
    expect(r.code).toBe(2);
    const e = JSON.parse(r.err).error;
    expect(e.code).toMatch(/^E_(FILE_FORMAT|TRUNCATED)$/);
    expect(e.file).toBe(bad);
  });

  it('an unknown command or option: exit 2 with the valid ones', async () => {
    const a = await cli('quantise', 'x.onnx');
    expect(a.code).toBe(2);
    expect(a.err).toContain('inspect');
    const b = await cli('inspect', 'x.onnx', '--bogus');
    expect(b.code).toBe(2);
    expect(b.err).toContain('usage: nibble inspect');
    const c = await cli('convert', join(assets, MODELS[2]), '/tmp/out.tflite');
    expect(c.code).toBe(2);
    expect(c.err).toContain('.onnx');
  });
});
