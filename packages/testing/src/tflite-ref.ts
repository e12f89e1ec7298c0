import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { workspaceRoot } from './workspace';

/*
 * The client of the TFLite reference runtime (TFLite 2.9 via
 * tfjs-tflite-node). The runtime is a separate npm project, tools/tflite-ref,
 * with its own dependencies (its tfjs-core pin conflicts with the root's),
 * installed apart by `npm ci --prefix tools/tflite-ref`; it runs in a child
 * process, so no spec imports anything from tools/.
 */

export const TFLITE_REF_DIR = join(workspaceRoot(), 'tools', 'tflite-ref');
export const TFLITE_REF_INSTALL = 'npm ci --prefix tools/tflite-ref';
export const hasTfliteRef = existsSync(join(TFLITE_REF_DIR, 'node_modules', 'tfjs-tflite-node', 'build', 'Release'));

/** `describe` when the reference is installed; otherwise skipped, saying how to install it. */
export function describeWithTfliteRef(name: string, fn: () => void): void {
  if (hasTfliteRef) {
    describe(name, fn);
    return;
  }
  const why = `skipped: tools/tflite-ref/node_modules is absent; install it with \`${TFLITE_REF_INSTALL}\``;
  console.warn(`${name}: ${why}`);
  describe.skip(`${name} [${why}]`, fn);
}

export interface RefInput {
  shape: number[];
  data: Float32Array;
}

export interface RefRun {
  /** A .tflite path, or the model's bytes. */
  model: string | Uint8Array;
  inputs: RefInput[];
}

export interface RefOutput {
  name: string;
  shape: number[];
  data: Float32Array;
}

const b64 = (a: Float32Array | Uint8Array): string => Buffer.from(a.buffer, a.byteOffset, a.byteLength).toString('base64');

/** Run models in the reference; one child process for all runs. A run that fails yields its error text. */
export function runTfliteRef(runs: RefRun[]): (RefOutput[] | string)[] {
  const request = {
    threads: 1,
    runs: runs.map((r) => ({
      ...(typeof r.model === 'string' ? { model: r.model } : { modelBase64: b64(r.model) }),
      inputs: r.inputs.map((t) => ({ shape: t.shape, data: b64(t.data) })),
    })),
  };
  const p = spawnSync(process.execPath, [join(TFLITE_REF_DIR, 'run.cjs')], { input: JSON.stringify(request), maxBuffer: 1 << 30 });
  if (p.status !== 0) throw new Error(`tflite-ref failed (${p.status}): ${p.stderr.toString().slice(0, 2000)}`);
  const reply = JSON.parse(p.stdout.toString()) as { results: ({ outputs: { name: string; shape: number[]; data: string }[] } | { error: string })[] };
  return reply.results.map((r) => {
    if ('error' in r) return r.error;
    return r.outputs.map((o) => {
      const bytes = Buffer.from(o.data, 'base64');
      const data = new Float32Array(bytes.byteLength / 4);
      new Uint8Array(data.buffer).set(bytes);
      return { name: o.name, shape: o.shape, data };
    });
  });
}
