import { loadModel, saveModel } from 'nibble';
import { jsonOption, type Command } from '../shared/command';

export const convertCommand: Command = {
  name: 'convert',
  summary: 'read a model into nibble\'s IR and write it back as ONNX',
  usage: '<in-model> <out.onnx> [--json]',
  positionals: [2, 2],
  options: { ...jsonOption },
  async run(args, io) {
    const [input, output] = args.positionals;
    const model = await loadModel(input);
    saveModel(model, output);
    if (args.values.json) io.out(JSON.stringify({ input, output, nodes: model.graph.nodes.length }));
    else io.out(`wrote ${output} (${model.graph.nodes.length} nodes)`);
    return 0;
  },
};
