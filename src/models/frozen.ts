/** `frozenBackbone`: a backbone whose weights and batch-norm statistics do not move. */
import type * as tf from '@tensorflow/tfjs';
import { checkOptions, type OptionKeys } from '../core/options.js';
import type { JsonObject } from '../core/json.js';
import type { RngState } from '../core/rng.js';
import { DisposeGuard } from '../core/tensors.js';
import { checkMode, checkPresent } from './check.js';
import { checkComponent } from './classifier.js';
import type { Backbone, ForwardMode } from './types.js';

/** Options of {@link frozenBackbone}. */
export interface FrozenBackboneOptions {
  /** The backbone to freeze; the frozen backbone owns it (disposes it). */
  readonly backbone: Backbone;
}

/** A backbone that exposes no trainable variables and always runs in `'eval'` mode. */
export interface FrozenBackbone extends Backbone {
  readonly kind: 'frozen';
  /** The wrapped backbone (its variables are shared, not copied). */
  readonly inner: Backbone;
  readonly trainableVariables: readonly [];
}

class FrozenBackboneImpl implements FrozenBackbone {
  readonly kind = 'frozen' as const;
  readonly trainableVariables: readonly [] = [];
  private readonly guard = new DisposeGuard('frozen backbone');

  constructor(readonly inner: Backbone) {}

  get inputShape(): readonly number[] | null {
    return this.inner.inputShape;
  }
  get outputDim(): number {
    return this.inner.outputDim;
  }
  /** Every variable of the wrapped backbone (for checkpoints and export); none of them is trainable here. */
  get variables(): readonly tf.Variable[] {
    return this.inner.variables;
  }
  /** None: the backbone always runs in eval mode, so no statistics move. */
  get stateVariables(): readonly tf.Variable[] {
    return [];
  }
  get config(): JsonObject {
    return { backbone: { kind: this.inner.kind, config: this.inner.config } };
  }

  apply(x: tf.Tensor, mode: ForwardMode): tf.Tensor2D {
    this.guard.check();
    checkMode(mode);
    return this.inner.apply(x, 'eval');
  }

  getRngState(): RngState | null {
    this.guard.check();
    return this.inner.getRngState?.() ?? null;
  }

  setRngState(state: RngState): void {
    this.guard.check();
    this.inner.setRngState?.(state);
  }

  dispose(): void {
    if (!this.guard.markDisposed()) return;
    this.inner.dispose();
  }
}

const FROZEN_KEYS: OptionKeys<FrozenBackboneOptions> = { backbone: true };

/**
 * Freezes a backbone, as the classifier stage of decoupled training does (Kang et al., ICLR 2020,
 * "Decoupling Representation and Classifier for Long-Tailed Recognition": the representation learned
 * in stage 1 is fixed while the classifier is retrained or rebalanced). For every mode,
 *
 *   frozen.apply(x, mode) = backbone.apply(x, 'eval'),
 *
 * so dropout is off and batch norm normalises with (and never updates) its running statistics, and
 * `trainableVariables` is empty, so a trainer built on a model with this backbone trains the head only.
 * `variables` still lists every variable of the backbone, so checkpoints and `exportModel` keep them.
 * Wrapping shares the backbone's variables (nothing is copied) and takes ownership of it.
 *
 * @throws LongTailError `INVALID_OPTION` (no backbone), `UNKNOWN_OPTION`, before any tensor is made.
 * @example
 * ```ts
 * const stage2 = classifier({ backbone: frozenBackbone({ backbone }), head: linearHead({ inputDim, numClasses, rng }) });
 * stage2.trainableVariables; // the head's kernel and bias only
 * ```
 */
export function frozenBackbone(options: FrozenBackboneOptions): FrozenBackbone {
  checkOptions('frozenBackbone options', options, FROZEN_KEYS);
  checkPresent('options', options);
  checkComponent('backbone', options.backbone, 'backbone');
  return new FrozenBackboneImpl(options.backbone);
}
