import { existsSync, readFileSync } from 'node:fs';
import { writeFileAtomic } from '@nibble/data';

/**
 * Several benchmarks write into one document (docs/accuracy.md,
 * docs/benchmarks.md): each owns a section between markers and replaces only
 * that section, so re-running one benchmark leaves the others' figures alone.
 * The write is atomic (@nibble/data's writeFileAtomic: temp file, then rename).
 */
export function writeDocSection(file: string, section: string, markdown: string, title = '# Results'): void {
  const begin = `<!-- BEGIN ${section} (generated: do not edit by hand) -->`;
  const end = `<!-- END ${section} -->`;
  const block = `${begin}\n${markdown.trim()}\n${end}`;
  const text = existsSync(file) ? readFileSync(file, 'utf8') : `${title}\n`;
  const a = text.indexOf(begin);
  const b = text.indexOf(end);
  const next = a >= 0 && b > a ? `${text.slice(0, a)}${block}${text.slice(b + end.length)}` : `${text.trimEnd()}\n\n${block}\n`;
  writeFileAtomic(file, next);
}
