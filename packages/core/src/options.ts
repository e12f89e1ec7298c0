import { NibbleError } from '@nibble/ir';
import { printOptionValue } from './pipeline-text';
import { nearestName } from './suggest';

/**
 * Pass options are declared as data (MLIR's Passes.td habit): the declaration
 * drives text parsing, validation, help listings and the TypeScript type of
 * the values a pass's run function receives.
 */
interface OptionBase {
  /** One line for `nibble passes` and error listings. */
  description: string;
}

export interface NumberOptionDecl extends OptionBase {
  type: 'number';
  default?: number;
  min?: number;
  max?: number;
}

export interface IntegerOptionDecl extends OptionBase {
  type: 'integer';
  default?: number;
  min?: number;
  max?: number;
}

export interface BooleanOptionDecl extends OptionBase {
  type: 'boolean';
  default?: boolean;
}

export interface StringOptionDecl extends OptionBase {
  type: 'string';
  default?: string;
}

export interface EnumOptionDecl<V extends string = string> extends OptionBase {
  type: 'enum';
  values: readonly V[];
  default?: V;
}

/** A list of numbers; min/max bound every element. */
export interface NumberListOptionDecl extends OptionBase {
  type: 'number[]' | 'integer[]';
  default?: readonly number[];
  min?: number;
  max?: number;
  minLength?: number;
  maxLength?: number;
}

/**
 * A list of text items (node-name globs, for instance). Items are pipeline
 * scalars: an item holding , { } [ ] = " or spaces is written quoted, and a
 * list never nests.
 */
export interface StringListOptionDecl extends OptionBase {
  type: 'string[]';
  default?: readonly string[];
  minLength?: number;
  maxLength?: number;
}

export type OptionDecl =
  | NumberOptionDecl
  | IntegerOptionDecl
  | BooleanOptionDecl
  | StringOptionDecl
  | EnumOptionDecl
  | NumberListOptionDecl
  | StringListOptionDecl;

type ListOptionDecl = NumberListOptionDecl | StringListOptionDecl;

/** Option declarations of one pass, keyed by camelCase name (spelled kebab-case in pipeline text). */
export type OptionDecls = Record<string, OptionDecl>;

type BaseValue<D> = D extends { type: 'enum'; values: readonly (infer V)[] }
  ? V
  : D extends { type: 'number' | 'integer' }
    ? number
    : D extends { type: 'boolean' }
      ? boolean
      : D extends { type: 'string' }
        ? string
        : D extends { type: 'number[]' | 'integer[]' }
          ? readonly number[]
          : D extends { type: 'string[]' }
            ? readonly string[]
            : never;

/** The typed value of one declared option: undefined only when it has no default. */
export type OptionValue<D> = D extends { default: unknown } ? BaseValue<D> : BaseValue<D> | undefined;

/** The typed options a pass's run function receives. */
export type OptionValues<O extends OptionDecls> = { readonly [K in keyof O]: OptionValue<O[K]> };

/** A raw option value as pipeline text carries it: a scalar or a list of scalars. */
export type OptionText = string | readonly string[];

/** `perChannel` <-> `per-channel`: declarations are camelCase, pipeline text is kebab-case (as in MLIR). */
export function optionTextName(key: string): string {
  return key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
}

function isListDecl(decl: OptionDecl): decl is ListOptionDecl {
  return decl.type === 'number[]' || decl.type === 'integer[]' || decl.type === 'string[]';
}

const DECIMAL = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;
const INTEGER = /^[+-]?\d+$/;

/** What an option accepts, in words, for error messages and help. */
export function describeAllowed(decl: OptionDecl): string {
  const range = (what: string, d: { min?: number; max?: number }): string => {
    if (d.min !== undefined && d.max !== undefined) return `${what} in [${d.min}, ${d.max}]`;
    if (d.min !== undefined) return `${what} >= ${d.min}`;
    if (d.max !== undefined) return `${what} <= ${d.max}`;
    return what;
  };
  const length = (d: ListOptionDecl): string =>
    d.minLength !== undefined || d.maxLength !== undefined ? ` (${d.minLength ?? 0} to ${d.maxLength ?? 'any number of'} elements)` : '';
  switch (decl.type) {
    case 'number': return range('a number', decl);
    case 'integer': return range('an integer', decl);
    case 'boolean': return 'true or false';
    case 'string': return 'any text (quote it with "..." if it holds , { } [ ] = or spaces)';
    case 'enum': return `one of ${decl.values.join(', ')}`;
    case 'number[]':
    case 'integer[]': {
      const elem = range(decl.type === 'integer[]' ? 'integers' : 'numbers', decl);
      return `a list [a,b,...] of ${elem}${length(decl)}`;
    }
    case 'string[]':
      return `a list [a,b,...] of text items${length(decl)} (quote an item with "..." if it holds , { } [ ] = or spaces)`;
  }
}

