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
import { createSampler, type SamplerSpec } from '../samplers/index.js';
import { SAMPLER_SPEC_KEYS } from '../samplers/spec-keys.js';
import { LR_SCHEDULE_SPEC_KEYS, OPTIMIZER_SPEC_KEYS } from '../train/spec-keys.js';
import { PROGRESS_MODES, type ProgressMode } from '../train/callbacks.js';
import { createOptimizer, DEFAULT_OPTIMIZER, type OptimizerSpec } from '../train/optimizers.js';
import { lrSchedule, type LrScheduleSpec } from '../train/schedules.js';
import type { FitOptions, History, Trainer } from '../train/trainer.js';

/** The training options every recipe stage takes, resolved. */
export interface StageOptions {
  readonly epochs: number;
  readonly batchSize: number;
  readonly optimizer: OptimizerSpec;
  readonly learningRate: LrScheduleSpec;
  readonly sampler: SamplerSpec;
}

/** The optimizer, schedule and sampler of a stage. */
export type StageSpecs = Pick<StageOptions, 'optimizer' | 'learningRate' | 'sampler'>;

/** A recipe's stage options as the user gives them. */
export interface StageInput {
  readonly epochs?: number;
  readonly batchSize?: number;
  readonly optimizer?: OptimizerSpec;
  readonly learningRate?: LrScheduleSpec;
  readonly sampler?: SamplerSpec;
}

/** The option keys every recipe shares: its stage (epochs, batch size, optimizer, schedule, sampler) and run settings. */
export const STAGE_OPTION_KEYS: OptionKeys<StageInput & { readonly progress?: unknown; readonly evalBatchSize?: number }> = {
  epochs: true,
  batchSize: true,
  optimizer: true,
  learningRate: true,
  sampler: true,
  progress: true,
  evalBatchSize: true,
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

/** The user's optimizer, schedule and sampler specs, or the defaults' (unchecked). */
export function stageSpecs(o: StageInput, defaults: StageSpecs): StageSpecs {
  return { optimizer: o.optimizer ?? defaults.optimizer, learningRate: o.learningRate ?? defaults.learningRate, sampler: o.sampler ?? defaults.sampler };
}

/**
 * Builds the optimizer, schedule and sampler once so bad specs fail before the recipe's model exists (the
 * trainer checks them too, but only after; none of them makes a tensor). Unknown keys are named under
 * `where` (`ltls options.sampler { kind: "classBalanced" }`). Returns `specs`.
 */
export function checkStageSpecs(specs: StageSpecs, where: string): StageSpecs {
  checkSpec(`${where}.optimizer`, specs.optimizer, OPTIMIZER_SPEC_KEYS);
  checkSpec(`${where}.learningRate`, specs.learningRate, LR_SCHEDULE_SPEC_KEYS);
  checkSpec(`${where}.sampler`, specs.sampler, SAMPLER_SPEC_KEYS);
  createOptimizer(specs.optimizer).dispose();
  lrSchedule(specs.learningRate, specs.optimizer.learningRate);
  createSampler(specs.sampler);
  return specs;
}

/**
 * Validates a stage's training options without making tensors. `prefix` names the options in messages,
 * e.g. `stage2.`; `where` names the options object for unknown keys of its specs (`decoupled options.stage2`).
 */
export function resolveStage(prefix: string, o: StageInput, defaults: StageOptions, where: string): StageOptions {
  const epochs = checkInteger(`${prefix}epochs`, o.epochs ?? defaults.epochs, { min: 1 });
  const batchSize = checkInteger(`${prefix}batchSize`, o.batchSize ?? defaults.batchSize, { min: 1 });
  const specs = stageSpecs(o, defaults);
  const { optimizer, learningRate } = specs;
  if (optimizer === null || typeof optimizer !== 'object') throw invalid('INVALID_OPTION', `${prefix}optimizer to be an optimizer spec`, `${prefix}optimizer`, optimizer);
  if (learningRate === null || typeof learningRate !== 'object') {
    throw invalid('INVALID_OPTION', `${prefix}learningRate to be a schedule spec`, `${prefix}learningRate`, learningRate);
  }
  return { epochs, batchSize, ...checkStageSpecs(specs, where) };
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

/** Progress output and rows per evaluation pass, as ltls, synLT and decoupled resolve them (last). */
export interface RunSettings {
  readonly progress: ProgressMode;
  readonly evalBatchSize: number;
}

/** `progress` ('auto' by default) and `evalBatchSize` (≥ 1, 512 by default). */
export function resolveRunSettings(o: { readonly progress?: ProgressMode; readonly evalBatchSize?: number }): RunSettings {
  const progress = checkProgress(o.progress);
  const evalBatchSize = checkInteger('evalBatchSize', o.evalBatchSize ?? 512, { min: 1 });
  return { progress, evalBatchSize };
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
 * resolved options), so a number can be traced to the recipe call that produced it.
 */
export function withRecipeManifest(history: History, run: { readonly kind: string; readonly config: Readonly<Record<string, unknown>> }): History {
  if (history.manifest === undefined) return history;
  const config = JSON.parse(JSON.stringify(run.config)) as JsonObject;
  return { ...history, manifest: { ...history.manifest, recipe: { kind: run.kind, config } } };
}
