/**
 * The `granularity` recipe: category extrapolation with auxiliary classes and neighbor silencing (Zhao et
 * al., "Granularity Matters in Long-Tail Learning" / "Learning from Neighbors: Category Extrapolation for
 * Long-Tail Learning", arXiv:2410.15980; official code Shizhen-ZHAO/Gran_LT, `Bal_CE_loss`).
 */
import * as tf from '@tensorflow/tfjs';
import { LongTailError, invalid } from '../core/errors.js';
import type { JsonObject } from '../core/json.js';
import { checkOptions, type OptionKeys } from '../core/options.js';
import { seededRng } from '../core/rng.js';
import { DisposeGuard } from '../core/tensors.js';
import { checkInteger, checkLabels, checkSameSize } from '../core/validate.js';
import { concatData, withFlags, type LabeledArrays, type SampleValues } from '../data/labeled-data.js';
import type { LabeledData } from '../data/types.js';
import { neighborSilencingLoss } from '../losses/classification.js';
import { defineLoss } from '../losses/define.js';
import { selectNeighborsByPrototype, silencingMask } from '../losses/functional/neighborSilencing.js';
import type { Loss, LossState, LossStateContext, LossStateSnapshot } from '../losses/types.js';
import type { EvaluationReport } from '../metrics/report.js';
import { identityBackbone, mlpBackbone } from '../models/backbones.js';
import { classifier, type Classifier } from '../models/classifier.js';
import { classPrototypes } from '../models/encode.js';
import { auxiliaryHead, linearHead } from '../models/heads.js';
import type { Backbone } from '../models/types.js';
import { trainer, type EvaluateOptions, type FitOptions, type History, type Trainer } from '../train/trainer.js';
import {
  protocolStage,
  resolveRunSettings,
  resolveSeedAndClasses,
  modelInputJson,
  resolveStage,
  stageJson,
  STAGE_OPTION_KEYS,
  trainerSettings,
  type RecipeStageOptions,
  type RunSettings,
  type StageOptions,
  withRecipeManifest,
} from './common.js';
import { extractFeatures } from './features.js';
import type { RecipeRun } from './types.js';

/**
 * Where the class prototypes for automatic neighbour selection come from:
 * - `'warmup'` (default): the recipe's own model, briefly trained. For the first `warmupEpochs` epochs all
 *   C + A classes compete (the unsilenced balanced softmax, Gran_LT's `unmask`); then the prototypes are
 *   the mean backbone features (eval mode) of each class over the training data, neighbours are picked,
 *   and the silencing mask is switched on for the remaining epochs.
 * - `'inputs'`: the mean of the raw inputs (flattened) of each class, before training.
 * - a function: a user encoder `x [B, ...] → features [B, d]`, called in batches inside `tf.tidy`
 *   before training (the recipe never disposes it).
 */
export type PrototypeEncoder = 'warmup' | 'inputs' | ((x: tf.Tensor) => tf.Tensor2D);

/** Options of the automatic neighbour selection (used when `neighbors` is not given). */
export interface NeighborSelection {
  /** @defaultValue 'warmup' */
  readonly encoder?: PrototypeEncoder;
  /** Epochs of unsilenced training before the neighbours are picked (`encoder: 'warmup'` only). @defaultValue 2 */
  readonly warmupEpochs?: number;
  /** Neighbours of the most frequent target class. @defaultValue 1 */
  readonly k?: number;
  /** Neighbours of the rarest target class (more neighbours for rarer classes). @defaultValue 2·k */
  readonly kMax?: number;
}

/**
 * Options of {@link granularity}. Only `seed`, `numClasses` and `auxiliary` are required. The stage
 * options default to the protocol's: 30 epochs in all (warm-up included), batch 256, Adam 1e-3 with L2
 * 5e-4, constant rate, instance sampling over target + auxiliary samples.
 */
