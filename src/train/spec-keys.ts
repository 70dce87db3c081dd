/**
 * The keys of each optimizer and learning-rate schedule spec kind (internal: `createOptimizer`,
 * `lrSchedule` and the recipes check specs with them, the recipes under their own option path).
 */
import type { OptionKeys, SpecKeys, SpecOf } from '../core/options.js';
import type { OptimizerSpec } from './optimizers.js';
import type { LrScheduleSpec } from './schedules.js';

const ADAM: OptionKeys<SpecOf<OptimizerSpec, 'adam'>> = { kind: true, learningRate: true, beta1: true, beta2: true, epsilon: true, weightDecay: true };

export const OPTIMIZER_SPEC_KEYS: SpecKeys<OptimizerSpec> = {
  sgd: { kind: true, learningRate: true, momentum: true, weightDecay: true, nesterov: true },
  adam: ADAM,
  adamw: ADAM,
};

export const LR_SCHEDULE_SPEC_KEYS: SpecKeys<LrScheduleSpec> = {
  constant: { kind: true, warmupEpochs: true },
  step: { kind: true, milestones: true, gamma: true, warmupEpochs: true },
  cosine: { kind: true, minLearningRate: true, warmupEpochs: true },
};
