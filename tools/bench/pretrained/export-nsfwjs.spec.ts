import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { readTfjsModel } from '@nibble/tfjs';
import { exportNsfwjsModel } from './export-nsfwjs';

describe('export-nsfwjs', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'nibble-nsfwjs-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('writes model.json and the shard the package holds, byte for byte, and the importer reads them', async () => {
    const json = exportNsfwjsModel('mobilenet_v2', join(dir, 'a'));
    const manifest = JSON.parse(readFileSync(json, 'utf8')).weightsManifest as { paths: string[] }[];
    expect(manifest.flatMap((g) => g.paths)).toEqual(['group1-shard1of1']);
    const modules = join(dirname(require.resolve('nsfwjs')), '..', 'models', 'mobilenet_v2');
    const base64 = require(join(modules, 'group1-shard1of1.min.js')) as string;
    expect(Buffer.compare(readFileSync(join(dir, 'a', 'group1-shard1of1')), Buffer.from(base64, 'base64'))).toBe(0);
    // A second export is identical.
    exportNsfwjsModel('mobilenet_v2', join(dir, 'b'));
    for (const f of ['model.json', 'group1-shard1of1']) {
      expect(Buffer.compare(readFileSync(join(dir, 'a', f)), readFileSync(join(dir, 'b', f)))).toBe(0);
    }
    const model = await readTfjsModel(json);
    expect(model.graph.inputs[0].type?.shape).toEqual(['N', 3, 224, 224]);
    expect(model.graph.outputs[0].type?.shape).toEqual(['N', 5]);
  }, 60_000);
});