export interface GranularityOptions extends RecipeStageOptions {
  /** One seed for the model's initial weights and every random choice of training. */
  readonly seed: number;
  /** Number of target classes C: the training labels passed to `fit` lie in [0, C). */
  readonly numClasses: number;
  /**
   * The auxiliary (open-set neighbour) data, labels in their own range [0, A). The recipe offsets them to
   * [C, C + A) and flags them `auxiliary`. Owned by the caller: keep it alive until `fit` returns.
   */
  readonly auxiliary: LabeledData;
  /** A; default max(auxiliary.y) + 1. Every auxiliary class needs at least one sample. */
  readonly numAuxiliaryClasses?: number;
  /**
   * Neighbours given by the user: `neighbors[t]` lists auxiliary classes (in [0, A)) that target class t
   * does not compete with (and that do not compete with t). Length C. Excludes `neighborSelection`.
   */
  readonly neighbors?: readonly (readonly number[])[];
  /** Automatic neighbour selection by prototype cosine similarity (the default when `neighbors` is absent). */
  readonly neighborSelection?: NeighborSelection;
  /** Auxiliary samples also ignore every other auxiliary class. @defaultValue false */
  readonly auxiliaryIgnoresAuxiliary?: boolean;
  /** Logit-adjustment strength τ of z + τ·log π. @defaultValue 1 */
  readonly tau?: number;
  /**
   * The feature extractor; the run owns it (disposes it). Default: an MLP `mlpBackbone` with
   * `hiddenSizes` on [N, D] inputs (D from `auxiliary.x`).
   */
  readonly backbone?: Backbone;
  /** Hidden widths of the default MLP backbone; `[]` gives a linear model. @defaultValue [256] */
  readonly hiddenSizes?: readonly number[];
}

/** A granularity run: a {@link RecipeRun} that also exposes the neighbours it used. */
export interface GranularityRun extends RecipeRun {
  readonly kind: 'granularity';
  readonly model: Classifier;
  /** C. */
  readonly numClasses: number;
  /** A. */
  readonly numAuxiliaryClasses: number;
  /**
   * `neighbors[t]`: auxiliary classes (in [0, A)) silenced for target class t, most similar first when
   * selected automatically; `null` until they are known (before the warm-up ends).
   */
  readonly neighbors: number[][] | null;
  /** The (C + A)×(C + A) competition mask in use (all true during warm-up). */
  readonly mask: boolean[][];
  /**
   * Trains on `train` (target classes, labels in [0, C)) plus the auxiliary data: warm-up (if any),
   * neighbour selection, then neighbor-silenced training, for `epochs` epochs in all.
   */
  fit(train: LabeledData, options?: FitOptions): Promise<History>;
  /** Metrics over the C target classes (labels of `test` in [0, C)); auxiliary rows are masked out. */
  evaluate(test: LabeledData, options?: EvaluateOptions): EvaluationReport;
  /** Arg-max over the C target classes per sample (never an auxiliary class). */
  predict(x: tf.Tensor): Int32Array;
  /** Frees the model and the trainer (idempotent); never the caller's data. */
  dispose(): void;
}

interface Resolved extends RunSettings {
  readonly seed: number;
  readonly numClasses: number;
  readonly numAuxiliaryClasses: number;
  readonly inputShape: readonly number[];
  readonly neighbors: number[][] | null;
  readonly encoder: PrototypeEncoder;
  readonly warmupEpochs: number;
  readonly k: number;
  readonly kMax: number;
  readonly auxiliaryIgnoresAuxiliary: boolean;
  readonly tau: number;
  readonly hiddenSizes: readonly number[];
  readonly stage: StageOptions;
}

