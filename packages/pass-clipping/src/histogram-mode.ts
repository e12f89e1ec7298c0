import type { ClipMode } from './math/modes';

/** The `mode` option of the histogram methods; one-sided values always search [0, t]. */
export function modeOption(defaultMode: 'symmetric' | 'asymmetric', what: string) {
  return {
    type: 'enum' as const,
    values: ['symmetric', 'asymmetric'] as const,
    default: defaultMode,
    description: `shape of the range for signed values: symmetric [-t, t] or asymmetric (${what}); one-sided values use [0, t]`,
  };
}

export function clipMode(mode: 'symmetric' | 'asymmetric', oneSided: boolean): ClipMode {
  return oneSided ? 'one-sided' : mode;
}
