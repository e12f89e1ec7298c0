import { isNibbleError } from 'nibble';

/** Codes caused by a bug or an engine failure rather than by what the user gave. */
const NOT_USER_ERRORS = new Set(['E_INTERNAL', 'E_RUNTIME']);

/**
 * Print an error for a person: a user mistake gets its message and hint and
 * exit code 2; anything else is a bug and keeps its stack (exit code 1).
 */
export function reportError(e: unknown, err: (text: string) => void, json: boolean): number {
  if (isNibbleError(e)) {
    if (json) err(JSON.stringify({ error: e.toJSON() }));
    else err(`nibble: error: ${e.describe()}`);
    return NOT_USER_ERRORS.has(e.code) ? 1 : 2;
  }
  // A bug is still JSON under --json: a program reading stderr never gets a stack trace it cannot parse.
  if (json) err(JSON.stringify({ error: { code: 'E_INTERNAL', message: e instanceof Error ? e.message : String(e), stack: e instanceof Error ? e.stack : undefined, hint: 'this is a bug in nibble; please report it with the command line' } }));
  else err(`nibble: internal error (please report it): ${e instanceof Error ? e.stack ?? e.message : String(e)}`);
  return 1;
}
