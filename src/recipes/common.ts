/**
 * What every recipe shares (internal: not exported from the package): the checks of the options they
 * all take (options object, seed and class count, training stage, progress, backbone or default MLP),
 * the protocol defaults, the data check of `fit`/`evaluate` and the JSON form of a stage.
 */
import * as tf from '@tensorflow/tfjs';
import { LongTailError, invalid } from '../core/errors.js';
import type { JsonObject } from '../core/json.js';
import type { Rng } from '../core/rng.js';
import { checkInteger, checkLabels, checkSameSize } from '../core/validate.js';
import type { LabeledData } from '../data/types.js';
import { identityBackbone, mlpBackbone } from '../models/backbones.js';
import type { Backbone } from '../models/types.js';
import { checkSpec, type OptionKeys } from '../core/options.js';
import { checkSamplerSpec, type SamplerSpec } from '../samplers/index.js';
import { SAMPLER_SPEC_KEYS } from '../samplers/spec-keys.js';
import { LR_SCHEDULE_SPEC_KEYS, OPTIMIZER_SPEC_KEYS } from '../train/spec-keys.js';
import { PROGRESS_MODES, type Callback, type ProgressMode } from '../train/callbacks.js';
import { checkCallbacks, checkCheckpointConfig } from '../train/config.js';
import { checkOptimizerSpec, DEFAULT_OPTIMIZER, type OptimizerSpec } from '../train/optimizers.js';
import { checkLrScheduleSpec, type LrScheduleSpec } from '../train/schedules.js';
import type { FitOptions, History, Trainer } from '../train/trainer.js';

/** Where and how often a recipe's trainer(s) save checkpoints (as the trainer's `checkpoint`). */
export interface RecipeCheckpoint {
  /**
   * Directory of the checkpoint. A recipe that trains in more than one stage (decoupled) saves stage k
   * under `<path>/stage-k`, so each stage resumes from its own file.
   */
  readonly path: string;
  /** Save every `every` epochs. @defaultValue 1 */
  readonly every?: number;
}

/**
 * The training options every recipe takes, shared by all five (each recipe's options interface extends
 * it): how one stage trains (epochs, batch size, optimizer, learning-rate schedule, sampler) and how a
 * run is observed (progress, evaluation batch, callbacks, checkpoints). Defaults are each recipe's own
 * (its TSDoc lists them); the Fashion-MNIST-LT protocol's (30 epochs, batch 256, Adam 1e-3 with L2 5e-4,
 * constant rate, instance sampling) unless it says otherwise.
 */
export interface RecipeStageOptions {
  /** Training epochs (of the first stage, for multi-stage recipes). */
  readonly epochs?: number;
  readonly batchSize?: number;
  readonly optimizer?: OptimizerSpec;
  /** A schedule spec relative to the optimizer's base rate. */
  readonly learningRate?: LrScheduleSpec;
  readonly sampler?: SamplerSpec;
  /** Progress output of the trainer (see `progressLogger`): 'auto', 'bar', 'epoch' or 'none'. @defaultValue 'auto' */
  readonly progress?: ProgressMode;
  /** Rows per evaluation / feature / prototype pass. @defaultValue 512 */
  readonly evalBatchSize?: number;
  /** Trainer callbacks (e.g. `earlyStopping`), given to every stage's trainer after the recipe's own. */
  readonly callbacks?: readonly Callback[];
  /** Checkpoints of the trainer(s); see {@link RecipeCheckpoint} for multi-stage recipes. */
  readonly checkpoint?: RecipeCheckpoint;
}

/** The stage part of {@link RecipeStageOptions}: what a stage-specific override (decoupled's `stage2`) takes. */
export type RecipeStage = Pick<RecipeStageOptions, 'epochs' | 'batchSize' | 'optimizer' | 'learningRate' | 'sampler'>;

/** The training options every recipe stage takes, resolved. */
export interface StageOptions {
  readonly epochs: number;
  readonly batchSize: number;
  readonly optimizer: OptimizerSpec;
  readonly learningRate: LrScheduleSpec;
  readonly sampler: SamplerSpec;
}

/** The keys of a stage override ({@link RecipeStage}). */
export const STAGE_KEYS: OptionKeys<RecipeStage> = { epochs: true, batchSize: true, optimizer: true, learningRate: true, sampler: true };

/** The option keys every recipe shares ({@link RecipeStageOptions}). */
export const STAGE_OPTION_KEYS: OptionKeys<RecipeStageOptions> = {
  ...STAGE_KEYS,
  progress: true,
  evalBatchSize: true,
  callbacks: true,
  checkpoint: true,
};

