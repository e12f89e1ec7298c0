import { NibbleError } from '@nibble/ir';
import type { AnyPass } from './pass';
import { nearestName } from './suggest';

/**
 * Passes by pipeline name. Packages register their passes when their index
 * is imported; the public API imports them all. A separate instance keeps
 * tests independent of what else is loaded.
 */
export class PassRegistry {
  private readonly passes = new Map<string, AnyPass>();

  /** Registering the same pass object again is a no-op; another pass under a taken name is a bug. */
  register<P extends AnyPass>(pass: P): P {
    const had = this.passes.get(pass.name);
    if (had === pass) return pass;
    if (had) {
      throw new NibbleError('E_INTERNAL', `two different passes are registered as '${pass.name}'`, {
        pass: pass.name,
        hint: 'pass names are global; rename one of them',
      });
    }
    this.passes.set(pass.name, pass);
    return pass;
  }

  has(name: string): boolean {
    return this.passes.has(name);
  }

  /** The pass, or E_UNKNOWN_PASS listing the registered names and the nearest one. */
  get(name: string): AnyPass {
    const pass = this.passes.get(name);
    if (pass) return pass;
    throw this.unknown(name);
  }

  /** Registered passes sorted by name. */
  list(): AnyPass[] {
    return [...this.passes.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  names(): string[] {
    return this.list().map((p) => p.name);
  }

  /** The E_UNKNOWN_PASS error for `name` (exposed so resolution can add the pipeline place). */
  unknown(name: string, where = '', picture = ''): NibbleError {
    const names = this.names();
    const near = nearestName(name, names);
    const listing = names.length ? names.join(', ') : '(none: import the packages that define passes, e.g. nibble)';
    return new NibbleError('E_UNKNOWN_PASS', `unknown pass '${name}'${where}${near ? `; did you mean '${near}'?` : ''}${picture ? `\n${picture}` : ''}\n  registered passes: ${listing}`, {
      pass: name,
      hint: near ? `write '${near}'` : 'run `nibble passes` to list the passes with their options',
    });
  }
}

export const defaultPassRegistry = new PassRegistry();

/** Register in the global registry; returns the pass. */
export function registerPass<P extends AnyPass>(pass: P): P {
  return defaultPassRegistry.register(pass);
}

export function getPass(name: string): AnyPass {
  return defaultPassRegistry.get(name);
}

export function hasPass(name: string): boolean {
  return defaultPassRegistry.has(name);
}

export function listPasses(): AnyPass[] {
  return defaultPassRegistry.list();
}