/**
 * Granularity (category extrapolation) as one call. The model's head covers C target + A auxiliary
 * classes ({@link auxiliaryHead}); training runs over target and auxiliary samples together with the
 * neighbor-silencing balanced cross-entropy ({@link neighborSilencingLoss}):
 *
 *   ℓ_i = −log softmax(z_i + τ·log π + (1 − M[y_i])·(−3e4))_{y_i},
 *
 * π the class frequencies over target and auxiliary training data together, τ = 1, and M[y, j] false
 * (silenced) when j is an auxiliary neighbour of target y or y an auxiliary neighbour of target j
 * (optionally also between auxiliary classes). Neighbours come from `neighbors`, or are picked per
 * target class as the auxiliary classes with the most cosine-similar feature prototypes, more for rarer
 * classes ({@link selectNeighborsByPrototype}); the default prototypes are the class means of the
 * recipe's own backbone after a short unsilenced warm-up. At inference the head keeps the target rows
 * only, so `evaluate`/`predict` are over the C target classes.
 *
 * Paper: S. Zhao, X. Wen, J. Liu, C. Ma, C. Yuan, X. Qi, "Learning from Neighbors: Category
 * Extrapolation for Long-Tail Learning" (arXiv:2410.15980; also "Granularity Matters in Long-Tail
 * Learning").
 *
 * @throws LongTailError before any tensor is made: `INVALID_OPTION` (bad option, neighbour out of range),
 *   `SHAPE_MISMATCH` (auxiliary data that does not fit the model), `LABEL_OUT_OF_RANGE`, `EMPTY_CLASS`
 *   (an auxiliary class without samples).
 * @example
 * ```ts
 * const run = granularity({ seed: 0, numClasses: 6, auxiliary, epochs: 30 }); // auxiliary.y in [0, 4)
 * await run.fit(train);                  // train.y in [0, 6)
 * const report = run.evaluate(test);     // target classes only
 * run.dispose();
 * ```
 */
export function granularity(options: GranularityOptions): GranularityRun {
  const resolved = resolveOptions(options);
  return new GranularityRunImpl(resolved, options.auxiliary, options.backbone);
}

const GRANULARITY_KEYS: OptionKeys<GranularityOptions> = {
  seed: true,
  numClasses: true,
  auxiliary: true,
  numAuxiliaryClasses: true,
  neighbors: true,
  neighborSelection: true,
  auxiliaryIgnoresAuxiliary: true,
  tau: true,
  backbone: true,
  hiddenSizes: true,
  ...STAGE_OPTION_KEYS,
};
const SELECTION_KEYS: OptionKeys<NeighborSelection> = { encoder: true, warmupEpochs: true, k: true, kMax: true };

