import { NibbleError } from '@nibble/ir';
import { checkPublished, importPublished, withinTolerance } from './published-check';
import { PUBLISHED_MODELS } from './published-models';

/*
 * Every published model (published-models.ts) imported and checked
 * against its own runtime: `npx tsx e2e/src/testing/published-survey.ts [id...]`.
 * Prints one line per model; docs/published-models.md holds the table.
 */
async function main(): Promise<void> {
  const only = process.argv.slice(2);
  for (const m of PUBLISHED_MODELS.filter((x) => only.length === 0 || only.some((o) => x.id.includes(o)))) {
    const t0 = Date.now();
    let line: string;
    try {
      const model = await importPublished(m);
      const errs = await checkPublished(m, model);
      const worst = Math.max(...errs.map((e) => e.rel));
      line = `${errs.every(withinTolerance) ? 'MATCH' : 'DIFF '} max rel ${worst.toExponential(2)} ${errs.map((e) => `${e.name}[${e.shape.join(',')}]=${e.rel.toExponential(1)}(abs ${e.abs.toExponential(1)})`).join(' ')}`;
    } catch (e) {
      line = e instanceof NibbleError ? `FAIL  ${e.code} ${e.message}` : `ERROR ${(e as Error).message.slice(0, 300)}`;
    }
    console.log(`${m.id}\t${((Date.now() - t0) / 1000).toFixed(1)}s\t${line}`);
  }
}

void main();
