import { NibbleError } from 'nibble';
import type { OptionSpec } from './command';

/** An integer flag, checked: a user error (exit 2) names the flag. */
export function integerFlag(value: unknown, option: string, min: number): number | undefined {
  if (value === undefined) return undefined;
  const text = String(value);
  const n = Number(text);
  if (!/^\d+$/.test(text) || !Number.isSafeInteger(n) || n < min) {
    throw new NibbleError('E_BAD_OPTION', `--${option} must be an integer >= ${min}, got '${text}'`, { option });
  }
  return n;
}

export function requiredFlag(value: unknown, command: string, option: string, example: string): string {
  if (typeof value !== 'string' || value.trim() === '') {
    throw new NibbleError('E_BAD_OPTION', `nibble ${command} needs --${option}`, { option, hint: `e.g. --${option} ${example}` });
  }
  return value;
}

export const stringFlag = (value: unknown): string | undefined => (typeof value === 'string' ? value : undefined);

/** Flags naming data, shared by quantize and eval. */
export const dataOptions: Record<string, OptionSpec> = {
  data: { type: 'string', valueName: 'spec', description: 'data: fashion-mnist:calib, fashion-mnist:test, idx:<images>[,<labels>], images:<dir>, npy:<x>[,<y>]' },
  preprocess: { type: 'string', valueName: 'steps', description: "preprocessing, e.g. 'rgb,resize=224x224,unit' (default: the dataset's preset)" },
};

/** --batch, whose default differs by command (calibration or evaluation). */
export function batchOption(defaultBatch: number): Record<string, OptionSpec> {
  return { batch: { type: 'string', valueName: 'B', description: `samples per run of the model (default ${defaultBatch})` } };
}
