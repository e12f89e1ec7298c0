import { writeFileAtomic } from '@nibble/data';
import type { QuantizeResult } from '../quantize';
import { renderReportHtml } from './html';
import { reportData, type ReportEvaluation } from './model';

/** Writes the self-contained HTML report of a quantize run (atomically), with the accuracy against float when given. */
export function writeQuantizeReport(result: QuantizeResult, path: string, files: { model: string; out: string }, evaluation?: ReportEvaluation): void {
  writeFileAtomic(path, renderReportHtml(reportData(result, files, evaluation)));
}

export { renderReportHtml, reportData, type ReportEvaluation };