/** The Fashion-MNIST-LT protocol of the PyTorch references (docs/benchmarks.md): Adam 1e-3 with L2 5e-4. */
export const PROTOCOL_OPTIMIZER: OptimizerSpec = DEFAULT_OPTIMIZER;

/** The single-stage defaults of the protocol: 30 epochs, batch 256, Adam, constant rate, instance sampling. */
export function protocolStage(): StageOptions {
  return { epochs: 30, batchSize: 256, optimizer: PROTOCOL_OPTIMIZER, learningRate: { kind: 'constant' }, sampler: { kind: 'instance' } };
}

/** An options object (plain JS callers may pass anything). */
export function checkOptionsObject(options: unknown): void {
  if (options === null || typeof options !== 'object') throw invalid('INVALID_OPTION', 'an options object', 'options', options);
}

/** What every recipe resolves first. */
export interface SeedAndClasses {
  readonly seed: number;
  readonly numClasses: number;
}

/** The options object, then `seed` (any safe integer) and `numClasses` (≥ 1): the first checks of every recipe. */
export function resolveSeedAndClasses(options: SeedAndClasses): SeedAndClasses {
  checkOptionsObject(options);
  const seed = checkInteger('seed', options.seed, { min: Number.MIN_SAFE_INTEGER });
  const numClasses = checkInteger('numClasses', options.numClasses, { min: 1 });
  return { seed, numClasses };
}

/** How {@link resolveStage} names and bounds a stage. */
export interface ResolveStageOptions {
  /** Names the options in value messages, e.g. `stage2.`. @defaultValue '' */
  readonly prefix?: string;
  /** Names the options object for unknown keys of its specs (`decoupled options.stage2`). */
  readonly where: string;
  /** @defaultValue 1 */
  readonly minBatchSize?: number;
}

/**
 * Validates a stage's training options by the pure checks each component exports (the optimizer's,
 * the schedule's and the sampler's own, which their factories also run), without building anything,
 * so bad specs fail before the recipe's model exists. Unknown keys are named under `where`
 * (`ltls options.sampler { kind: "classBalanced" }`).
 */
export function resolveStage(o: RecipeStage, defaults: StageOptions, how: ResolveStageOptions): StageOptions {
  const prefix = how.prefix ?? '';
  const where = how.where;
  const epochs = checkInteger(`${prefix}epochs`, o.epochs ?? defaults.epochs, { min: 1 });
  const batchSize = checkInteger(`${prefix}batchSize`, o.batchSize ?? defaults.batchSize, { min: how.minBatchSize ?? 1 });
  const optimizer = o.optimizer ?? defaults.optimizer;
  const learningRate = o.learningRate ?? defaults.learningRate;
  const sampler = o.sampler ?? defaults.sampler;
  if (optimizer === null || typeof optimizer !== 'object') throw invalid('INVALID_OPTION', `${prefix}optimizer to be an optimizer spec`, `${prefix}optimizer`, optimizer);
  if (learningRate === null || typeof learningRate !== 'object') {
    throw invalid('INVALID_OPTION', `${prefix}learningRate to be a schedule spec`, `${prefix}learningRate`, learningRate);
  }
  checkSpec(`${where}.optimizer`, optimizer, OPTIMIZER_SPEC_KEYS);
  checkSpec(`${where}.learningRate`, learningRate, LR_SCHEDULE_SPEC_KEYS);
  checkSpec(`${where}.sampler`, sampler, SAMPLER_SPEC_KEYS);
  checkOptimizerSpec(optimizer);
  checkLrScheduleSpec(learningRate, optimizer.learningRate);
  checkSamplerSpec(sampler);
  return { epochs, batchSize, optimizer, learningRate, sampler };
}

/** `progress` is one of 'auto' (default), 'bar', 'epoch', 'none' (see `progressLogger`). */
export function checkProgress(progress: unknown): ProgressMode {
  const p = progress ?? 'auto';
  if (typeof p !== 'string' || !(PROGRESS_MODES as readonly string[]).includes(p)) {
    throw invalid('INVALID_OPTION', `progress to be one of ${PROGRESS_MODES.map((m) => JSON.stringify(m)).join(', ')}`, 'progress', p);
  }
  return p as ProgressMode;
}

/**
 * The trainer's `progress` for stage `index` (1-based) of `count`: lines prefixed `stage 1/2` when a
 * recipe trains in more than one stage.
 */