function resolveOptions(options: GranularityOptions): Resolved {
  checkOptions('granularity options', options, GRANULARITY_KEYS);
  if (options !== null && typeof options === 'object' && options.neighborSelection !== undefined) {
    checkOptions('granularity options.neighborSelection', options.neighborSelection, SELECTION_KEYS);
  }
  const { seed, numClasses } = resolveSeedAndClasses(options);
  const aux = options.auxiliary;
  if (aux === null || typeof aux !== 'object' || !(aux.x instanceof tf.Tensor)) {
    throw invalid('MISSING_INPUT', 'auxiliary as { x: Tensor, y: Int32Array } (labels in [0, A))', 'auxiliary', aux);
  }
  checkSameSize('auxiliary.y.length = auxiliary.x.shape[0]', aux.x.shape[0] ?? 0, 'auxiliary.y.length', aux.y?.length ?? -1);
  if (aux.y.length === 0) throw invalid('EMPTY_CLASS', 'at least one auxiliary sample', 'auxiliary.y.length', 0);
  checkLabels('auxiliary.y', aux.y);
  let maxLabel = 0;
  for (const v of aux.y) maxLabel = Math.max(maxLabel, v);
  const numAuxiliaryClasses = checkInteger('numAuxiliaryClasses', options.numAuxiliaryClasses ?? maxLabel + 1, { min: 1 });
  checkLabels('auxiliary.y', aux.y, numAuxiliaryClasses);
  const seen = new Uint8Array(numAuxiliaryClasses);
  for (const v of aux.y) seen[v] = 1;
  const empty = seen.indexOf(0);
  if (empty >= 0) {
    throw new LongTailError('EMPTY_CLASS', `expected at least one sample of every auxiliary class. Received: no sample of auxiliary class ${empty}`, { index: empty });
  }
  const inputShape = aux.x.shape.slice(1);
  checkModelInput(options.backbone, options.hiddenSizes, inputShape);

  if (options.neighbors !== undefined && options.neighborSelection !== undefined) {
    throw invalid('INVALID_OPTION', 'either neighbors or neighborSelection, not both', 'neighborSelection', options.neighborSelection);
  }
  const neighbors = options.neighbors === undefined ? null : checkNeighbors(options.neighbors, numClasses, numAuxiliaryClasses);
  const sel = options.neighborSelection ?? {};
  const encoder = sel.encoder ?? 'warmup';
  if (typeof encoder !== 'function' && encoder !== 'warmup' && encoder !== 'inputs') {
    throw invalid('INVALID_OPTION', 'neighborSelection.encoder to be "warmup", "inputs" or a function', 'neighborSelection.encoder', encoder);
  }
  const stage = resolveStage(options, protocolStage(), { where: 'granularity options' });
  const epochs = stage.epochs;
  const warmupEpochs = checkInteger('neighborSelection.warmupEpochs', sel.warmupEpochs ?? 2, { min: 1 });
  if (neighbors === null && encoder === 'warmup' && warmupEpochs >= epochs) {
    throw invalid('INVALID_OPTION', `neighborSelection.warmupEpochs < epochs (${epochs})`, 'neighborSelection.warmupEpochs', warmupEpochs);
  }
  const k = checkInteger('neighborSelection.k', sel.k ?? 1, { min: 0 });
  const kMax = checkInteger('neighborSelection.kMax', sel.kMax ?? 2 * k, { min: k });
  const auxiliaryIgnoresAuxiliary = options.auxiliaryIgnoresAuxiliary ?? false;
  if (typeof auxiliaryIgnoresAuxiliary !== 'boolean') {
    throw invalid('INVALID_OPTION', 'auxiliaryIgnoresAuxiliary to be a boolean', 'auxiliaryIgnoresAuxiliary', auxiliaryIgnoresAuxiliary);
  }
  const tau = options.tau ?? 1;
  if (typeof tau !== 'number' || !Number.isFinite(tau)) throw invalid('INVALID_OPTION', 'tau to be a finite number', 'tau', tau);
  return {
    ...resolveRunSettings(options, 'granularity options'),
    seed,
    numClasses,
    numAuxiliaryClasses,
    inputShape,
    neighbors,
    encoder,
    warmupEpochs,
    k,
    kMax,
    auxiliaryIgnoresAuxiliary,
    tau,
    hiddenSizes: options.hiddenSizes ?? [256],
    stage,
  };
}

/** The auxiliary samples must fit the model: its backbone's input shape, or [D] for the default MLP. */
function checkModelInput(backbone: Backbone | undefined, hiddenSizes: readonly number[] | undefined, inputShape: readonly number[]): void {
  if (backbone !== undefined) {
    if (backbone === null || typeof backbone.apply !== 'function') throw invalid('INVALID_OPTION', 'backbone to be a Backbone (mlpBackbone, cnnBackbone, ...)', 'backbone', typeof backbone);
    if (hiddenSizes !== undefined) throw invalid('INVALID_OPTION', 'either backbone or hiddenSizes, not both', 'hiddenSizes', hiddenSizes);
    const want = backbone.inputShape;
    if (want !== null && (want.length !== inputShape.length || want.some((d, i) => d !== inputShape[i]))) {
      throw new LongTailError(
        'SHAPE_MISMATCH',
        `expected auxiliary samples of shape [${want.join(', ')}] (backbone.inputShape). Received: auxiliary.x.shape=[N, ${inputShape.join(', ')}]`,
        { expected: [...want], received: [...inputShape] },
      );
    }
    return;
  }
  if (hiddenSizes !== undefined && (!Array.isArray(hiddenSizes) || hiddenSizes.some((h) => !Number.isInteger(h) || h < 1))) {
    throw invalid('INVALID_OPTION', 'hiddenSizes to be an array of positive integers', 'hiddenSizes', hiddenSizes);
  }
  if (inputShape.length !== 1) {
    throw new LongTailError(
      'SHAPE_MISMATCH',
      `expected auxiliary.x of shape [N, D] for the default MLP (flatten images, or pass a backbone). Received: auxiliary.x.shape=[N, ${inputShape.join(', ')}]`,
      { received: [...inputShape] },
    );
  }
}

