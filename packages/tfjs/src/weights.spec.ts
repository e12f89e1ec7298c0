import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { NibbleError, isNibbleError, numberToFloat16Bits } from '@nibble/ir';
import { readTfjsModel } from './index';
import { loadWeights, type WeightGroup } from './weights';

async function rejects(p: Promise<unknown>): Promise<NibbleError> {
  try {
    await p;
  } catch (e) {
    if (isNibbleError(e)) return e;
    throw e;
  }
  throw new Error('expected an error');
}

const bytes = (a: ArrayBufferView): Uint8Array => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);

describe('weights manifests', () => {
  // Three weights across two shards: float32, uint8-quantized, float16; then a uint16 group.
  const f32 = Float32Array.from([1.5, -2.25, 3]);
  const u8 = Uint8Array.from([0, 1, 255, 128]);
  const f16 = Uint16Array.from([1, -0.5, 65504, 2 ** -24].map(numberToFloat16Bits));
  const u16 = Uint16Array.from([0, 65535, 1000]);
  const group1 = [...bytes(f32), ...u8, ...bytes(f16)];
  const shard1 = Uint8Array.from(group1.slice(0, 10));
  const shard2 = Uint8Array.from(group1.slice(10));
  const groups: WeightGroup[] = [
    {
      paths: ['g1-shard1of2.bin', 'g1-shard2of2.bin'],
      weights: [
        { name: 'a', shape: [3], dtype: 'float32' },
        { name: 'b', shape: [2, 2], dtype: 'float32', quantization: { dtype: 'uint8', min: -1, scale: 0.01 } },
        { name: 'c', shape: [4], dtype: 'float32', quantization: { dtype: 'float16' } },
      ],
    },
    { paths: ['g2.bin'], weights: [{ name: 'd', shape: [3], dtype: 'float32', quantization: { dtype: 'uint16', min: 0.5, scale: 1e-3 } }] },
  ];
  const shards: Record<string, Uint8Array> = { 'g1-shard1of2.bin': shard1, 'g1-shard2of2.bin': shard2, 'g2.bin': bytes(u16) };

  it('reads float32, dequantizes uint8/uint16 (q * scale + min) and decodes float16 across shards', async () => {
    const w = await loadWeights(groups, async (p) => shards[p]);
    expect(Array.from(w.get('a')!.data as Float32Array)).toEqual([1.5, -2.25, 3]);
    expect(w.get('b')!.shape).toEqual([2, 2]);
    expect(Array.from(w.get('b')!.data as Float32Array)).toEqual([-1, 1 * 0.01 - 1, 255 * 0.01 - 1, 128 * 0.01 - 1].map(Math.fround));
    expect(Array.from(w.get('c')!.data as Float32Array)).toEqual([1, -0.5, 65504, 2 ** -24]);
    expect(Array.from(w.get('d')!.data as Float32Array)).toEqual([0.5, 65535e-3 + 0.5, 1.5].map(Math.fround));
  });

  it('reads one buffer holding every shard, as TF.js artifacts carry them', async () => {
    const all = Uint8Array.from([...shard1, ...shard2, ...bytes(u16)]);
    const w = await loadWeights(groups, all);
    expect(Array.from(w.get('d')!.data as Float32Array)).toEqual([0.5, 65535e-3 + 0.5, 1.5].map(Math.fround));
  });

  it('gives E_TRUNCATED when a shard is cut short', async () => {
    const e = await rejects(loadWeights(groups, async (p) => (p === 'g2.bin' ? bytes(u16).subarray(0, 4) : shards[p]), 'm.json'));
    expect(e.code).toBe('E_TRUNCATED');
    expect(e.message).toContain("'d'");
  });

  it('rejects quantization without min and scale', async () => {
    const bad: WeightGroup[] = [{ paths: ['x'], weights: [{ name: 'q', shape: [1], dtype: 'float32', quantization: { dtype: 'uint8' } }] }];
    const e = await rejects(loadWeights(bad, async () => new Uint8Array(1)));
    expect(e.code).toBe('E_FILE_FORMAT');
  });
});

/** A one-layer model (Dense 3 -> 2) as model.json plus one shard. */
function denseModel(): { json: Record<string, unknown>; shard: Uint8Array } {
  const json = {
    format: 'layers-model',
    modelTopology: {
      class_name: 'Sequential',
      config: {
        name: 'tiny',
        layers: [{ class_name: 'Dense', config: { name: 'fc', units: 2, activation: 'relu', use_bias: true, batch_input_shape: [null, 3] } }],
      },
    },
    weightsManifest: [{ paths: ['tiny.bin'], weights: [{ name: 'fc/kernel', shape: [3, 2], dtype: 'float32' }, { name: 'fc/bias', shape: [2], dtype: 'float32' }] }],
  };
  return { json, shard: bytes(Float32Array.from([1, 2, 3, 4, 5, 6, 0.5, -0.5])) };
}

describe('model sources', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'nibble-tfjs-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('reads a directory, a model.json path, and in-memory JSON text with module-wrapped shards', async () => {
    const { json, shard } = denseModel();
    writeFileSync(join(dir, 'model.json'), JSON.stringify(json));
    writeFileSync(join(dir, 'tiny.bin'), shard);
    for (const source of [dir, join(dir, 'model.json'), { modelJson: JSON.stringify(json), weights: { 'tiny.bin': { default: Buffer.from(shard).toString('base64') } } }]) {
      const m = await readTfjsModel(source);
      const gemm = m.graph.nodes.find((n) => n.opType === 'Gemm')!;
      // Keras [in, out] kernels are stored [out, in] with transB.
      expect(gemm.inputs[1]!.const!.shape).toEqual([2, 3]);
      expect(Array.from(gemm.inputs[1]!.const!.data as Float32Array)).toEqual([1, 3, 5, 2, 4, 6]);
      expect(m.graph.outputs.map((v) => v.name)).toEqual(['fc']);
    }
  });

  it('names a shard the manifest lists but the directory lacks', async () => {
    const { json } = denseModel();
    writeFileSync(join(dir, 'model.json'), JSON.stringify(json));
    const e = await rejects(readTfjsModel(dir));
    expect(e.code).toBe('E_FILE_NOT_FOUND');
    expect(e.message).toContain("'tiny.bin'");
    expect(e.place.file).toContain('tiny.bin');
  });

  it('names a shard missing from an in-memory source', async () => {
    const { json } = denseModel();
    const e = await rejects(readTfjsModel({ modelJson: json, weights: { 'other.bin': new Uint8Array(32) }, file: 'tiny' }));
    expect(e.code).toBe('E_FILE_NOT_FOUND');
    expect(e.message).toContain("'tiny.bin'");
    expect(e.hint).toContain('other.bin');
  });

  it('refuses shard paths outside the model directory', async () => {
    const { json } = denseModel();
    (json.weightsManifest as WeightGroup[])[0].paths = ['../escape.bin'];
    writeFileSync(join(dir, 'model.json'), JSON.stringify(json));
    expect((await rejects(readTfjsModel(dir))).code).toBe('E_FILE_FORMAT');
  });

  it('reports a missing model and a file that is not a TF.js model', async () => {
    expect((await rejects(readTfjsModel(join(dir, 'nope.json')))).code).toBe('E_FILE_NOT_FOUND');
    writeFileSync(join(dir, 'model.json'), '{"hello": 1}');
    expect((await rejects(readTfjsModel(dir))).code).toBe('E_FILE_FORMAT');
    writeFileSync(join(dir, 'model.json'), '{"modelTopology": ');
    expect((await rejects(readTfjsModel(dir))).code).toBe('E_FILE_FORMAT');
  });
});