export function stageProgress(mode: ProgressMode, index: number, count: number): ProgressMode | { readonly mode: ProgressMode; readonly label: string } {
  return count > 1 ? { mode, label: `stage ${index}/${count}` } : mode;
}

/** How a run is observed (the non-stage part of {@link RecipeStageOptions}), resolved. */
export interface RunSettings {
  readonly progress: ProgressMode;
  readonly evalBatchSize: number;
  readonly callbacks: readonly Callback[];
  readonly checkpoint: RecipeCheckpoint | null;
}

/** `progress` ('auto' by default), `evalBatchSize` (≥ 1, 512 by default), `callbacks` and `checkpoint` as the trainer checks them. */
export function resolveRunSettings(o: RecipeStageOptions, where: string): RunSettings {
  const progress = checkProgress(o.progress);
  const evalBatchSize = checkInteger('evalBatchSize', o.evalBatchSize ?? 512, { min: 1 });
  checkCallbacks(o.callbacks);
  if (o.checkpoint !== undefined) checkCheckpointConfig(o.checkpoint, `${where}.checkpoint`);
  const checkpoint = o.checkpoint === undefined ? null : { path: o.checkpoint.path, ...(o.checkpoint.every === undefined ? {} : { every: o.checkpoint.every }) };
  return { progress, evalBatchSize, callbacks: [...(o.callbacks ?? [])], checkpoint };
}

/** What a stage's trainer takes from the run settings. */
export interface TrainerSettings {
  readonly progress: ProgressMode | { readonly mode: ProgressMode; readonly label: string };
  readonly evalBatchSize: number;
  readonly callbacks: readonly Callback[];
  readonly checkpoint?: RecipeCheckpoint;
}

/**
 * The trainer settings of stage `index` (1-based) of `count`: the user's callbacks after the recipe's
 * own (`own`), and the checkpoint path `<path>/stage-<index>` when there is more than one stage.
 */
export function trainerSettings(s: RunSettings, stage: { readonly index: number; readonly count: number; readonly own?: readonly Callback[] }): TrainerSettings {
  const ck = s.checkpoint;
  const checkpoint = ck === null ? null : stage.count > 1 ? { ...ck, path: `${ck.path}/stage-${stage.index}` } : ck;
  return {
    progress: stageProgress(s.progress, stage.index, stage.count),
    evalBatchSize: s.evalBatchSize,
    callbacks: [...(stage.own ?? []), ...s.callbacks],
    ...(checkpoint === null ? {} : { checkpoint }),
  };
}

/** The model input of a recipe: a user backbone, or the default MLP on [N, inputDim] inputs. */
export interface ModelInput {
  /** Per-sample input shape the recipe checks its data against. */
  readonly inputShape: readonly number[] | null;
  readonly hiddenSizes: readonly number[];
  readonly inputDim: number | null;
}

/** Checks `backbone` xor (`inputDim`, `hiddenSizes`) before any tensor exists. */
export function resolveModelInput(o: { readonly backbone?: Backbone; readonly inputDim?: number; readonly hiddenSizes?: readonly number[] }, defaultHidden: readonly number[]): ModelInput {
  if (o.backbone !== undefined) {
    const b = o.backbone as Backbone | null;
    if (b === null || typeof b.apply !== 'function' || typeof b.outputDim !== 'number') {
      throw invalid('INVALID_OPTION', 'backbone to be a Backbone (mlpBackbone, cnnBackbone, ...)', 'backbone', typeof b);
    }
    if (o.hiddenSizes !== undefined) throw invalid('INVALID_OPTION', 'either backbone or hiddenSizes, not both', 'hiddenSizes', o.hiddenSizes);
    if (o.inputDim !== undefined) throw invalid('INVALID_OPTION', 'either backbone or inputDim, not both', 'inputDim', o.inputDim);
    return { inputShape: b.inputShape, hiddenSizes: [], inputDim: null };
  }
  if (o.inputDim === undefined) {
    throw new LongTailError('MISSING_INPUT', 'expected inputDim (for the default MLP) or a backbone. Received: neither');
  }
  const inputDim = checkInteger('inputDim', o.inputDim, { min: 1 });
  const hidden = o.hiddenSizes ?? defaultHidden;
  if (!Array.isArray(hidden) || hidden.some((h) => !Number.isInteger(h) || h < 1)) {
    throw invalid('INVALID_OPTION', 'hiddenSizes to be an array of positive integers', 'hiddenSizes', hidden);
  }
  return { inputShape: [inputDim], hiddenSizes: [...hidden], inputDim };
}

