import { NibbleError } from '@nibble/ir';

/** An integer option of the API, checked once for every entry point: undefined (the default) or a safe integer >= min. */
export function checkInteger<T extends number | undefined>(value: T, option: string, min = 1): T {
  if (value !== undefined && (!Number.isSafeInteger(value) || value < min)) {
    const what = min === 1 ? 'a positive integer' : `an integer >= ${min}`;
    throw new NibbleError('E_BAD_OPTION', `${option} must be ${what}, got ${value}`, { option });
  }
  return value;
}
