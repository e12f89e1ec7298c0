import { NibbleError } from '@nibble/ir';
import { PASS_NAME } from './pass';
import { parsePipeline, type PipelineSpec, printPipeline } from './pipeline-text';
import { nearestName } from './suggest';

/** A named pipeline (`paper-w4a4`, `naive-w4a4`, ...) that expands to pipeline text. */
export interface RecipeDefinition {
  /** kebab-case. */
  name: string;
  summary: string;
  /** Pipeline text; checked for syntax when the recipe is defined, against the pass registry when it runs. */
  pipeline: string;
  aliases?: readonly string[];
}

export interface Recipe {
  readonly name: string;
  readonly summary: string;
  /** The pipeline in canonical text (what the CLI prints as the expansion). */
  readonly pipeline: string;
  readonly spec: PipelineSpec;
  readonly aliases: readonly string[];
}

export class RecipeRegistry {
  private readonly byName = new Map<string, Recipe>();
  private readonly recipes = new Map<string, Recipe>();

  define(def: RecipeDefinition): Recipe {
    const aliases = [...(def.aliases ?? [])];
    for (const n of [def.name, ...aliases]) {
      if (!PASS_NAME.test(n)) throw new NibbleError('E_INTERNAL', `recipe name '${n}' must be kebab-case`);
    }
    let spec: PipelineSpec;
    try {
      spec = parsePipeline(def.pipeline);
    } catch (e) {
      throw new NibbleError('E_PIPELINE_SYNTAX', `recipe '${def.name}': ${(e as Error).message}`, { cause: e, hint: 'fix the recipe definition' });
    }
    const recipe: Recipe = Object.freeze({ name: def.name, summary: def.summary, pipeline: printPipeline(spec), spec, aliases: Object.freeze(aliases) });
    const existing = this.recipes.get(def.name);
    if (existing && sameRecipe(existing, recipe)) return existing;
    for (const n of [def.name, ...aliases]) {
      const holder = this.byName.get(n);
      if (holder) throw new NibbleError('E_INTERNAL', `recipe name '${n}' is already taken by recipe '${holder.name}'`);
    }
    this.recipes.set(recipe.name, recipe);
    for (const n of [recipe.name, ...aliases]) this.byName.set(n, recipe);
    return recipe;
  }

  has(nameOrAlias: string): boolean {
    return this.byName.has(nameOrAlias);
  }

  /** The recipe by name or alias, or E_BAD_OPTION listing the recipes. */
  get(nameOrAlias: string): Recipe {
    const r = this.byName.get(nameOrAlias);
    if (r) return r;
    const names = this.list().map((x) => x.name);
    const near = nearestName(nameOrAlias, this.byName.keys());
    throw new NibbleError('E_BAD_OPTION', `unknown recipe '${nameOrAlias}'${near ? `; did you mean '${near}'?` : ''}\n  recipes: ${names.join(', ') || '(none defined)'}`, {
      option: 'recipe',
      hint: near ? `write '${near}'` : 'run `nibble recipes` to list them with what they expand to',
    });
  }

  /** Recipes sorted by name (aliases not repeated). */
  list(): Recipe[] {
    return [...this.recipes.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }
}

function sameRecipe(a: Recipe, b: Recipe): boolean {
  return a.summary === b.summary && a.pipeline === b.pipeline && a.aliases.join() === b.aliases.join();
}

export const defaultRecipeRegistry = new RecipeRegistry();

/** Define and register a recipe in the global recipe registry. */
export function defineRecipe(def: RecipeDefinition): Recipe {
  return defaultRecipeRegistry.define(def);
}

export function getRecipe(nameOrAlias: string): Recipe {
  return defaultRecipeRegistry.get(nameOrAlias);
}

export function listRecipes(): Recipe[] {
  return defaultRecipeRegistry.list();
}
