import type { Executor, ExecutorOptions } from '@nibble/core';
import { cloneModel, isNibbleError, Model, NibbleError, Tensor } from '@nibble/ir';
import { writeOnnx } from '@nibble/onnx';
import { EXECUTION_PROVIDER, loadOrt, Ort, OrtBackend } from './ort-module';
import { fromOrtTensor, toOrtTensor } from './ort-tensor';
import { relaxBatchDim } from './relax-batch';

export interface OrtExecutorOptions extends ExecutorOptions {
  /** 'node' (onnxruntime-node, native CPU; the default) or 'web' (onnxruntime-web's wasm backend). */
  backend?: OrtBackend;
  /**
   * Run QuantizeLinear/DequantizeLinear exactly as written (default true).
   * onnxruntime otherwise fuses QDQ groups into integer kernels and rounds a
   * float bias to the input_scale x weight_scale grid, which changes results
   * slightly: a simulation must compute what the annotations say.
   */
  exactQdq?: boolean;
}

type Session = Awaited<ReturnType<Ort['InferenceSession']['create']>>;

function runtimeError(e: unknown, what: string, hint: string): NibbleError {
  if (isNibbleError(e)) return e;
  const msg = (e as Error)?.message ?? String(e);
  return new NibbleError('E_RUNTIME', `onnxruntime ${what}: ${msg}`, { hint, cause: e });
}

/**
 * The model as the session will run it: a clone when anything changes, so
 * the caller's model is never touched. Requested intermediate values become
 * extra graph outputs, and a batch dimension fixed in the file is relaxed.
 */
function prepare(model: Model, extra: readonly string[]): Model {
  const g = model.graph;
  for (const name of extra) {
    if (!g.value(name)) {
      throw new NibbleError('E_BAD_OPTION', `extraOutputs names '${name}', which is not a value of graph '${g.name}'`, {
        option: 'extraOutputs',
        value: name,
        hint: 'name a node output, graph input or initializer of the model (see the model printout)',
      });
    }
  }
  const wanted = extra.filter((n) => !g.outputs.some((v) => v.name === n));
  const needsBatch = g.inputs.some((v) => typeof v.type?.shape?.[0] === 'number');
  if (wanted.length === 0 && !needsBatch) return model;
  const copy = cloneModel(model);
  for (const name of new Set(wanted)) copy.graph.addOutput(copy.graph.value(name)!);
  if (needsBatch) relaxBatchDim(copy.graph);
  return copy;
}

class OrtExecutor implements Executor {
  readonly inputNames: readonly string[];
  readonly outputNames: readonly string[];
  private readonly fetchable: ReadonlySet<string>;

  constructor(
    private readonly ort: Ort,
    private session: Session | null,
    model: Model,
    extra: readonly string[],
    private readonly backend: OrtBackend,
  ) {
    this.inputNames = model.graph.inputs.map((v) => v.name);
    this.outputNames = model.graph.outputs.map((v) => v.name);
    this.fetchable = new Set([...this.outputNames, ...extra]);
  }

