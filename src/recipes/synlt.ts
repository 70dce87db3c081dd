/**
 * The `synLt` recipe: cross-entropy training in which, late in training, synthetic minority latents made
 * by OT distribution matching (Li et al., TMLR 2025, "Synthesizing Minority Samples via Distribution
 * Matching") join the batches through the classifier head. The matching is OUR stated formulation
 * (docs/methods.md): the paper's algorithm text was not available.
 */
import type * as tf from '@tensorflow/tfjs';
import { checkOptions, type OptionKeys } from '../core/options.js';
import { invalid } from '../core/errors.js';
import type { JsonObject } from '../core/json.js';
import { seededRng } from '../core/rng.js';
import { DisposeGuard } from '../core/tensors.js';
import { checkInteger } from '../core/validate.js';
import type { LabeledData } from '../data/types.js';
import { crossEntropyLoss } from '../losses/classification.js';
import type { EvaluationReport } from '../metrics/report.js';
import { classifier, type Classifier } from '../models/classifier.js';
import { linearHead } from '../models/heads.js';
import type { Backbone } from '../models/types.js';
import { OT_MATCHING_KEYS, OtDistributionMatching, resolveOtMatchingOptions, type AcceptanceEntry, type OtMatchingOptions } from '../synth/ot-matching.js';
import { checkTopUpPolicy, type TopUpPolicy } from '../synth/top-up.js';
import { trainer, type EvaluateOptions, type FitOptions, type History, type Trainer } from '../train/trainer.js';
import {
  buildBackbone,
  checkRecipeData,
  protocolStage,
  resolveModelInput,
  resolveRunSettings,
  resolveSeedAndClasses,
  resolveStage,
  modelInputJson,
  stageJson,
  type ModelInput,
  type RunSettings,
  type SeedAndClasses,
  type StageOptions,
  STAGE_OPTION_KEYS,
  trainerSettings,
  type RecipeStageOptions,
  withRecipeManifest,
} from './common.js';
import type { RecipeRun } from './types.js';

/** The matching options of {@link synLt}: every {@link OtMatchingOptions} field but `numClasses`. */
export type SynLtMatchingOptions = Omit<OtMatchingOptions, 'numClasses'>;

/**
 * Options of {@link synLt}. Only `seed`, `numClasses` and `inputDim` (or `backbone`) are required. The
 * stage options default to the protocol's: 30 epochs, batch 256, Adam 1e-3 with L2 5e-4, constant rate,
 * instance sampling over real + synthetic samples.
 */
export interface SynLtOptions extends RecipeStageOptions {
  /** One seed for the initial weights and every random choice of training and synthesis. */
  readonly seed: number;
  readonly numClasses: number;
  /** Input width D of the default MLP (inputs [N, D]). Excludes `backbone`. */
  readonly inputDim?: number;
  /** Hidden widths of the default MLP; `[]` gives a linear model. @defaultValue [256] */
  readonly hiddenSizes?: readonly number[];
  /** The feature extractor (e.g. `cnnBackbone`); the run owns it (disposes it). */
  readonly backbone?: Backbone;
  /** First epoch (0-based) with synthetic latents. @defaultValue ⌊0.75 · epochs⌋ */
  readonly synthesisStart?: number;
  /** Re-observe the (changed) real embeddings and redraw the pool every k epochs; 0 keeps the first pool. @defaultValue 1 */
  readonly refreshEvery?: number;
  /** How many proposals each class gets per round. @defaultValue `{ kind: 'toMax' }` */
  readonly topUp?: TopUpPolicy;
  /**
   * OT distribution matching: steps T = 5, step size η = 0.1 in units of the latent norm (`stepUnit:
   * 'latentNorm'`), ε = 0.1, 200 Sinkhorn iterations, λ1 = λ2 = 0.5, β = 0.999, acceptance τ = 0.9,
   * reservoir of 512 rows per class (docs/methods.md).
   */
  readonly matching?: SynLtMatchingOptions;
}

/** One synthesis round of a synLt run: what was asked for and what the acceptance test kept. */
export interface SynLtRound {
  /** The epoch whose batches use this pool. */
  readonly epoch: number;
  /** Proposals made (Σ over classes). */
  readonly proposed: number;
  /** Proposals kept: head probability of the target class ≥ τ. */
  readonly accepted: number;
  /** accepted / proposed (NaN when nothing was proposed). */
  readonly acceptanceRate: number;
  /** Per-class outcome (classes with a non-zero request). */
  readonly perClass: readonly AcceptanceEntry[];
}