function checkNeighbors(neighbors: readonly (readonly number[])[], numClasses: number, numAux: number): number[][] {
  if (!Array.isArray(neighbors)) throw invalid('INVALID_OPTION', `neighbors to be an array of ${numClasses} lists`, 'neighbors', neighbors);
  checkSameSize('neighbors.length = numClasses', numClasses, 'neighbors.length', neighbors.length);
  return neighbors.map((list, t) => {
    if (!Array.isArray(list) || list.some((a) => !Number.isInteger(a) || a < 0 || a >= numAux)) {
      throw invalid('INVALID_OPTION', `neighbors[${t}] entries to be auxiliary class indices in [0, ${numAux})`, `neighbors[${t}]`, list);
    }
    return [...list];
  });
}

/** C + A square mask with every entry true (nothing silenced). */
function allTrue(n: number): boolean[][] {
  return Array.from({ length: n }, () => new Array<boolean>(n).fill(true));
}

/**
 * The neighbour choice as loss state: the neighbor-silencing loss of the current mask (all classes
 * compete until neighbours are chosen). With the `'warmup'` encoder, the refresh before epoch
 * `warmupEpochs` picks them from the class prototypes of the model's eval-mode embeddings; the choice is
 * saved in checkpoints, so a resumed run keeps it.
 */
class NeighborState implements LossState {
  readonly key = 'granularity:neighbors';
  chosen: number[][] | null = null;
  mask: boolean[][];
  loss: Loss<'logits'>;

  constructor(
    private readonly o: Resolved,
    private readonly pickAt: number | null,
  ) {
    this.mask = allTrue(o.numClasses + o.numAuxiliaryClasses);
    this.loss = neighborSilencingLoss({ mask: this.mask, tau: o.tau });
  }

  choose(neighbors: number[][] | null): void {
    const c = this.o.numClasses;
    this.chosen = neighbors === null ? null : neighbors.map((l) => [...l]);
    this.mask =
      neighbors === null
        ? allTrue(c + this.o.numAuxiliaryClasses)
        : silencingMask({ numClasses: c + this.o.numAuxiliaryClasses, neighbors: neighbors.map((l) => l.map((a) => a + c)), auxiliaryIgnoresAuxiliary: this.o.auxiliaryIgnoresAuxiliary });
    this.loss = neighborSilencingLoss({ mask: this.mask, tau: this.o.tau });
  }

  refresh(context: LossStateContext): void {
    if (this.chosen !== null || this.pickAt === null || context.epoch < this.pickAt) return;
    const [features] = context.encode({ output: 'embeddings' }) as [tf.Tensor2D];
    try {
      this.choose(pickNeighbors(this.o, features, context.labels));
    } finally {
      features.dispose();
    }
  }

  snapshot(): LossStateSnapshot | null {
    return this.chosen === null ? null : { json: { neighbors: this.chosen.map((l) => [...l]) }, arrays: {} };
  }

  restore(snapshot: LossStateSnapshot | null): void {
    if (snapshot === null) {
      this.choose(null);
      return;
    }
    const neighbors = (snapshot.json as { neighbors?: unknown } | null)?.neighbors;
    const c = this.o.numClasses;
    const a = this.o.numAuxiliaryClasses;
    const ok = Array.isArray(neighbors) && neighbors.length === c && neighbors.every((l) => Array.isArray(l) && l.every((v) => Number.isInteger(v) && v >= 0 && v < a));
    if (!ok) throw invalid('INVALID_CHECKPOINT', `granularity neighbours: ${c} lists of auxiliary classes in [0, ${a})`, 'lossStates.granularity:neighbors', neighbors);
    this.choose(neighbors as number[][]);
  }