  async run(feeds: Record<string, Tensor>, fetch?: readonly string[]): Promise<Record<string, Tensor>> {
    const session = this.session;
    if (!session) throw new NibbleError('E_RUNTIME', 'run() after dispose()', { hint: 'create a new executor' });
    for (const name of this.inputNames) {
      if (!feeds[name]) {
        throw new NibbleError('E_BAD_OPTION', `no feed for model input '${name}'`, {
          value: name,
          hint: `feed every input: ${this.inputNames.join(', ')}`,
        });
      }
    }
    const ortFeeds: Record<string, InstanceType<Ort['Tensor']>> = {};
    for (const [name, t] of Object.entries(feeds)) {
      if (!this.inputNames.includes(name)) {
        throw new NibbleError('E_BAD_OPTION', `feed '${name}' is not an input of the model`, {
          value: name,
          hint: `the model's inputs are: ${this.inputNames.join(', ')}`,
        });
      }
      ortFeeds[name] = toOrtTensor(this.ort, t, name);
    }
    const names = [...new Set(fetch ?? this.outputNames)];
    for (const name of names) {
      if (!this.fetchable.has(name)) {
        throw new NibbleError('E_BAD_OPTION', `cannot fetch '${name}': it is neither a graph output nor in extraOutputs`, {
          option: 'extraOutputs',
          value: name,
          hint: 'name it in extraOutputs when creating the executor',
        });
      }
    }
    let results: Awaited<ReturnType<Session['run']>>;
    try {
      results = await session.run(ortFeeds, names);
    } catch (e) {
      const shapes = Object.entries(feeds).map(([n, t]) => `${n}: ${t.describe()}`).join(', ');
      throw runtimeError(e, `(${this.backend}) failed to run the model`, `check the feeds' types and shapes against the model's inputs (given ${shapes})`);
    }
    const out: Record<string, Tensor> = {};
    for (const name of names) out[name] = fromOrtTensor(results[name], name, this.backend === 'node');
    return out;
  }

  async dispose(): Promise<void> {
    const s = this.session;
    this.session = null;
    if (s) await s.release();
  }
}

/**
 * An Executor on onnxruntime. The model is serialized with writeOnnx (values
 * named in `extraOutputs` added as graph outputs on a clone, so run() can
 * fetch intermediate activations) and loaded in an inference session of the
 * chosen backend. run() takes whatever batch the feeds have.
 */
export async function createOrtExecutor(model: Model, options: OrtExecutorOptions = {}): Promise<Executor> {
  const backend = options.backend ?? 'node';
  const extra = options.extraOutputs ?? [];
  const session = await openSession(writeOnnx(prepare(model, extra)), backend, options.threads, options.exactQdq ?? true);
  return new OrtExecutor(await loadOrt(backend), session, model, extra, backend);
}

/**
 * An Executor on the bytes of an ONNX file exactly as they are, not
 * re-serialized: the reference side of round-trip checks. `model` (the same
 * file read into the IR) supplies the input and output names.
 */
export async function createOrtExecutorForBytes(bytes: Uint8Array, model: Model, options: Omit<OrtExecutorOptions, 'extraOutputs'> = {}): Promise<Executor> {
  const backend = options.backend ?? 'node';
  const session = await openSession(bytes, backend, options.threads, options.exactQdq ?? true);
  return new OrtExecutor(await loadOrt(backend), session, model, [], backend);
}

async function openSession(bytes: Uint8Array, backend: OrtBackend, threads: number | undefined, exactQdq: boolean): Promise<Session> {
  if (backend !== 'node' && backend !== 'web') {
    throw new NibbleError('E_BAD_OPTION', `unknown onnxruntime backend '${String(backend)}'`, { option: 'backend', hint: "use 'node' or 'web'" });
  }
  const ort = await loadOrt(backend);
  try {
    return await ort.InferenceSession.create(bytes, {
      executionProviders: [EXECUTION_PROVIDER[backend]],
      ...(threads !== undefined && backend === 'node' ? { intraOpNumThreads: threads, interOpNumThreads: 1 } : {}),
      ...(exactQdq ? { extra: { session: { disable_quant_qdq: '1' } } } : {}),
    });
  } catch (e) {
    const msg = String((e as Error)?.message ?? e);
    const hint = /no available backend/i.test(msg)
      ? backend === 'web' && /experimental-vm-modules/.test(msg)
        ? 'onnxruntime-web loads its wasm module with a dynamic import; inside Jest, run with NODE_OPTIONS=--experimental-vm-modules'
        : `the ${backend} backend could not start; check that onnxruntime-${backend} is installed completely`
      : 'the model uses an operator, type or attribute this onnxruntime does not accept; check it against the ONNX spec for its opset';
    throw runtimeError(e, `(${backend}) could not load the model`, hint);
  }
}
