/** Learning-rate and weight schedules: plain functions of training progress. */
import { invalid } from '../core/errors.js';
import { checkScheduleSpec, schedule, type Schedule, type ScheduleSpec } from '../core/schedule.js';
import { checkPositive } from '../core/validate.js';

/** Progress and schedules live in core (one `Schedule` for learning rates, loss weights and DRW). */
export type { Progress, Schedule } from '../core/schedule.js';

/**
 * A learning-rate schedule spec: any {@link ScheduleSpec}, relative to the optimizer's base rate
 * (`value` defaults to it). The usual ones are `constant`, `step` (PyTorch MultiStepLR) and `cosine`
 * (with `minLearningRate`), each with `warmupEpochs`.
 */
export type LrScheduleSpec = ScheduleSpec;

/**
 * Validates a spec and returns the schedule lr(progress) for base rate `base`: {@link schedule} with the
 * optimizer's rate as the base. A key the spec's kind does not take is `UNKNOWN_OPTION`
 * (`learningRate { kind: "cosine" }` in the message).
 */
export function lrSchedule(spec: LrScheduleSpec, base: number): Schedule {
  checkLrScheduleSpec(spec, base);
  return schedule(spec, { base, name: 'learningRate' });
}

/**
 * Validates a learning-rate schedule spec for base rate `base` without making the schedule (what
 * {@link lrSchedule} checks first). `name` names the spec in unknown-key messages. Returns `spec`.
 */
export function checkLrScheduleSpec(spec: LrScheduleSpec, base: number, name = 'learningRate'): LrScheduleSpec {
  if (spec === null || typeof spec !== 'object') throw invalid('INVALID_OPTION', 'a schedule spec object', 'learningRate', spec);
  checkPositive('learningRate', base);
  checkScheduleSpec(spec, { base, name });
  return spec;
}
