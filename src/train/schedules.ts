/** Learning-rate and weight schedules: plain functions of training progress. */
import { invalid } from '../core/errors.js';
import { checkSpec } from '../core/options.js';
import { LR_SCHEDULE_SPEC_KEYS } from './spec-keys.js';
import { checkInteger, checkNonNegative, checkPositive } from '../core/validate.js';

/** Where training is: 0-based epoch, fraction of the epoch done, global step. */
export interface Progress {
  readonly epoch: number;
  /** epoch + fraction of the epoch completed including the current step, in (0, totalEpochs]. */
  readonly epochFloat: number;
  readonly step: number;
  readonly totalEpochs: number;
}

/** A schedule maps progress to a value (learning rate, loss weight, mixing α). */
export type Schedule = (progress: Progress) => number;

/**
 * Learning-rate schedule specs (JSON, so configs round-trip), all relative to the optimizer's base rate:
 * - `constant`
 * - `step`: multiply by `gamma` at each epoch in `milestones` (PyTorch MultiStepLR).
 * - `cosine`: lr_min + (lr − lr_min)·(1 + cos(π·t/T))/2 over the epochs after warm-up (SGDR without restarts).
 * Each accepts `warmupEpochs`: linear ramp from lr/warmup-length to lr over those epochs (per step).
 */
export type LrScheduleSpec =
  | { readonly kind: 'constant'; readonly warmupEpochs?: number }
  | { readonly kind: 'step'; readonly milestones: readonly number[]; readonly gamma?: number; readonly warmupEpochs?: number }
  | { readonly kind: 'cosine'; readonly minLearningRate?: number; readonly warmupEpochs?: number };

/**
 * Validates a spec and returns the schedule lr(progress) for base rate `base`. A key the spec's kind does
 * not take is `UNKNOWN_OPTION` (`learningRate { kind: "cosine" }` in the message).
 */
export function lrSchedule(spec: LrScheduleSpec, base: number): Schedule {
  if (spec === null || typeof spec !== 'object') throw invalid('INVALID_OPTION', 'a schedule spec object', 'learningRate', spec);
  checkSpec('learningRate', spec, LR_SCHEDULE_SPEC_KEYS);
  checkPositive('learningRate', base);
  const warmup = checkNonNegative('warmupEpochs', spec.warmupEpochs ?? 0);
  const warm = (p: Progress, lr: number): number =>
    warmup > 0 && p.epochFloat < warmup ? (lr * p.epochFloat) / warmup : lr;
  switch (spec.kind) {
    case 'constant':
      return (p) => warm(p, base);
    case 'step': {
      const gamma = checkPositive('gamma', spec.gamma ?? 0.1);
      if (!Array.isArray(spec.milestones)) throw invalid('INVALID_OPTION', 'milestones to be an array of epochs', 'milestones', spec.milestones);
      spec.milestones.forEach((m, i) => checkInteger(`milestones[${i}]`, m));
      return (p) => warm(p, base * Math.pow(gamma, spec.milestones.filter((m) => p.epoch >= m).length));
    }
    case 'cosine': {
      const min = checkNonNegative('minLearningRate', spec.minLearningRate ?? 0);
      return (p) => {
        const span = Math.max(1e-12, p.totalEpochs - warmup);
        const t = Math.min(1, Math.max(0, (p.epochFloat - warmup) / span));
        return warm(p, min + (base - min) * 0.5 * (1 + Math.cos(Math.PI * t)));
      };
    }
    default:
      throw invalid('INVALID_OPTION', 'schedule kind to be one of "constant", "step", "cosine"', 'kind', (spec as { kind: unknown }).kind);
  }
}