/** A synLt run: a {@link RecipeRun} that also reports its synthesis rounds. */
export interface SynLtRun extends RecipeRun {
  readonly kind: 'synLt';
  readonly model: Classifier;
  /** Every synthesis round so far, oldest first. */
  readonly acceptance: readonly SynLtRound[];
  /** Eval-mode logits of inputs; the caller owns the result. */
  logits(x: tf.Tensor): tf.Tensor2D;
  /** Cross-entropy training for `epochs` epochs, with synthetic minority latents from `synthesisStart` on. */
  fit(train: LabeledData, options?: FitOptions): Promise<History>;
  /** Metrics of the model on `test` (synthetic latents play no part in inference). */
  evaluate(test: LabeledData, options?: EvaluateOptions): EvaluationReport;
  /** Frees the model, the trainer (and its synthetic pool) and the synthesizer (idempotent). */
  dispose(): void;
}

interface Resolved extends SeedAndClasses, RunSettings {
  readonly input: ModelInput;
  readonly stage: StageOptions;
  readonly synthesisStart: number;
  readonly refreshEvery: number;
  readonly topUp: TopUpPolicy;
  readonly matching: SynLtMatchingOptions;
}

/**
 * synLt as one call. A backbone + linear head trained with cross-entropy; from epoch `synthesisStart`
 * (default 75 % of the epochs) and every `refreshEvery` epochs after, the real training embeddings (eval
 * mode) are observed afresh by an {@link OtDistributionMatching} synthesizer, which proposes minority
 * latents for every class below n_max (top-up to n_max by default):
 *
 *   seeds from larger classes j with probability ∝ 1 − β^{max(n_j − n_c, 0)},
 *   T steps x ← x − η·r·g/‖g‖,  g = ∇ₓ[λ1·OT_ε(x, real features of c) + λ2·CE(head(x), c)],
 *   r = √(mean ‖y‖²) of the real latents (the default step unit; r = 1 with `stepUnit: 'absolute'`),
 *   keep x iff softmax(head(x))_c ≥ τ,
 *
 * and the accepted latents join the next epochs' batches through the head only (they skip the backbone).
 * Each round starts from fresh statistics (stale embeddings of earlier epochs are dropped). The
 * acceptance of every round is in `run.acceptance`.
 *
 * Paper: Li et al., "Synthesizing Minority Samples via Distribution Matching", TMLR 2025. The matching
 * is the library's stated formulation (docs/methods.md), not a reproduction of the paper's code.
 *
 * @throws LongTailError before any tensor is made: `INVALID_OPTION` (bad option, synthesisStart ≥
 *   epochs), `MISSING_INPUT` (neither inputDim nor backbone).
 * @example
 * ```ts
 * const run = synLt({ seed: 0, numClasses: 10, inputDim: 784, epochs: 30 });
 * await run.fit(train);
 * const rates = run.acceptance.map((r) => r.acceptanceRate); // per synthesis round
 * const report = run.evaluate(test);
 * run.dispose();
 * ```
 */
export function synLt(options: SynLtOptions): SynLtRun {
  const resolved = resolveOptions(options);
  return new SynLtRunImpl(resolved, options.backbone);
}

const SYNLT_KEYS: OptionKeys<SynLtOptions> = {
  seed: true,
  numClasses: true,
  inputDim: true,
  hiddenSizes: true,
  backbone: true,
  ...STAGE_OPTION_KEYS,
  synthesisStart: true,
  refreshEvery: true,
  topUp: true,
  matching: true,
};
const { numClasses: _numClasses, ...MATCHING_KEYS }: OptionKeys<OtMatchingOptions> = OT_MATCHING_KEYS;

