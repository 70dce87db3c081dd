/** The SAU dual-branch model: one backbone, a linear classifier head and a contrastive projection MLP. */
import * as tf from '@tensorflow/tfjs';
import { checkOptions, type OptionKeys } from '../core/options.js';
import { invalid } from '../core/errors.js';
import type { JsonObject } from '../core/json.js';
import type { Rng, RngState } from '../core/rng.js';
import { checkPositive, checkRange } from '../core/validate.js';
import { denseBlockOwners, makeDenseBlocks } from './backbones.js';
import { BackboneHeadModel, checkBackboneFitsHead, checkComponent } from './classifier.js';
import { checkInput, checkMode, checkPresent, checkRng, checkSize, checkSizes } from './check.js';
import { linearHead } from './heads.js';
import { checkInitializer, type Initializer } from './init.js';
import { Dense, collectVariables, l2Normalize, type VariableOwner } from './layers.js';
import type { Backbone, ForwardMode, Head, Model, Requirement } from './types.js';

/** Options of {@link dualBranch}. */
export interface DualBranchOptions {
  /** Shared feature extractor (owned by the model). */
  readonly backbone: Backbone;
  /** Number of classes C of the default linear head (ignored when `head` is given). */
  readonly numClasses?: number;
  /** Stream for the head and projection weights. */
  readonly rng: Rng;
  /** Classifier head; default `linearHead({ inputDim: backbone.outputDim, numClasses })`. */
  readonly head?: Head;
  /** Hidden widths of the projection MLP, default [2048, 2048] (SAU's `contrast_head`). */
  readonly projectionHiddenSizes?: readonly number[];
  /** Width of the projections, default 128. */
  readonly projectionDim?: number;
  /** Batch norm after each hidden projection layer, default true (as SAU). */
  readonly projectionBatchNorm?: boolean;
  /** Initialiser of the projection layers, default `'heNormal'` (kaiming_normal, as SAU). */
  readonly projectionInit?: Initializer;
  /** Batch-norm momentum (PyTorch convention), default 0.1. */
  readonly batchNormMomentum?: number;
  /** Batch-norm ε, default 1e-5. */
  readonly batchNormEpsilon?: number;
}

/** What {@link DualBranch.forward} returns (a type alias, so it can be returned from `tf.tidy`). */
export type DualBranchOutput = {
  readonly logits: tf.Tensor2D;
  readonly embeddings: tf.Tensor2D;
  /** L2-normalized projections [N, projectionDim]. */
  readonly projections: tf.Tensor2D;
};

/** SAU's dual-branch model; predictions use the classifier head only. */
export interface DualBranch extends Model {
  readonly kind: 'dualBranch';
  readonly numTrainClasses: number;
  readonly config: JsonObject;
  readonly backbone: Backbone;
  readonly classifierHead: Head;
  readonly projectionDim: number;
  forward(x: tf.Tensor, mode: ForwardMode): DualBranchOutput;
  forwardFields(x: tf.Tensor, mode: ForwardMode, fields: readonly Requirement[]): Partial<DualBranchOutput>;
  /** Features [N, featureDim] for inputs x (the backbone alone). */
  embed(x: tf.Tensor, mode: ForwardMode): tf.Tensor2D;
  /** Projections of latent features [N, featureDim] (the projection MLP alone), L2-normalized. */
  project(features: tf.Tensor2D, mode: ForwardMode): tf.Tensor2D;
  getRngState(): RngState | null;
  setRngState(state: RngState): void;
}

interface ProjectionSettings {
  readonly hiddenSizes: number[];
  readonly dim: number;
  readonly batchNorm: boolean;
  readonly init: Initializer;
  readonly bn: { momentum: number; epsilon: number };
}

class DualBranchImpl extends BackboneHeadModel implements DualBranch {
  readonly kind = 'dualBranch' as const;
  readonly provides: readonly Requirement[] = ['logits', 'embeddings', 'projections'];
  private readonly blocks: ReturnType<typeof makeDenseBlocks>;
  private readonly out: Dense;
  private readonly projectionOwners: VariableOwner[];

  constructor(
    backbone: Backbone,
    classifierHead: Head,
    private readonly settings: ProjectionSettings,
    rng: Rng,
  ) {
    super(backbone, classifierHead, 'dual-branch model');
    const bnOpts = { init: settings.init, batchNorm: settings.batchNorm, bn: settings.bn, rng };
    this.blocks = makeDenseBlocks(backbone.outputDim, settings.hiddenSizes, bnOpts);
    const last = settings.hiddenSizes[settings.hiddenSizes.length - 1] ?? backbone.outputDim;
    this.out = new Dense(last, settings.dim, { init: settings.init, useBias: true, rng });
    this.projectionOwners = [...denseBlockOwners(this.blocks), this.out];
  }

  get projectionDim(): number {
    return this.settings.dim;
  }
  get trainableVariables(): tf.Variable[] {
    return [
      ...this.backbone.trainableVariables,
      ...this.classifierHead.trainableVariables,
      ...collectVariables(this.projectionOwners).trainable,
    ];
  }
  get variables(): tf.Variable[] {
    const p = collectVariables(this.projectionOwners);
    return [...this.backbone.variables, ...this.classifierHead.variables, ...p.trainable, ...p.state];
  }
  get config(): JsonObject {
    const s = this.settings;
    return {
      backbone: { kind: this.backbone.kind, config: this.backbone.config },
      head: { kind: this.classifierHead.kind, config: this.classifierHead.config },
      projectionHiddenSizes: s.hiddenSizes,
      projectionDim: s.dim,
      projectionBatchNorm: s.batchNorm,
      projectionInit: s.init,
      ...(s.batchNorm ? { batchNormMomentum: s.bn.momentum, batchNormEpsilon: s.bn.epsilon } : {}),
    };
  }