/** One line per option: `name (allowed, default d): description`. */
export function describeOption(key: string, decl: OptionDecl): string {
  const dflt = decl.default === undefined ? 'no default' : `default ${printOptionValue(formatOptionValue(decl, decl.default))}`;
  return `${optionTextName(key)} (${describeAllowed(decl)}; ${dflt}): ${decl.description}`;
}

interface Where {
  pass: string;
  key: string;
}

function badOption(where: Where, decl: OptionDecl, shown: string, why: string): NibbleError {
  const name = optionTextName(where.key);
  return new NibbleError('E_BAD_OPTION', `pass '${where.pass}': option '${name}' = ${shown} ${why}; allowed: ${describeAllowed(decl)}`, {
    pass: where.pass,
    option: name,
    hint: `for example ${where.pass}{${name}=${exampleText(decl)}}`,
  });
}

function exampleText(decl: OptionDecl): string {
  if (decl.default !== undefined) return printOptionValue(formatOptionValue(decl, decl.default));
  switch (decl.type) {
    case 'enum': return decl.values[0];
    case 'boolean': return 'true';
    case 'string': return 'text';
    case 'number[]': case 'integer[]': return `[${decl.min ?? 1},${(decl.min ?? 1) + 1}]`;
    case 'string[]': return '[a,"b c"]';
    default: return String(decl.min ?? 1);
  }
}

function checkNumber(where: Where, decl: NumberOptionDecl | IntegerOptionDecl | NumberListOptionDecl, v: number, shown: string): void {
  const integer = decl.type === 'integer' || decl.type === 'integer[]';
  if (!Number.isFinite(v)) throw badOption(where, decl, shown, 'is not a finite number');
  if (integer && !Number.isSafeInteger(v)) throw badOption(where, decl, shown, 'is not an integer');
  if (decl.min !== undefined && v < decl.min) throw badOption(where, decl, shown, `is below the minimum ${decl.min}`);
  if (decl.max !== undefined && v > decl.max) throw badOption(where, decl, shown, `is above the maximum ${decl.max}`);
}

function parseNumber(where: Where, decl: NumberOptionDecl | IntegerOptionDecl | NumberListOptionDecl, text: string): number {
  const integer = decl.type === 'integer' || decl.type === 'integer[]';
  const shown = `'${text}'`;
  if (!(integer ? INTEGER : DECIMAL).test(text)) throw badOption(where, decl, shown, integer ? 'is not an integer' : 'is not a number');
  const v = Number(text);
  checkNumber(where, decl, v, shown);
  return v;
}

/** Text (as the pipeline parser hands it over) to the typed value, validated. */
export function parseOptionText(pass: string, key: string, decl: OptionDecl, text: OptionText): unknown {
  const where = { pass, key };
  if (isListDecl(decl)) {
    // A bare scalar is a one-element list, as with MLIR's ListOption (whose
    // text is comma-separated values, so one value is a list of one). Hence
    // `keep-float=conv1` and `keep-float=[conv1]` mean the same; only the
    // bracketed form can say "none" ([]) and print round-trips that form.
    const items = typeof text === 'string' ? [text] : text;
    const values = decl.type === 'string[]' ? [...items] : items.map((t) => parseNumber(where, decl, t));
    checkListLength(where, decl, values);
    return values;
  }
  if (typeof text !== 'string') throw badOption(where, decl, printOptionValue(text), 'is a list');
  switch (decl.type) {
    case 'number':
    case 'integer':
      return parseNumber(where, decl, text);
    case 'boolean':
      if (text === 'true') return true;
      if (text === 'false') return false;
      throw badOption(where, decl, `'${text}'`, 'is not a boolean');
    case 'string':
      return text;
    case 'enum':
      if ((decl.values as readonly string[]).includes(text)) return text;
      throw badOption(where, decl, `'${text}'`, 'is not an allowed value');
  }
}

function checkListLength(where: Where, decl: ListOptionDecl, values: readonly (number | string)[]): void {
  const shown = printOptionValue(values.map((v) => String(v)));
  if (decl.minLength !== undefined && values.length < decl.minLength) throw badOption(where, decl, shown, `has fewer than ${decl.minLength} elements`);
  if (decl.maxLength !== undefined && values.length > decl.maxLength) throw badOption(where, decl, shown, `has more than ${decl.maxLength} elements`);
}

