/** Where passes and analyses write progress and warnings (the CLI maps these to its output). */
export type LogLevel = 'debug' | 'info' | 'warn';

export interface Logger {
  debug(message: string): void;
  info(message: string): void;
  warn(message: string): void;
}

export const silentLogger: Logger = Object.freeze({
  debug: () => undefined,
  info: () => undefined,
  warn: () => undefined,
});

export interface LogLine {
  level: LogLevel;
  message: string;
}

/** Keeps every line; for tests and for callers that print after the run. */
export class MemoryLogger implements Logger {
  readonly lines: LogLine[] = [];

  debug(message: string): void {
    this.lines.push({ level: 'debug', message });
  }

  info(message: string): void {
    this.lines.push({ level: 'info', message });
  }

  warn(message: string): void {
    this.lines.push({ level: 'warn', message });
  }
}

/** A logger that puts `prefix: ` before every line. */
export function prefixedLogger(inner: Logger, prefix: () => string): Logger {
  const p = (m: string): string => {
    const at = prefix();
    return at ? `${at}: ${m}` : m;
  };
  return {
    debug: (m) => inner.debug(p(m)),
    info: (m) => inner.info(p(m)),
    warn: (m) => inner.warn(p(m)),
  };
}