function resolveOptions(options: SynLtOptions): Resolved {
  checkOptions('synLt options', options, SYNLT_KEYS);
  const { seed, numClasses } = resolveSeedAndClasses(options);
  const input = resolveModelInput(options, [256]);
  const stage = resolveStage(options, protocolStage(), { where: 'synLt options' });
  const synthesisStart = checkInteger('synthesisStart', options.synthesisStart ?? Math.floor(0.75 * stage.epochs));
  if (synthesisStart >= stage.epochs) throw invalid('INVALID_OPTION', `synthesisStart < epochs (${stage.epochs})`, 'synthesisStart', synthesisStart);
  const refreshEvery = checkInteger('refreshEvery', options.refreshEvery ?? 1);
  const topUp = checkTopUpPolicy(options.topUp ?? { kind: 'toMax' }, 'synLt options.topUp');
  const matching = options.matching ?? {};
  if (matching === null || typeof matching !== 'object') throw invalid('INVALID_OPTION', 'matching to be an OT matching options object', 'matching', matching);
  checkOptions('synLt options.matching', matching, MATCHING_KEYS);
  resolveOtMatchingOptions({ ...matching, numClasses });
  return { seed, numClasses, input, stage, synthesisStart, refreshEvery, topUp, matching, ...resolveRunSettings(options, 'synLt options') };
}

class SynLtRunImpl implements SynLtRun {
  readonly kind = 'synLt' as const;
  readonly model: Classifier;
  readonly trainer: Trainer;
  /** The trainer resets it before each refresh re-observes, and records each round's acceptance report. */
  private readonly synthesizer: OtDistributionMatching;
  private readonly guard = new DisposeGuard('synLt run');

  constructor(
    private readonly o: Resolved,
    backbone: Backbone | undefined,
  ) {
    const rng = seededRng(o.seed).fork('synLt:model');
    const bb = buildBackbone(o.input, backbone, rng.fork('backbone'));
    this.model = classifier({ backbone: bb, head: linearHead({ inputDim: bb.outputDim, numClasses: o.numClasses, rng: rng.fork('head') }) });
    this.synthesizer = new OtDistributionMatching({ ...o.matching, numClasses: o.numClasses });
    const syn = this.synthesizer;
    this.trainer = trainer({
      model: this.model,
      loss: crossEntropyLoss(),
      seed: o.seed,
      ...o.stage,
      synthesis: { synthesizer: syn, source: 'embeddings', startEpoch: o.synthesisStart, refreshEvery: o.refreshEvery, topUp: o.topUp },
      ...trainerSettings(o, { index: 1, count: 1 }),
    });
  }

  get config(): JsonObject {
    const o = this.o;
    const external: string[] = [];
    const { numClasses: _n, ...matching } = this.synthesizer.config;
    return {
      kind: 'synLt',
      seed: o.seed,
      numClasses: o.numClasses,
      ...modelInputJson(o.input, o.input.inputDim === null ? this.model.backbone : null, external),
      ...stageJson(o.stage),
      synthesisStart: o.synthesisStart,
      refreshEvery: o.refreshEvery,
      topUp: o.topUp as unknown as JsonObject,
      matching,
      evalBatchSize: o.evalBatchSize,
      external,
    };
  }

  get acceptance(): readonly SynLtRound[] {
    return this.trainer.synthesis.map((round) => {
      const perClass = (round.report ?? []) as readonly AcceptanceEntry[];
      let proposed = 0;
      let accepted = 0;
      for (const e of perClass) {
        proposed += e.proposed;
        accepted += e.accepted;
      }
      return { epoch: round.epoch, proposed, accepted, acceptanceRate: proposed > 0 ? accepted / proposed : Number.NaN, perClass: perClass.map((e) => ({ ...e })) };
    });
  }

  async fit(train: LabeledData, options: FitOptions = {}): Promise<History> {
    this.guard.check();
    checkRecipeData(train, 'train', this.o.numClasses, this.model.backbone.inputShape);
    return withRecipeManifest(await this.trainer.fit(train, options), this);
  }

  evaluate(test: LabeledData, options: EvaluateOptions = {}): EvaluationReport {
    this.guard.check();
    checkRecipeData(test, 'test', this.o.numClasses, this.model.backbone.inputShape);
    return this.trainer.evaluate(test, options);
  }

  /** Eval-mode logits; the caller owns the result. */
  logits(x: tf.Tensor): tf.Tensor2D {
    this.guard.check();
    return this.trainer.logits(x);
  }

  dispose(): void {
    if (!this.guard.markDisposed()) return;
    this.trainer.dispose();
    this.synthesizer.dispose();
    this.model.dispose();
  }
}