/** Validate an already-typed value (options given from code rather than text). */
export function checkOptionValue(pass: string, key: string, decl: OptionDecl, value: unknown): unknown {
  const where = { pass, key };
  const shown = (() => {
    try {
      return JSON.stringify(value) ?? String(value);
    } catch {
      return String(value);
    }
  })();
  switch (decl.type) {
    case 'number':
    case 'integer':
      if (typeof value !== 'number') throw badOption(where, decl, shown, 'is not a number');
      checkNumber(where, decl, value, shown);
      return value;
    case 'boolean':
      if (typeof value !== 'boolean') throw badOption(where, decl, shown, 'is not a boolean');
      return value;
    case 'string':
      if (typeof value !== 'string') throw badOption(where, decl, shown, 'is not a string');
      return value;
    case 'enum':
      if (typeof value !== 'string' || !(decl.values as readonly string[]).includes(value)) throw badOption(where, decl, shown, 'is not an allowed value');
      return value;
    case 'number[]':
    case 'integer[]': {
      if (!Array.isArray(value)) throw badOption(where, decl, shown, 'is not a list');
      for (const v of value) {
        if (typeof v !== 'number') throw badOption(where, decl, shown, 'holds a non-number');
        checkNumber(where, decl, v, shown);
      }
      checkListLength(where, decl, value);
      // Copy so a caller mutating its array later cannot change a pass's options.
      return Object.freeze([...value]);
    }
    case 'string[]': {
      if (!Array.isArray(value)) throw badOption(where, decl, shown, 'is not a list');
      if (value.some((v) => typeof v !== 'string')) throw badOption(where, decl, shown, 'holds a non-string');
      checkListLength(where, decl, value as string[]);
      return Object.freeze([...(value as string[])]);
    }
  }
}

/**
 * Typed value back to pipeline text. Numbers print with JavaScript's shortest
 * round-tripping form, so parse(format(v)) === v.
 */
export function formatOptionValue(decl: OptionDecl, value: unknown): OptionText {
  // Always bracketed, even with one element, so [] and [""] stay distinct.
  if (isListDecl(decl)) return (value as readonly (number | string)[]).map((v) => String(v));
  return String(value);
}

/** Defaults for every option, then `given` on top; throws E_BAD_OPTION for unknown keys or bad values. */
export function resolveOptionValues(pass: string, decls: OptionDecls, given: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(given)) {
    if (!Object.prototype.hasOwnProperty.call(decls, key)) throw unknownOption(pass, decls, key);
  }
  for (const [key, decl] of Object.entries(decls)) {
    const v = Object.prototype.hasOwnProperty.call(given, key) ? given[key] : decl.default;
    out[key] = v === undefined ? undefined : checkOptionValue(pass, key, decl, v);
  }
  return Object.freeze(out);
}

/** E_BAD_OPTION for an option name the pass does not declare; `written` is the name as the user spelled it. */
export function unknownOption(pass: string, decls: OptionDecls, written: string): NibbleError {
  const keys = Object.keys(decls);
  const names = keys.map((k) => optionTextName(k));
  const near = nearestName(written, names) ?? names.find((n) => n === optionTextName(written));
  const listing = keys.length === 0 ? 'it takes no options' : `its options: ${names.join(', ')}`;
  return new NibbleError('E_BAD_OPTION', `pass '${pass}' has no option '${written}'${near ? ` (did you mean '${near}'?)` : ''}; ${listing}`, {
    pass,
    option: written,
    hint: keys.length === 0 ? `write '${pass}' without braces` : keys.map((k) => describeOption(k, decls[k])).join('\n        '),
  });
}

/** Checks a declaration once, at definePass time, so a bad default fails where it is written. */
export function checkOptionDecls(pass: string, decls: OptionDecls): void {
  for (const [key, decl] of Object.entries(decls)) {
    if (!/^[a-z][a-zA-Z0-9]*$/.test(key)) {
      throw new NibbleError('E_INTERNAL', `pass '${pass}': option name '${key}' must be camelCase (it is written '${optionTextName(key)}' in pipelines)`, { pass, option: key });
    }
    if (decl.type === 'enum') {
      if (decl.values.length === 0 || new Set(decl.values).size !== decl.values.length) {
        throw new NibbleError('E_INTERNAL', `pass '${pass}': enum option '${key}' needs distinct, non-empty values`, { pass, option: key });
      }
    }
    if (isListDecl(decl) && decl.minLength !== undefined && decl.maxLength !== undefined && decl.minLength > decl.maxLength) {
      throw new NibbleError('E_INTERNAL', `pass '${pass}': option '${key}' has minLength ${decl.minLength} > maxLength ${decl.maxLength}`, { pass, option: key });
    }
    if ('min' in decl && 'max' in decl && decl.min !== undefined && decl.max !== undefined && decl.min > decl.max) {
      throw new NibbleError('E_INTERNAL', `pass '${pass}': option '${key}' has min ${decl.min} > max ${decl.max}`, { pass, option: key });
    }
    if (decl.default !== undefined) {
      try {
        checkOptionValue(pass, key, decl, decl.default);
      } catch (e) {
        throw new NibbleError('E_INTERNAL', `pass '${pass}': the default of option '${key}' is invalid: ${(e as Error).message}`, { pass, option: key, cause: e });
      }
    }
  }
}
