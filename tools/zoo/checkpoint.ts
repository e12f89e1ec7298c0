import * as fs from 'fs';
import * as path from 'path';
import { writeFileAtomic } from '@nibble/data';

/**
 * Training checkpoints: `latest.json` (progress, config, tensor index) and the
 * float32 payload it names (`ckpt-<step>.bin`). The payload is written first
 * and the JSON renamed into place last, so a run killed at any moment leaves
 * the previous checkpoint readable.
 */

export interface SavedTensor {
  name: string;
  shape: number[];
  /** Offset in float32 elements into the payload. */
  offset: number;
}

export interface CheckpointMeta<C, P> {
  version: 1;
  config: C;
  progress: P;
  payload: string;
  tensors: SavedTensor[];
}

export function saveCheckpoint<C, P>(dir: string, step: number, config: C, progress: P, tensors: Map<string, { shape: number[]; data: Float32Array }>): void {
  let total = 0;
  const index: SavedTensor[] = [];
  for (const [name, t] of tensors) {
    index.push({ name, shape: t.shape, offset: total });
    total += t.data.length;
  }
  const payload = new Float32Array(total);
  for (const s of index) payload.set(tensors.get(s.name)!.data, s.offset);
  const payloadName = `ckpt-${String(step).padStart(7, '0')}.bin`;
  fs.mkdirSync(dir, { recursive: true });
  writeFileAtomic(path.join(dir, payloadName), new Uint8Array(payload.buffer));
  const meta: CheckpointMeta<C, P> = { version: 1, config, progress, payload: payloadName, tensors: index };
  writeFileAtomic(path.join(dir, 'latest.json'), JSON.stringify(meta, null, 1) + '\n');
  for (const f of fs.readdirSync(dir)) {
    if (/^ckpt-\d+\.bin$/.test(f) && f !== payloadName) fs.rmSync(path.join(dir, f), { force: true });
  }
}

export function loadCheckpoint<C, P>(dir: string): { meta: CheckpointMeta<C, P>; tensors: Map<string, { shape: number[]; data: Float32Array }> } | null {
  const metaFile = path.join(dir, 'latest.json');
  if (!fs.existsSync(metaFile)) return null;
  const meta = JSON.parse(fs.readFileSync(metaFile, 'utf8')) as CheckpointMeta<C, P>;
  const buf = fs.readFileSync(path.join(dir, meta.payload));
  const all = new Float32Array(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength));
  const tensors = new Map<string, { shape: number[]; data: Float32Array }>();
  for (const s of meta.tensors) {
    const n = s.shape.reduce((a, b) => a * b, 1);
    if (s.offset + n > all.length) throw new Error(`${dir}/${meta.payload}: tensor '${s.name}' runs past the end of the payload (truncated checkpoint?)`);
    tensors.set(s.name, { shape: s.shape, data: all.slice(s.offset, s.offset + n) });
  }
  return { meta, tensors };
}
