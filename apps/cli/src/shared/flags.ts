import { NibbleError } from 'nibble';
import type { OptionSpec } from './command';

/** An integer flag, checked: a user error (exit 2) names the flag. */
export function integerFlag(value: unknown, option: string, min: number, max: number = FLAG_MAX[option] ?? Number.MAX_SAFE_INTEGER): number | undefined {
  if (value === undefined) return undefined;
  const text = String(value);
  const n = Number(text);
  if (!/^\d+$/.test(text) || !Number.isSafeInteger(n) || n < min || n > max) {
    throw new NibbleError('E_BAD_OPTION', `--${option} must be an integer in [${min}, ${max}], got '${text}'`, {
      option, hint: n > max && Number.isFinite(n) ? FLAG_MAX_WHY[option] ?? `at most ${max}` : undefined,
    });
  }
  return n;
}

/** Bounds on every size option: far above any real use, far below what exhausts memory or time. */
export const FLAG_MAX: Readonly<Record<string, number>> = {
  batch: 4096, samples: 10_000_000, limit: 100_000_000, seed: 0xffffffff, histogram: 1 << 20,
};

const FLAG_MAX_WHY: Readonly<Record<string, string>> = {
  batch: 'a batch holds every activation of its samples at once; larger batches do not calibrate or evaluate better',
  samples: 'calibration statistics settle within a few thousand samples',
  histogram: 'histogram memory is bins x channels x 8 bytes per activation; 2048 bins serve every clipping pass',
};

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

/** `--shape input=d0,d1,...`, repeatable: input shapes the user fixes (inspect, convert). */
export const shapeOption = (description: string): Record<string, OptionSpec> => ({
  shape: { type: 'string', multiple: true, valueName: 'input=d0,d1,...', description },
});

export function shapeFlags(value: unknown): Record<string, number[]> | undefined {
  const specs = value as string[] | undefined;
  if (!specs?.length) return undefined;
  const out: Record<string, number[]> = {};
  for (const spec of specs) {
    const m = /^([^=]+)=(\d+(?:,\d+)*)$/.exec(spec.trim());
    if (!m) {
      throw new NibbleError('E_BAD_OPTION', `--shape '${spec}' is not of the form input=d0,d1,...`, { option: 'shape', hint: 'e.g. --shape x=1,3,48,192' });
    }
    if (out[m[1]]) throw new NibbleError('E_BAD_OPTION', `--shape names input '${m[1]}' twice`, { option: 'shape' });
    out[m[1]] = m[2].split(',').map(Number);
  }
  return out;
}
