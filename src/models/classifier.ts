/** `classifier`: a backbone and a head composed into a {@link Model}. */
import * as tf from '@tensorflow/tfjs';
import { checkOptions, type OptionKeys } from '../core/options.js';
import { LongTailError, invalid } from '../core/errors.js';
import type { JsonObject } from '../core/json.js';
import type { RngState } from '../core/rng.js';
import { DisposeGuard } from '../core/tensors.js';
import { identityBackbone } from './backbones.js';
import { checkInput, checkMode, checkPresent } from './check.js';
import type { Backbone, ForwardMode, Head, Model, Requirement } from './types.js';

/** Options of {@link classifier}. */
export interface ClassifierOptions {
  /** Feature extractor; omit for a head on precomputed features (identity backbone of width head.inputDim). */
  readonly backbone?: Backbone;
  /** Classifier head; its `inputDim` must equal `backbone.outputDim`. */
  readonly head: Head;
}

/** What {@link Classifier.forward} returns (a type alias, so it can be returned from `tf.tidy`). */
export type ClassifierOutput = {
  /** head(backbone(x)) [N, C] ('eval') or [N, numTrainClasses] ('train'). */
  readonly logits: tf.Tensor2D;
  /** backbone(x) [N, featureDim]. */
  readonly embeddings: tf.Tensor2D;
};

/** A backbone + head model; owns both (dispose frees every variable of both). */
export interface Classifier extends Model {
  readonly kind: 'classifier';
  readonly numTrainClasses: number;
  readonly config: JsonObject;
  readonly backbone: Backbone;
  readonly classifierHead: Head;
  forward(x: tf.Tensor, mode: ForwardMode): ClassifierOutput;
  /** Features [N, featureDim] for inputs x (the backbone alone). */
  embed(x: tf.Tensor, mode: ForwardMode): tf.Tensor2D;
  getRngState(): RngState | null;
  setRngState(state: RngState): void;
}

/** Checks that a backbone's features fit a head: `SHAPE_MISMATCH` otherwise. */
export function checkBackboneFitsHead(backbone: Backbone, head: Head, headName = 'head'): void {
  if (backbone.outputDim !== head.inputDim) {
    throw new LongTailError(
      'SHAPE_MISMATCH',
      `expected ${headName}.inputDim = backbone.outputDim = ${backbone.outputDim}. Received: ${headName}.inputDim=${head.inputDim}`,
      { expected: backbone.outputDim, received: head.inputDim },
    );
  }
}

/** Checks that a value looks like a Backbone / Head (plain JS callers). */
export function checkComponent(name: string, value: unknown, kind: 'backbone' | 'head'): void {
  const v = value as { apply?: unknown; dispose?: unknown } | null | undefined;
  if (v === null || v === undefined || typeof v.apply !== 'function' || typeof v.dispose !== 'function') {
    const made = kind === 'backbone' ? 'mlpBackbone, cnnBackbone, ...' : 'linearHead, cosineHead, ...';
    throw invalid('INVALID_OPTION', `${name} to be a ${kind === 'backbone' ? 'Backbone' : 'Head'} (${made})`, name, typeof value);
  }
}

/**
 * What the classifier and the dual-branch model share (internal): an owned backbone and head behind one
 * dispose guard, `embed`/`head`, the backbone's RNG state, and a `dispose` that frees both parts (and
 * whatever `disposeOwn` adds).
 */
export abstract class BackboneHeadModel {
  protected readonly guard: DisposeGuard;

  constructor(
    readonly backbone: Backbone,
    readonly classifierHead: Head,
    what: string,
  ) {
    this.guard = new DisposeGuard(what);
  }

  get numClasses(): number {
    return this.classifierHead.numClasses;
  }
  get numTrainClasses(): number {
    return this.classifierHead.numTrainClasses;
  }
  get featureDim(): number {
    return this.backbone.outputDim;
  }

  embed(x: tf.Tensor, mode: ForwardMode): tf.Tensor2D {
    this.guard.check();
    return this.backbone.apply(x, mode);
  }

