import { recipesInOrder } from 'nibble';
import { jsonOption, type Command } from '../shared/command';

export const recipesCommand: Command = {
  name: 'recipes',
  summary: 'list the named quantization recipes and the pipelines they expand to',
  usage: '[--json]',
  positionals: [0, 0],
  options: { ...jsonOption },
  async run(args, io) {
    const recipes = recipesInOrder();
    if (args.values.json) {
      io.out(JSON.stringify(recipes.map((r) => ({ name: r.name, aliases: [...r.aliases], summary: r.summary, pipeline: r.pipeline })), null, 2));
      return 0;
    }
    const lines: string[] = [];
    for (const r of recipes) {
      lines.push(`${r.name}${r.aliases.length ? ` (alias ${r.aliases.join(', ')})` : ''}: ${r.summary}`, `  ${r.pipeline}`, '');
    }
    io.out(lines.join('\n').trimEnd());
    return 0;
  },
};
