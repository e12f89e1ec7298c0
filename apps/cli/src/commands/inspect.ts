import { inspectModel, inspectTflite, isQuantizedTflite, loadModel } from 'nibble';
import { jsonOption, type Command } from '../shared/command';
import { shapeFlags, shapeOption } from '../shared/flags';
import { humanCount, shapeText, table } from '../shared/format';

export const inspectCommand: Command = {
  name: 'inspect',
  summary: 'show a model: inputs and outputs, op histogram, parameters, MACs per layer',
  usage: '<model> [--shape name=1,3,224,224]... [--json]',
  positionals: [1, 1],
  options: {
    ...jsonOption,
    ...shapeOption('fix a dynamic input shape so MACs can be counted'),
  },
  async run(args, io) {
    const path = args.positionals[0];
    // A quantized .tflite (what --target tflite writes) is shown from its flatbuffer: the IR reader takes float models.
    if (isQuantizedTflite(path)) return inspectQuantizedTflite(path, Boolean(args.values.json), io);
    const report = inspectModel(await loadModel(path), { inputShapes: shapeFlags(args.values.shape) });
    if (args.values.json) {
      io.out(JSON.stringify({ model: path, ...report }, null, 2));
      return 0;
    }
    const lines = [
      `model: ${path} (IR ${report.irVersion}, opsets ${Object.entries(report.opsets).map(([d, v]) => `${d} ${v}`).join(', ')})`,
      ...report.inputs.map((v) => `input  ${v.name} : ${v.dtype ?? '?'}${shapeText(v.shape)}`),
      ...report.outputs.map((v) => `output ${v.name} : ${v.dtype ?? '?'}${shapeText(v.shape)}`),
      report.preprocess !== null
        ? `preprocessing: ${report.preprocess} (from the model's nibble.preprocess metadata; calibrate, quantize and eval apply it)`
        : 'preprocessing: none declared (calibrate, quantize and eval use --preprocess, else the dataset\'s preset, with a warning)',
      `nodes: ${report.nodes}, parameters: ${report.parameters} (${humanCount(report.parameterBytes)}B), MACs per sample: ${humanCount(report.macs)}` +
        (report.layersWithUnknownMacs ? ` (+ ${report.layersWithUnknownMacs} layers with dynamic shapes: fix them with --shape)` : ''),
      '',
      table(['op', 'count'], Object.entries(report.ops).map(([op, n]) => [op, n])),
      '',
      table(['layer', 'op', 'output', 'params', 'MACs'], report.layers.map((l) => [l.node, l.op, shapeText(l.outputShape), l.params, l.macs ?? '?'])),
    ];
    io.out(lines.join('\n'));
    return 0;
  },
};

function inspectQuantizedTflite(path: string, json: boolean, io: { out(text: string): void }): number {
  const r = inspectTflite(path);
  if (json) {
    io.out(JSON.stringify({ model: path, ...r }, null, 2));
    return 0;
  }
  const fmt = (v: number | null) => (v === null ? '' : String(v));
  io.out([
    `model: ${path} (quantized TFLite, ${humanCount(r.bytes)}B${r.description ? `: ${r.description}` : ''})`,
    '',
    table(['op', 'count'], Object.entries(r.ops).map(([op, n]) => [op, n])),
    '',
    table(['tensor', 'kind', 'type', 'shape', 'bits', 'scales', 'scale', 'zero point', 'axis'],
      r.tensors.map((t) => [t.name, t.kind, t.type, shapeText(t.shape), fmt(t.bits), t.scales, t.scale === null ? '' : t.scale.toPrecision(6), fmt(t.zeroPoint), fmt(t.quantizedDimension)])),
  ].join('\n'));
  return 0;
}