  dispose(): void {}
}

/**
 * The class prototypes (feature means, {@link classPrototypes}) of the target and auxiliary classes, then
 * the most similar auxiliary classes per target ({@link selectNeighborsByPrototype}).
 */
function pickNeighbors(o: Resolved, features: tf.Tensor2D, labels: Int32Array): number[][] {
  const c = o.numClasses;
  const { means } = classPrototypes(features, labels, { numClasses: c + o.numAuxiliaryClasses });
  try {
    const counts = new Float64Array(c);
    for (const y of labels) if (y < c) counts[y] = (counts[y] as number) + 1;
    const picked = selectNeighborsByPrototype(means as tf.Tensor2D, { numTargets: c, classCounts: counts, k: o.k, kMax: o.kMax });
    return picked.map((l) => l.map((a) => a - c));
  } finally {
    means.dispose();
  }
}

class GranularityRunImpl implements GranularityRun {
  readonly kind = 'granularity' as const;
  readonly model: Classifier;
  readonly trainer: Trainer;
  readonly numClasses: number;
  readonly numAuxiliaryClasses: number;
  private readonly guard = new DisposeGuard('granularity run');
  private readonly userBackbone: boolean;
  private readonly state: NeighborState;

  constructor(
    private readonly o: Resolved,
    private readonly auxiliary: LabeledData,
    backbone: Backbone | undefined,
  ) {
    this.userBackbone = backbone !== undefined;
    this.numClasses = o.numClasses;
    this.numAuxiliaryClasses = o.numAuxiliaryClasses;
    const total = o.numClasses + o.numAuxiliaryClasses;
    const rng = seededRng(o.seed).fork('granularity:model');
    const inputDim = o.inputShape[0] as number;
    const bb =
      backbone ??
      (o.hiddenSizes.length === 0
        ? identityBackbone({ inputDim })
        : mlpBackbone({ inputDim, hiddenSizes: o.hiddenSizes, rng: rng.fork('backbone') }));
    const inner = linearHead({ inputDim: bb.outputDim, numClasses: total, rng: rng.fork('head') });
    this.model = classifier({ backbone: bb, head: auxiliaryHead({ head: inner, numAuxiliaryClasses: o.numAuxiliaryClasses }) });
    const state = new NeighborState(o, o.neighbors === null && o.encoder === 'warmup' ? o.warmupEpochs : null);
    if (o.neighbors !== null) state.choose(o.neighbors);
    this.state = state;
    // One loss object; it reads the silencing mask its state holds.
    const loss = defineLoss<'logits'>({
      kind: 'granularity',
      config: { tau: o.tau },
      requires: ['logits'],
      states: [state],
      terms: (inputs) => state.loss.terms(inputs),
    });
    this.trainer = trainer({
      model: this.model,
      loss,
      seed: o.seed,
      ...o.stage,
      ...trainerSettings(o, { index: 1, count: 1, own: [] }),
    });
  }

  get neighbors(): number[][] | null {
    return this.state.chosen === null ? null : this.state.chosen.map((l) => [...l]);
  }

  get mask(): boolean[][] {
    return this.state.mask.map((r) => [...r]);
  }