  head(features: tf.Tensor2D, mode: ForwardMode = 'eval'): tf.Tensor2D {
    this.guard.check();
    checkInput('features', features, [this.featureDim]);
    return this.classifierHead.apply(features, mode);
  }

  getRngState(): RngState | null {
    this.guard.check();
    return this.backbone.getRngState?.() ?? null;
  }

  setRngState(state: RngState): void {
    this.guard.check();
    this.backbone.setRngState?.(state);
  }

  dispose(): void {
    if (!this.guard.markDisposed()) return;
    this.backbone.dispose();
    this.classifierHead.dispose();
    this.disposeOwn();
  }

  /** Frees what a subclass adds to the backbone and head (runs once, after them). */
  protected disposeOwn(): void {}
}

class ClassifierImpl extends BackboneHeadModel implements Classifier {
  readonly kind = 'classifier' as const;
  readonly provides: readonly Requirement[] = ['logits', 'embeddings'];

  constructor(backbone: Backbone, classifierHead: Head) {
    super(backbone, classifierHead, 'classifier');
  }

  get trainableVariables(): tf.Variable[] {
    return [...this.backbone.trainableVariables, ...this.classifierHead.trainableVariables];
  }
  get variables(): tf.Variable[] {
    return [...this.backbone.variables, ...this.classifierHead.variables];
  }
  /** The backbone's state (batch-norm statistics; none for a frozen backbone) and the head's. */
  get stateVariables(): tf.Variable[] {
    return [...stateVariablesOf(this.backbone), ...stateVariablesOf(this.classifierHead)];
  }
  get config(): JsonObject {
    return {
      backbone: { kind: this.backbone.kind, config: this.backbone.config },
      head: { kind: this.classifierHead.kind, config: this.classifierHead.config },
    };
  }

  forward(x: tf.Tensor, mode: ForwardMode): ClassifierOutput {
    this.guard.check();
    checkMode(mode);
    return tf.tidy(() => {
      const embeddings = this.backbone.apply(x, mode);
      return { logits: this.classifierHead.apply(embeddings, mode), embeddings };
    });
  }
}

const CLASSIFIER_KEYS: OptionKeys<ClassifierOptions> = { backbone: true, head: true };

/**
 * Composes a backbone and a head into a {@link Model}: `forward(x, mode)` returns
 * `{ logits: head(backbone(x)), embeddings: backbone(x) }`, and `head(features)` classifies latent
 * features directly (synthesized features skip the backbone). The classifier owns both parts.
 *
 * @throws `SHAPE_MISMATCH` when `head.inputDim ≠ backbone.outputDim`; `INVALID_OPTION` for missing parts.
 * @example
 * ```ts
 * const rng = seededRng(0);
 * const model = classifier({
 *   backbone: mlpBackbone({ inputDim: 784, hiddenSizes: [256], rng }),
 *   head: linearHead({ inputDim: 256, numClasses: 10, rng }),
 * });
 * const { logits, embeddings } = tf.tidy(() => model.forward(x, 'eval'));
 * ```
 */
export function classifier(options: ClassifierOptions): Classifier {
  checkOptions('classifier options', options, CLASSIFIER_KEYS);
  checkPresent('options', options);
  checkComponent('head', options.head, 'head');
  if (options.backbone !== undefined) checkComponent('backbone', options.backbone, 'backbone');
  const backbone = options.backbone ?? identityBackbone({ inputDim: options.head.inputDim });
  checkBackboneFitsHead(backbone, options.head);
  return new ClassifierImpl(backbone, options.head);
}

/**
 * A component's state variables (what a training pass may change besides its trainable variables): its
 * own `stateVariables` list, else the rule for components without one, its variables that are not
 * trainable.
 */
export function stateVariablesOf(c: {
  readonly variables: readonly tf.Variable[];
  readonly trainableVariables: readonly tf.Variable[];
  readonly stateVariables?: readonly tf.Variable[];
}): tf.Variable[] {
  if (c.stateVariables !== undefined) return [...c.stateVariables];
  const trainable = new Set(c.trainableVariables);
  return c.variables.filter((v) => !trainable.has(v));
}
