import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { existsSync, readFileSync } from 'node:fs';
import type { Executor, ExecutorFactory } from '@nibble/core';
import { createModel, Graph, type Model, NibbleError, Tensor } from '@nibble/ir';
import { parseTfliteFile, toTfliteLayout, withBatch } from '@nibble/tflite';
import { workspaceRoot } from './defaults';

/*
 * TFLite 2.9 itself (tfjs-tflite-node) as a runtime for the files the
 * tflite target writes: the user's check of the file they ship. It lives in
 * tools/tflite-ref, a separate npm project (its tfjs-core pin conflicts
 * with the workspace's), and runs in a child process that reads one JSON
 * request (tools/tflite-ref/run.cjs). Nothing is imported from there.
 */

export const TFLITE_RUNTIME_INSTALL = 'npm ci --prefix tools/tflite-ref';

function runner(): string {
  const dir = join(workspaceRoot(), 'tools', 'tflite-ref');
  if (!existsSync(join(dir, 'node_modules', 'tfjs-tflite-node', 'build', 'Release'))) {
    throw new NibbleError('E_UNSUPPORTED', 'the TFLite runtime (TFLite 2.9 via tfjs-tflite-node) is not installed', {
      option: 'runtime', hint: `install it from the repository root with \`${TFLITE_RUNTIME_INSTALL}\`, or evaluate with --runtime ort`,
    });
  }
  return join(dir, 'run.cjs');
}

const b64 = (a: Float32Array | Uint8Array): string => Buffer.from(a.buffer, a.byteOffset, a.byteLength).toString('base64');

/**
 * An Executor running a .tflite file's bytes in TFLite 2.9, for a
 * single-input model whose outputs are [N, ...] (as the file lays them out:
 * NHWC for rank 4). Its outputNames are the one `names.output`; a run
 * returns every output of the file by its tensor name (a file written with
 * writeTflite's `intermediates` has one per int8 activation). TFLite 2.9
 * through tfjs-tflite does not resize inputs: the file states its batch
 * (`batch`), and a feed is cut into runs of that many rows, the last one
 * padded with its final row.
 */
export function createTfliteExecutor(bytes: Uint8Array, names: { input: string; output: string }, batch = 1): Executor {
  const script = runner();
  return {
    inputNames: [names.input],
    outputNames: [names.output],
    async run(feeds) {
      const x = feeds[names.input];
      if (!x) throw new NibbleError('E_BAD_OPTION', `no feed for input '${names.input}'`, { value: names.input });
      const { shape, data: values } = toTfliteLayout(x);
      const data = Float32Array.from(values);
      const n = shape[0];
      const per = data.length / n;
      const runs = [];
      for (let start = 0; start < n; start += batch) {
        const chunk = new Float32Array(batch * per);
        chunk.set(data.subarray(start * per, Math.min(n, start + batch) * per));
        for (let i = n - start; i < batch; i++) chunk.copyWithin(i * per, (n - start - 1) * per, (n - start) * per);
        runs.push({ modelBase64: b64(bytes), inputs: [{ shape: [batch, ...shape.slice(1)], data: b64(chunk) }] });
      }
      const p = spawnSync(process.execPath, [script], { input: JSON.stringify({ threads: 1, runs }), maxBuffer: 1 << 30 });
      if (p.status !== 0) throw new NibbleError('E_RUNTIME', `TFLite failed (exit ${p.status}): ${p.stderr.toString().slice(0, 500)}`, { option: 'runtime' });
      const reply = JSON.parse(p.stdout.toString()) as { results: ({ outputs: { name: string; shape: number[]; data: string }[] } | { error: string })[] };
      // Per output: the rows of each run (the padding rows of the last run dropped), in order.
      const outputs = new Map<string, { rowShape: number[]; out: Float32Array }>();
      let first: string | undefined;
      reply.results.forEach((r, k) => {
        if ('error' in r) throw new NibbleError('E_RUNTIME', `TFLite refused the file: ${r.error}`, { option: 'runtime', hint: 'check the file with nibble inspect' });
        for (const o of r.outputs) {
          const raw = Buffer.from(o.data, 'base64');
          const values = new Float32Array(raw.byteLength / 4);
          new Uint8Array(values.buffer).set(raw);
          const rowShape = o.shape.slice(1);
          const size = rowShape.reduce((a, b) => a * b, 1);
          first ??= o.name;
          let entry = outputs.get(o.name);
          if (!entry) outputs.set(o.name, (entry = { rowShape, out: new Float32Array(n * size) }));
          entry.out.set(values.subarray(0, Math.min(batch, n - k * batch) * size), k * batch * size);
        }
      });
      const result = Object.fromEntries([...outputs].map(([name, o]) => [name, new Tensor('float32', [n, ...o.rowShape], o.out)]));
      // The file's first output answers to the declared name whatever the runtime calls it.
      if (first !== undefined && !(names.output in result)) result[names.output] = result[first];
      return result;
    },
    async dispose() {},
  };
}

/**
 * A .tflite file ready for `evaluate`: a stand-in model stating its float
 * input (NCHW, as nibble's data arrive) and output, and the factory of an
 * executor that runs the file, re-stated for `batch` (withBatch), in
 * TFLite 2.9. A missing runtime is an error naming its install step.
 */
export function tfliteForEvaluation(path: string, batch: number): { model: Model; executorFactory: ExecutorFactory } {
  runner();
  const bytes = new Uint8Array(readFileSync(path));
  const file = parseTfliteFile(bytes, path);
  const sg = file.subgraphs[0];
  const [input, output] = [sg.tensors[sg.inputs[0]], sg.tensors[sg.outputs[0]]];
  if (sg.inputs.length !== 1 || input.type !== 'FLOAT32' || output.type !== 'FLOAT32') {
    throw new NibbleError('E_UNSUPPORTED', `${path}: evaluation feeds one float32 input and reads a float32 output`, {
      file: path, hint: 'write the file with float I/O (the tflite targets\' default)',
    });
  }
  const free = input.shapeSignature?.[0] === -1;
  const dims = input.shape.length === 4 ? [input.shape[3], input.shape[1], input.shape[2]] : input.shape.slice(1);
  const g = new Graph('tflite');
  const x = g.addInput(input.name, { dtype: 'float32', shape: [free ? 'batch' : input.shape[0], ...dims] });
  const y = g.addNode({ opType: 'Identity', name: 'tflite', inputs: [x], outputs: [output.name] }).outputs[0];
  y.type = { dtype: 'float32', shape: [free ? 'batch' : output.shape[0], ...output.shape.slice(1)] };
  g.addOutput(y);
  const runs = free ? withBatch(bytes, batch, path) : bytes;
  const names = { input: input.name, output: output.name };
  const model = createModel(g, 21, 10);
  // The writer's metadata entries (nibble's preprocessing among them) come back as the model's.
  for (const m of file.metadata) model.metadata.set(m.name, new TextDecoder().decode(file.buffers[m.buffer] ?? new Uint8Array(0)));
  return { model, executorFactory: async () => createTfliteExecutor(runs, names, free ? batch : input.shape[0]) };
}