  get config(): JsonObject {
    const o = this.o;
    const external = ['auxiliary'];
    if (o.neighbors === null && typeof o.encoder === 'function') external.push('neighborSelection');
    const input = { inputDim: o.inputShape[0] as number, hiddenSizes: o.hiddenSizes };
    return {
      kind: 'granularity',
      seed: o.seed,
      numClasses: o.numClasses,
      numAuxiliaryClasses: o.numAuxiliaryClasses,
      ...(o.neighbors !== null
        ? { neighbors: o.neighbors.map((l) => [...l]) }
        : typeof o.encoder === 'function'
          ? {}
          : { neighborSelection: { encoder: o.encoder, warmupEpochs: o.warmupEpochs, k: o.k, kMax: o.kMax } }),
      auxiliaryIgnoresAuxiliary: o.auxiliaryIgnoresAuxiliary,
      tau: o.tau,
      // The default MLP's input width comes from the auxiliary data, so only its hidden sizes are options.
      ...(this.userBackbone ? modelInputJson(input, this.model.backbone, external) : { hiddenSizes: [...o.hiddenSizes] }),
      ...stageJson(o.stage),
      evalBatchSize: o.evalBatchSize,
      external,
    };
  }


  async fit(train: LabeledData, options: FitOptions = {}): Promise<History> {
    this.guard.check();
    const aux = this.auxiliary;
    checkTargetData(train, this.o.numClasses, this.o.inputShape, 'train');
    if (aux.x.isDisposed) throw new LongTailError('DISPOSED', 'expected auxiliary.x alive until fit returns. Received: a disposed tensor', { name: 'auxiliary.x' });
    const c = this.o.numClasses;
    const offset = Int32Array.from(aux.y, (v) => v + c);
    const all = concatData([withFlags(train, { auxiliary: false }), withFlags({ x: aux.x, y: offset }, { auxiliary: true })]);
    try {
      if (this.state.chosen === null && this.o.encoder !== 'warmup') {
        const enc = this.o.encoder;
        const features =
          enc === 'inputs' ? (tf.reshape(all.x, [all.y.length, -1]) as tf.Tensor2D) : extractFeatures(enc as (x: tf.Tensor) => tf.Tensor2D, all.x, { batchSize: this.o.evalBatchSize });
        try {
          this.state.choose(pickNeighbors(this.o, features, all.y));
        } finally {
          features.dispose();
        }
      }
      return withRecipeManifest(await this.trainer.fit(all, options), this);
    } finally {
      all.x.dispose();
    }
  }

  evaluate(test: LabeledData, options: EvaluateOptions = {}): EvaluationReport {
    this.guard.check();
    checkTargetData(test, this.o.numClasses, this.o.inputShape, 'test');
    return this.trainer.evaluate(test, options);
  }

  predict(x: tf.Tensor): Int32Array {
    this.guard.check();
    return this.trainer.predict(x);
  }

  dispose(): void {
    if (!this.guard.markDisposed()) return;
    this.trainer.dispose();
    this.model.dispose();
  }
}

/** Target-class data: labels in [0, C) and the auxiliary data's sample shape. */
function checkTargetData(data: LabeledData, numClasses: number, inputShape: readonly number[], name: string): void {
  if (data === null || typeof data !== 'object' || !(data.x instanceof tf.Tensor)) throw invalid('INVALID_OPTION', `${name} as { x: Tensor, y: Int32Array }`, name, data);
  const shape = data.x.shape.slice(1);
  if (shape.length !== inputShape.length || shape.some((d, i) => d !== inputShape[i])) {
    throw new LongTailError(
      'SHAPE_MISMATCH',
      `expected ${name} samples of the auxiliary samples' shape [${inputShape.join(', ')}]. Received: ${name}.x.shape=[N, ${shape.join(', ')}]`,
      { expected: [...inputShape], received: shape },
    );
  }
  checkSameSize(`${name}.y.length = ${name}.x.shape[0]`, data.x.shape[0] ?? 0, `${name}.y.length`, data.y.length);
  checkLabels(`${name}.y (target classes)`, data.y, numClasses);
}

/** A named class of a source dataset. */
export interface NamedClass {
  /** Label in the source dataset. */
  readonly label: number;
  readonly name: string;
}

