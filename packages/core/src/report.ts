/**
 * Facts passes record for the user and for `--json` (achieved mean bits of a
 * tensor, a clipping value chosen, ...). Entries carry the pass that wrote them.
 */
export type ReportValue = number | string | boolean | null | readonly ReportValue[] | { readonly [k: string]: ReportValue };

export interface ReportEntry {
  /** The pass that recorded it (null outside a pipeline). */
  pass: string | null;
  /** 0-based position of that pass in the pipeline (null outside a pipeline). */
  index: number | null;
  key: string;
  value: ReportValue;
  /** What the fact is about: a tensor or node name, when it is about one. */
  subject?: string;
}

export interface ReportSink {
  record(entry: ReportEntry): void;
}

/** Collects entries in order. */
export class MemoryReportSink implements ReportSink {
  readonly entries: ReportEntry[] = [];

  record(entry: ReportEntry): void {
    this.entries.push(entry);
  }

  /** Entries written under `key`, optionally by one pass. */
  find(key: string, pass?: string): ReportEntry[] {
    return this.entries.filter((e) => e.key === key && (pass === undefined || e.pass === pass));
  }

  toJSON(): ReportEntry[] {
    return this.entries;
  }
}

/** What a pass holds: record() fills in the pass and position. */
export interface Reporter {
  record(key: string, value: ReportValue, subject?: string): void;
}
