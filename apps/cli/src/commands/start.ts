import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { compareOnnxRoundTrip, defaultModelPath, inspectModel, loadModel } from 'nibble';
import { jsonOption, type Command } from '../shared/command';
import { humanCount } from '../shared/format';

/**
 * The main job on the bundled default model. Until the quantization pipeline
 * lands it inspects the model and proves the ONNX round trip (read -> IR ->
 * write, then both files run in onnxruntime on the same input).
 */
export const startCommand: Command = {
  name: 'start',
  summary: 'the main job on the bundled default model (now: inspect + ONNX round trip)',
  usage: '[--json]',
  positionals: [0, 0],
  options: { ...jsonOption },
  async run(args, io) {
    const modelPath = defaultModelPath();
    const outDir = 'out';
    mkdirSync(outDir, { recursive: true });
    const model = await loadModel(modelPath);
    const report = inspectModel(model);
    const roundTrip = await compareOnnxRoundTrip(modelPath, join(outDir, 'default-model.roundtrip.onnx'));
    if (args.values.json) {
      io.out(JSON.stringify({ model: modelPath, inspect: report, roundTrip }, null, 2));
      return roundTrip.identical ? 0 : 1;
    }
    io.out('nibble main job: the quantization pipeline is not built yet; this runs inspect and the ONNX round trip.');
    io.out(`model: ${modelPath}`);
    io.out(`  ${report.nodes} nodes, ${report.parameters} parameters, ${humanCount(report.macs)} MACs per sample`);
    io.out(`round trip: wrote ${roundTrip.output}`);
    io.out(`  outputs on the same input: ${roundTrip.identical ? 'bit-identical' : `DIFFER (max abs diff ${roundTrip.maxAbsDiff})`} over ${roundTrip.elements} values`);
    return roundTrip.identical ? 0 : 1;
  },
};