  forward(x: tf.Tensor, mode: ForwardMode): DualBranchOutput {
    this.guard.check();
    checkMode(mode);
    return tf.tidy(() => {
      const embeddings = this.backbone.apply(x, mode);
      return {
        logits: this.classifierHead.apply(embeddings, mode),
        embeddings,
        projections: this.projectUnchecked(embeddings, mode),
      };
    });
  }

  /**
   * Only the outputs in `fields`, each computed as in {@link forward}: a pass that needs no projections
   * leaves the projection's batch-norm statistics alone (the trainer's view passes use it).
   */
  forwardFields(x: tf.Tensor, mode: ForwardMode, fields: readonly Requirement[]): Partial<DualBranchOutput> {
    this.guard.check();
    checkMode(mode);
    return tf.tidy(() => {
      const embeddings = this.backbone.apply(x, mode);
      return {
        ...(fields.includes('logits') ? { logits: this.classifierHead.apply(embeddings, mode) } : {}),
        ...(fields.includes('embeddings') ? { embeddings } : {}),
        ...(fields.includes('projections') ? { projections: this.projectUnchecked(embeddings, mode) } : {}),
      };
    });
  }

  project(features: tf.Tensor2D, mode: ForwardMode): tf.Tensor2D {
    this.guard.check();
    checkMode(mode);
    checkInput('features', features, [this.featureDim]);
    return this.projectUnchecked(features, mode);
  }

  private projectUnchecked(features: tf.Tensor2D, mode: ForwardMode): tf.Tensor2D {
    return tf.tidy(() => {
      let h = features;
      for (const b of this.blocks) {
        h = b.bn === null ? b.dense.apply(h, 'relu') : tf.relu(b.bn.apply(b.dense.apply(h), mode));
      }
      return l2Normalize(this.out.apply(h), 1);
    });
  }

  protected override disposeOwn(): void {
    const p = collectVariables(this.projectionOwners);
    for (const v of [...p.trainable, ...p.state]) v.dispose();
  }
}

const DUAL_KEYS: OptionKeys<DualBranchOptions> = {
  backbone: true,
  numClasses: true,
  rng: true,
  head: true,
  projectionHiddenSizes: true,
  projectionDim: true,
  projectionBatchNorm: true,
  projectionInit: true,
  batchNormMomentum: true,
  batchNormEpsilon: true,
};

/**
 * SAU dual-branch model (Li, Song, Zheng 2024; official code lgX1123/gm4lt): a shared backbone f, a
 * classifier head g giving `logits` = g(f(x)) for the synthetic-unaware (MixUp/CutMix CE) branch, and a
 * projection MLP p giving `projections` = p(f(x)) / ‖p(f(x))‖ for the synthetic-aware (SupCon) branch.
 * p is [Linear → BN → ReLU] per hidden width, then Linear to `projectionDim` — by default
 * D → 2048 → 2048 → 128, SAU's `contrast_head`. Prediction uses the classifier head only.
 *
 * In 'train' mode the projection's batch norm needs batches of at least 2 samples.
 *
 * @throws `SHAPE_MISMATCH` when `head.inputDim ≠ backbone.outputDim`; `INVALID_OPTION` for bad sizes, or
 * when neither `numClasses` nor `head` is given.
 * @example
 * ```ts
 * const model = dualBranch({
 *   backbone: cnnBackbone({ inputShape: [28, 28, 1], channels: [16, 32], rng }),
 *   numClasses: 10, projectionHiddenSizes: [128], projectionDim: 64, rng,
 * });
 * const { logits, projections } = model.forward(x, 'train'); // inside tf.tidy / a loss function
 * ```
 */
export function dualBranch(options: DualBranchOptions): DualBranch {
  checkOptions('dualBranch options', options, DUAL_KEYS);
  checkPresent('options', options);
  checkComponent('backbone', options.backbone, 'backbone');
  if (options.head !== undefined) checkComponent('head', options.head, 'head');
  checkRng('rng', options.rng);
  if (options.head === undefined && options.numClasses === undefined) {
    throw invalid('INVALID_OPTION', 'numClasses (or a head) to be given', 'numClasses', undefined);
  }
  const hiddenSizes = checkSizes('projectionHiddenSizes', options.projectionHiddenSizes ?? [2048, 2048], { allowEmpty: true });
  const dim = checkSize('projectionDim', options.projectionDim ?? 128);
  const batchNorm = options.projectionBatchNorm ?? true;
  const init = checkInitializer('projectionInit', options.projectionInit ?? 'heNormal');
  const bn = {
    momentum: checkRange('batchNormMomentum', options.batchNormMomentum ?? 0.1, { min: 0, max: 1 }),
    epsilon: checkPositive('batchNormEpsilon', options.batchNormEpsilon ?? 1e-5),
  };
  let head = options.head;
  if (head === undefined) {
    head = linearHead({ inputDim: options.backbone.outputDim, numClasses: checkSize('numClasses', options.numClasses ?? 0), rng: options.rng });
  } else {
    if (options.numClasses !== undefined && options.numClasses !== head.numClasses) {
      throw invalid('INVALID_OPTION', `numClasses = head.numClasses = ${head.numClasses}`, 'numClasses', options.numClasses);
    }
  }
  checkBackboneFitsHead(options.backbone, head);
  return new DualBranchImpl(options.backbone, head, { hiddenSizes, dim, batchNorm, init, bn }, options.rng);
}
