/**
 * Config registries: every component exposes `kind` and a JSON `config`; a registry maps a kind back to
 * its factory so `fromConfig(toConfig(x))` rebuilds an equal component (Keras get_config/from_config).
 */
import { LongTailError, formatValue } from './errors.js';
import type { JsonObject } from './json.js';

/** What every configurable component exposes. */
export interface Configurable {
  readonly kind: string;
  readonly config: JsonObject;
}

/** The serialised form of a component: `{ kind, config }`. */
export interface SerializedComponent {
  readonly kind: string;
  readonly config: JsonObject;
}

/** `{ kind, config }` of a component, deep-copied through JSON so it is safe to log or store. */
export function toConfig(component: Configurable): SerializedComponent {
  return JSON.parse(JSON.stringify({ kind: component.kind, config: component.config })) as SerializedComponent;
}

/** A typed map from kind to factory for one family of components (losses, samplers, ...). */
export class Registry<T extends Configurable> {
  private readonly factories = new Map<string, (config: JsonObject) => T>();

  constructor(readonly family: string) {}

  /** Registers (or replaces, for user extensions) the factory of `kind`. */
  register(kind: string, factory: (config: JsonObject) => T): this {
    this.factories.set(kind, factory);
    return this;
  }

  /** Whether `kind` has a factory. */
  has(kind: string): boolean {
    return this.factories.has(kind);
  }

  /** Registered kinds, sorted. */
  kinds(): string[] {
    return [...this.factories.keys()].sort();
  }

  /** Throws `UNKNOWN_KIND` listing the known kinds unless `kind` has a factory (builds nothing). */
  checkKind(kind: unknown): string {
    if (typeof kind !== 'string' || !this.factories.has(kind)) {
      throw new LongTailError('UNKNOWN_KIND', `expected a ${this.family} kind, one of ${this.kinds().join(', ')}. Received: kind=${formatValue(kind)}`, { family: this.family });
    }
    return kind;
  }

  /** Rebuilds a component from `{ kind, config }`; unknown kinds throw `UNKNOWN_KIND` listing the known ones. */
  fromConfig(serialized: SerializedComponent): T {
    const factory = this.factories.get(this.checkKind(serialized?.kind)) as (config: JsonObject) => T;
    return factory(serialized.config ?? {});
  }
}
