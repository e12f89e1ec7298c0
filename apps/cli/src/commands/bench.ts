import { BENCH_BACKENDS, benchmark } from 'nibble';
import { jsonOption, type Command } from '../shared/command';
import { dataOptions, integerFlag, requiredFlag, stringFlag } from '../shared/flags';

export const benchCommand: Command = {
  name: 'bench',
  summary: 'latency of a float model on nibble\'s int4 WebAssembly kernels and the runtimes beside them (batch 1, one thread)',
  usage: '<model> --data <calib spec> [--backend wasm,webgpu,ort-wasm,ort-wasm-int8,tfjs-wasm,ort-node] [--recipe R] [--input spec] [--runs N] [--threads 1] [--preprocess P] [--json]',
  positionals: [1, 1],
  options: {
    ...dataOptions,
    backend: { type: 'string', valueName: 'list', description: `comma-separated, from: ${BENCH_BACKENDS.join(', ')} (default wasm,ort-wasm,ort-wasm-int8)` },
    recipe: { type: 'string', valueName: 'R', description: 'recipe of the int4 variant (default w4a4-baseline, on the wasm target)' },
    input: { type: 'string', valueName: 'spec', description: 'data whose first sample is timed (default: the first of --data)' },
    samples: { type: 'string', valueName: 'N', description: 'calibration samples of the quantized variants (default 32)' },
    runs: { type: 'string', valueName: 'N', description: 'timed runs per backend after 10 warm-up runs (default 50)' },
    threads: { type: 'string', valueName: 'N', description: 'threads per backend: 1 (the only value benchmarked)' },
    ...jsonOption,
  },
  async run(args, io) {
    const v = args.values;
    const [model] = args.positionals;
    const data = requiredFlag(v.data, 'bench', 'data', 'fashion-mnist:calib');
    const backends = (stringFlag(v.backend) ?? 'wasm,ort-wasm,ort-wasm-int8').split(',').map((s) => s.trim()).filter(Boolean);
    const r = await benchmark(model, {
      backends, data, input: stringFlag(v.input), preprocess: stringFlag(v.preprocess), recipe: stringFlag(v.recipe),
      samples: integerFlag(v.samples, 'samples', 1), runs: integerFlag(v.runs, 'runs', 1, 100_000), threads: integerFlag(v.threads, 'threads', 1, 1),
    });
    if (v.json) {
      io.out(JSON.stringify(r, null, 2));
      return 0;
    }
    const ours = r.rows.find((x) => x.backend === 'wasm');
    io.out(`${model}, input [${r.input.join(', ')}], batch 1, one thread, ${r.rows[0].latencyMs.runs} runs each (round-robin):`);
    for (const row of r.rows) {
      const t = row.latencyMs;
      const vs = ours && row !== ours ? `  (ours ${(t.median / ours.latencyMs.median).toFixed(2)}x faster)` : '';
      const mem = row.weightBytes !== null ? `, weights ${row.weightBytes} B, arena ${row.arenaBytes} B` : '';
      // A software adapter (SwiftShader) emulates a GPU on the CPU: say so beside its timing.
      const gpu = row.adapter ? `, adapter ${row.adapter}${row.software ? ' (software: a CPU emulation, not a GPU timing)' : ''}` : '';
      io.out(`  ${row.backend.padEnd(14)} median ${t.median.toFixed(2)} ms, p90 ${t.p90.toFixed(2)} ms${mem}${gpu}${vs}`);
    }
    return 0;
  },
};
