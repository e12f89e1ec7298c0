/**
 * The one error class of nibble. Every user-facing failure carries a code a
 * program can switch on, the place at fault (file, node, option, pass) and a
 * hint that tells the user what to do. The CLI prints these without a stack.
 */
export type ErrorCode =
  | 'E_FILE_NOT_FOUND' // a path named by the user does not exist
  | 'E_FILE_FORMAT' // bytes that are not the format they claim to be
  | 'E_TRUNCATED' // a file ends before its content does
  | 'E_TOO_LARGE' // a size or element count beyond what can be held
  | 'E_UNSUPPORTED_OP' // an operator nibble does not implement
  | 'E_UNSUPPORTED' // any other feature nibble does not implement
  | 'E_INVALID_GRAPH' // a graph that breaks an IR invariant
  | 'E_CYCLE' // a graph whose nodes form a cycle
  | 'E_UNDEFINED_VALUE' // a node reads a value nothing defines
  | 'E_SHAPE' // shapes or types that do not fit an operator
  | 'E_BAD_OPTION' // an option or argument with a wrong name or value
  | 'E_UNKNOWN_PASS' // a pipeline names a pass that is not registered
  | 'E_PIPELINE_SYNTAX' // pipeline text that does not parse
  | 'E_PASS_FAILED' // a pass threw; the cause is attached
  | 'E_DATA' // a dataset that is inconsistent or unreadable
  | 'E_NUMERIC' // NaN/Inf or an impossible numeric request
  | 'E_BUDGET' // a bit budget that cannot be met
  | 'E_RUNTIME' // the execution engine failed
  | 'E_INTERNAL'; // a bug in nibble, not the user's fault

export interface ErrorPlace {
  file?: string;
  node?: string;
  op?: string;
  option?: string;
  pass?: string;
  value?: string;
}

export interface NibbleErrorInit extends ErrorPlace {
  hint?: string;
  cause?: unknown;
}

export class NibbleError extends Error {
  readonly code: ErrorCode;
  readonly hint?: string;
  readonly place: ErrorPlace;

  constructor(code: ErrorCode, message: string, init: NibbleErrorInit = {}) {
    const { hint, cause, ...place } = init;
    super(message, cause === undefined ? undefined : { cause });
    this.name = 'NibbleError';
    this.code = code;
    this.hint = hint;
    this.place = place;
  }

  /** One or two lines for a terminal: the message, then what to do. */
  describe(): string {
    return this.hint ? `${this.message}\n  hint: ${this.hint}` : this.message;
  }

  toJSON(): Record<string, unknown> {
    return { code: this.code, message: this.message, hint: this.hint, ...this.place };
  }
}

export function isNibbleError(e: unknown): e is NibbleError {
  return e instanceof NibbleError;
}

/**
 * `e` as raised while reading `file`: a NibbleError that names no file gets
 * the file in its message and place (every reader's errors name the file
 * the user gave); anything else is returned as it is.
 */
export function errorInFile(e: unknown, file: string | undefined): unknown {
  if (!isNibbleError(e) || !file || e.place.file) return e;
  return new NibbleError(e.code, `${file}: ${e.message}`, { ...e.place, file, hint: e.hint, cause: e.cause });
}