/** The user's backbone, or the default MLP (`hiddenSizes: []` gives the identity: a linear model). */
export function buildBackbone(input: ModelInput, backbone: Backbone | undefined, rng: Rng): Backbone {
  if (backbone !== undefined) return backbone;
  const inputDim = input.inputDim as number;
  return input.hiddenSizes.length === 0 ? identityBackbone({ inputDim }) : mlpBackbone({ inputDim, hiddenSizes: input.hiddenSizes, rng });
}

/** `data` is { x: live Tensor, y } with labels in [0, numClasses) and (when known) the per-sample shape. */
export function checkRecipeData(data: LabeledData, name: string, numClasses: number, inputShape: readonly number[] | null): void {
  if (data === null || typeof data !== 'object' || !(data.x instanceof tf.Tensor)) throw invalid('INVALID_OPTION', `${name} as { x: Tensor, y: Int32Array }`, name, data);
  if (data.x.isDisposed) throw new LongTailError('DISPOSED', `expected a live tensor ${name}.x. Received: a disposed tensor`, { name: `${name}.x` });
  if (inputShape !== null) {
    const shape = data.x.shape.slice(1);
    if (shape.length !== inputShape.length || shape.some((d, i) => d !== inputShape[i])) {
      throw new LongTailError(
        'SHAPE_MISMATCH',
        `expected ${name}.x of shape [N, ${inputShape.join(', ')}]. Received: ${name}.x.shape=[${data.x.shape.join(', ')}]`,
        { expected: [...inputShape], received: shape },
      );
    }
  }
  checkSameSize(`${name}.y.length = ${name}.x.shape[0]`, data.x.shape[0] ?? 0, `${name}.y.length`, data.y?.length ?? -1);
  checkLabels(`${name}.y`, data.y, numClasses);
}

/** Backbone kinds `backboneFromConfig` rebuilds from JSON. */
const REBUILDABLE_BACKBONES = ['identity', 'mlp', 'cnn'];

/**
 * The model part of a run's `config`: `inputDim` and `hiddenSizes` of the default MLP, or the user
 * backbone's `{ kind, config }` when it can be rebuilt from JSON; a backbone wrapping user code is
 * listed in `external` instead (it must come back through `recipeFromConfig`'s overrides).
 */
export function modelInputJson(input: { readonly inputDim: number | null; readonly hiddenSizes: readonly number[] }, backbone: Backbone | null, external: string[]): JsonObject {
  if (backbone === null) return { inputDim: input.inputDim as number, hiddenSizes: [...input.hiddenSizes] };
  if (REBUILDABLE_BACKBONES.includes(backbone.kind)) return { backbone: { kind: backbone.kind, config: JSON.parse(JSON.stringify(backbone.config)) as JsonObject } };
  external.push('backbone');
  return {};
}

/** The JSON form of a stage's options (for a run's `config`). */
export function stageJson(s: StageOptions): JsonObject {
  return {
    epochs: s.epochs,
    batchSize: s.batchSize,
    optimizer: s.optimizer as unknown as JsonObject,
    learningRate: s.learningRate as unknown as JsonObject,
    sampler: s.sampler as unknown as JsonObject,
  };
}

/**
 * Runs one stage of a multi-stage recipe: a stage whose trainer has run every epoch returns its history
 * instead of training again, so `run.fit(train)` after an abort resumes at the stage it stopped in.
 */
export async function fitStage(trainer: Trainer, data: LabeledData, options: FitOptions): Promise<History> {
  if (trainer.done) return { epochs: trainer.history, stopReason: 'completed' };
  return trainer.fit(data, options);
}

/**
 * A recipe's history with the recipe named in its manifest (`manifest.recipe`: the run's kind and its
 * config, which `recipeFromConfig` rebuilds) and the recipe's epochs (all stages) as `manifest.history`,
 * so a number can be traced to the recipe call that produced it and replayed (`replayManifest`).
 */
export function withRecipeManifest(history: History, run: { readonly kind: string; readonly config: Readonly<Record<string, unknown>> }): History {
  if (history.manifest === undefined) return history;
  const config = JSON.parse(JSON.stringify(run.config)) as JsonObject;
  // The recipe's epochs (every stage, with its `stage` key) replace the last trainer's, so replaying the
  // recipe compares what the recipe returned.
  return { ...history, manifest: { ...history.manifest, history: history.epochs.map((l) => ({ ...l })), recipe: { kind: run.kind, config } } };
}
