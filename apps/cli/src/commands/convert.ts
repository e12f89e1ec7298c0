import { checkOutputPath, loadModel, saveModel, specializeInputShapes } from 'nibble';
import { forceOption, jsonOption, type Command } from '../shared/command';
import { shapeFlags, shapeOption } from '../shared/flags';

export const convertCommand: Command = {
  name: 'convert',
  summary: 'read a model (ONNX, TFLite, TF.js) into nibble\'s IR and write it as ONNX; --shape fixes input shapes and folds what they decide',
  usage: '<in-model> <out.onnx> [--shape name=1,3,224,224]... [--force] [--json]',
  positionals: [2, 2],
  options: {
    ...jsonOption,
    ...shapeOption('fix an input\'s shape (gives an unknown-rank input its rank); shape computations it decides are folded'),
    ...forceOption,
  },
  async run(args, io) {
    const [input, output] = args.positionals;
    // Checked before any work: never the input, an existing file only with --force, an .onnx name.
    checkOutputPath(output, { inputs: [input], refuseExisting: !args.values.force, extension: { ext: '.onnx', what: 'the converted model' } });
    const shapes = shapeFlags(args.values.shape);
    const loaded = await loadModel(input);
    const model = shapes ? await specializeInputShapes(loaded, shapes) : loaded;
    saveModel(model, output);
    const folded = loaded.graph.nodes.length - model.graph.nodes.length;
    if (args.values.json) io.out(JSON.stringify({ input, output, nodes: model.graph.nodes.length, ...(shapes ? { shapes, folded } : {}) }));
    else io.out(`wrote ${output} (${model.graph.nodes.length} nodes${shapes ? `; ${folded} folded away by the fixed shapes` : ''})`);
    return 0;
  },
};