/** A target/auxiliary split of one labelled dataset's classes for category extrapolation. */
export interface GranularitySplit {
  /** Target classes, in recipe order: target t is `targets[t]`. */
  readonly targets: readonly NamedClass[];
  /** Auxiliary classes, in recipe order: auxiliary class a is `auxiliary[a]`. */
  readonly auxiliary: readonly NamedClass[];
  /** Hand-picked neighbours: `neighbors[t]` lists auxiliary positions a (for the `neighbors` option). */
  readonly neighbors: readonly (readonly number[])[];
}

/**
 * The Fashion-MNIST category-extrapolation split: six long-tailed target classes and the four remaining
 * classes as auxiliary neighbours. The auxiliary classes are the four whose images are most often
 * confused with a target class (the well-known Fashion-MNIST confusions): Shirt with T-shirt/top and
 * Pullover, Coat with Pullover and Dress, Sneaker and Ankle boot with Sandal. So every auxiliary class
 * is a finer-grained neighbour of some target (footwear splits into three, upper-body garments into
 * five), while Trouser and Bag keep no neighbour and act as controls. Under the IF-100 exponential
 * profile the targets keep a long tail (counts 6000, 3596, 2156, 1292, 464, 100 on the full split:
 * IF 60).
 */
export const FASHION_MNIST_GRANULARITY_SPLIT: GranularitySplit = {
  targets: [
    { label: 0, name: 'T-shirt/top' },
    { label: 1, name: 'Trouser' },
    { label: 2, name: 'Pullover' },
    { label: 3, name: 'Dress' },
    { label: 5, name: 'Sandal' },
    { label: 8, name: 'Bag' },
  ],
  auxiliary: [
    { label: 4, name: 'Coat' },
    { label: 6, name: 'Shirt' },
    { label: 7, name: 'Sneaker' },
    { label: 9, name: 'Ankle boot' },
  ],
  // T-shirt: Shirt; Trouser: none; Pullover: Coat, Shirt; Dress: Coat; Sandal: Sneaker, Ankle boot; Bag: none.
  neighbors: [[1], [], [0, 1], [0], [2, 3], []],
};

/** The two parts of a dataset under a {@link GranularitySplit}; labels renumbered to recipe order. */
export interface SplitArrays {
  /** Samples of target classes, labels in [0, C). */
  readonly target: LabeledArrays;
  /** Samples of auxiliary classes, labels in [0, A). */
  readonly auxiliary: LabeledArrays;
}

/**
 * Splits typed-array data (e.g. from `loadFashionMnist`) by a {@link GranularitySplit}: target samples
 * relabelled 0..C−1 and auxiliary samples relabelled 0..A−1, in the original sample order. Samples of
 * classes in neither list are dropped. Pure (no tensors).
 *
 * @throws LongTailError `INVALID_OPTION` when a class appears twice in the split.
 */
export function splitByClasses(data: LabeledArrays, split: GranularitySplit = FASHION_MNIST_GRANULARITY_SPLIT): SplitArrays {
  const map = new Map<number, { part: 0 | 1; index: number }>();
  const add = (list: readonly NamedClass[], part: 0 | 1): void =>
    list.forEach((c, index) => {
      if (map.has(c.label)) throw invalid('INVALID_OPTION', 'each class in one place of the split', 'label', c.label);
      map.set(c.label, { part, index });
    });
  add(split.targets, 0);
  add(split.auxiliary, 1);
  const size = data.sampleShape.reduce((a, b) => a * b, 1);
  const pick = (part: 0 | 1): LabeledArrays => {
    const rows: number[] = [];
    const labels: number[] = [];
    data.y.forEach((y, i) => {
      const m = map.get(y);
      if (m !== undefined && m.part === part) {
        rows.push(i);
        labels.push(m.index);
      }
    });
    const x = new (data.x.constructor as new (len: number) => SampleValues)(rows.length * size);
    rows.forEach((r, k) => x.set(data.x.subarray(r * size, (r + 1) * size), k * size));
    return { x, sampleShape: data.sampleShape, y: Int32Array.from(labels) };
  };
  return { target: pick(0), auxiliary: pick(1) };
}
