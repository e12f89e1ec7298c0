import { writeFileAtomic } from '@nibble/data';
import type { QuantizeResult } from '../quantize';
import { renderReportHtml } from './html';
import { reportData } from './model';

/** Writes the self-contained HTML report of a quantize run (atomically). */
export function writeQuantizeReport(result: QuantizeResult, path: string, files: { model: string; out: string }): void {
  writeFileAtomic(path, renderReportHtml(reportData(result, files)));
}

export { renderReportHtml, reportData };
