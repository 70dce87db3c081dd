/**
 * The keys of each optimizer and learning-rate schedule spec kind (internal: `optimizerFromConfig`,
 * `lrSchedule` and the recipes check specs with them, the recipes under their own option path).
 */
import type { OptionKeys, SpecKeys, SpecOf } from '../core/options.js';
import { SCHEDULE_SPEC_KEYS } from '../core/schedule.js';
import type { OptimizerSpec } from './optimizers.js';
import type { LrScheduleSpec } from './schedules.js';

const ADAM: OptionKeys<SpecOf<OptimizerSpec, 'adam'>> = { kind: true, learningRate: true, beta1: true, beta2: true, epsilon: true, weightDecay: true };

export const OPTIMIZER_SPEC_KEYS: SpecKeys<OptimizerSpec> = {
  sgd: { kind: true, learningRate: true, momentum: true, weightDecay: true, nesterov: true },
  adam: ADAM,
  adamw: ADAM,
};

/** Learning-rate schedules are the shared schedule specs. */
export const LR_SCHEDULE_SPEC_KEYS: SpecKeys<LrScheduleSpec> = SCHEDULE_SPEC_KEYS;
