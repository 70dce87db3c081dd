/**
 * One schedule type for everything that changes during training (learning rates, loss weights, DRW's
 * switch): a function of training progress, given as a JSON spec or as a function. Learning rates are
 * schedules relative to the optimizer's base rate; loss weights are schedules of absolute values.
 */
import { invalid } from './errors.js';
import { checkSpec, type SpecKeys } from './options.js';
import { checkFinite, checkInteger, checkNonNegative, checkPositive } from './validate.js';

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
 * Serialisable schedules (JSON, so configs round-trip). `value` is the level a kind starts from; it
 * defaults to the base the caller gives (the optimizer's learning rate, or 1 for loss weights).
 * - `constant`: `value`.
 * - `step`: `value`·γ^k after k of `milestones` (epochs) have passed (PyTorch MultiStepLR).
 * - `cosine`: from `value` to `minValue` by half a cosine over the epochs after warm-up (SGDR without
 *   restarts; `minLearningRate` is accepted for `minValue` in learning-rate schedules).
 * - `switch`: `before` until `epoch`, `after` from it (DRW's deferred switch; a loss term turned on).
 * - `linear`: `from` until `startEpoch`, a straight line to `to` at `endEpoch`, `to` after.
 * `constant`, `step` and `cosine` accept `warmupEpochs`: a linear ramp from value/warm-up length up to
 * the scheduled value over those epochs (per step).
 */
export type ScheduleSpec =
  | { readonly kind: 'constant'; readonly value?: number; readonly warmupEpochs?: number }
  | { readonly kind: 'step'; readonly milestones: readonly number[]; readonly gamma?: number; readonly value?: number; readonly warmupEpochs?: number }
  | { readonly kind: 'cosine'; readonly value?: number; readonly minValue?: number; readonly minLearningRate?: number; readonly warmupEpochs?: number }
  | { readonly kind: 'switch'; readonly epoch: number; readonly before: number; readonly after: number }
  | { readonly kind: 'linear'; readonly startEpoch: number; readonly endEpoch: number; readonly from: number; readonly to: number };

/** The keys of each schedule kind (for unknown-key checks). */
export const SCHEDULE_SPEC_KEYS: SpecKeys<ScheduleSpec> = {
  constant: { kind: true, value: true, warmupEpochs: true },
  step: { kind: true, milestones: true, gamma: true, value: true, warmupEpochs: true },
  cosine: { kind: true, value: true, minValue: true, minLearningRate: true, warmupEpochs: true },
  switch: { kind: true, epoch: true, before: true, after: true },
  linear: { kind: true, startEpoch: true, endEpoch: true, from: true, to: true },
};

/** Options of {@link schedule}. */
export interface ScheduleOptions {
  /** The value `constant`, `step` and `cosine` start from when the spec has no `value`. @defaultValue 1 */
  readonly base?: number;
  /** How the spec is named in error messages (e.g. `'learningRate'`, `'parts[1].weight'`). @defaultValue 'schedule' */
  readonly name?: string;
}

/** A schedule spec with every value checked and every default filled in (what {@link schedule} runs). */
export type ResolvedSchedule =
  | { readonly kind: 'switch'; readonly epoch: number; readonly before: number; readonly after: number }
  | { readonly kind: 'linear'; readonly start: number; readonly end: number; readonly from: number; readonly to: number }
  | { readonly kind: 'constant'; readonly value: number; readonly warmup: number }
  | { readonly kind: 'step'; readonly value: number; readonly warmup: number; readonly gamma: number; readonly milestones: readonly number[] }
  | { readonly kind: 'cosine'; readonly value: number; readonly warmup: number; readonly min: number };

/**
 * Validates a schedule spec without making the schedule: unknown keys are `UNKNOWN_OPTION` (per kind),
 * bad values `INVALID_OPTION`. {@link schedule} runs it first; recipes run it to fail before anything is
 * built. Returns the spec's values with defaults filled in.
 */
export function checkScheduleSpec(spec: ScheduleSpec, options: ScheduleOptions = {}): ResolvedSchedule {
  const name = options.name ?? 'schedule';
  if (spec === null || typeof spec !== 'object' || Array.isArray(spec)) throw invalid('INVALID_OPTION', `${name} to be a schedule spec { kind, ... }`, name, spec);
  checkSpec(name, spec, SCHEDULE_SPEC_KEYS);
  const base = checkFinite(`${name} base`, options.base ?? 1);
  switch (spec.kind) {
    case 'switch': {
      const epoch = checkInteger(`${name}.epoch`, spec.epoch);
      const before = checkFinite(`${name}.before`, spec.before);
      const after = checkFinite(`${name}.after`, spec.after);
      return { kind: 'switch', epoch, before, after };
    }
    case 'linear': {
      const start = checkFinite(`${name}.startEpoch`, spec.startEpoch);
      const end = checkFinite(`${name}.endEpoch`, spec.endEpoch);
      if (!(end > start)) throw invalid('INVALID_OPTION', `${name}.endEpoch > ${name}.startEpoch`, `${name}.endEpoch`, end);
      const from = checkFinite(`${name}.from`, spec.from);
      const to = checkFinite(`${name}.to`, spec.to);
      return { kind: 'linear', start, end, from, to };
    }
    case 'constant':
    case 'step':
    case 'cosine': {
      const value = spec.value === undefined ? base : checkFinite('value', spec.value);
      const warmup = checkNonNegative('warmupEpochs', spec.warmupEpochs ?? 0);
      if (spec.kind === 'constant') return { kind: 'constant', value, warmup };
      if (spec.kind === 'step') {
        const gamma = checkPositive('gamma', spec.gamma ?? 0.1);
        if (!Array.isArray(spec.milestones)) throw invalid('INVALID_OPTION', 'milestones to be an array of epochs', 'milestones', spec.milestones);
        const milestones = spec.milestones.map((m, i) => checkInteger(`milestones[${i}]`, m));
        return { kind: 'step', value, warmup, gamma, milestones };
      }
      if (spec.minValue !== undefined && spec.minLearningRate !== undefined) {
        throw invalid('INVALID_OPTION', 'one of minValue and minLearningRate', 'minLearningRate', spec.minLearningRate);
      }
      const min = checkNonNegative(spec.minLearningRate === undefined ? 'minValue' : 'minLearningRate', spec.minValue ?? spec.minLearningRate ?? 0);
      return { kind: 'cosine', value, warmup, min };
    }
    default:
      throw invalid('INVALID_OPTION', `${name}.kind to be one of "constant", "step", "cosine", "switch", "linear"`, `${name}.kind`, (spec as { kind: unknown }).kind);
  }
}

/**
 * Validates a spec ({@link checkScheduleSpec}) and returns its schedule. Unknown keys are
 * `UNKNOWN_OPTION` (per kind), bad values `INVALID_OPTION`, all before anything runs.
 *
 * @example
 * ```ts
 * const lr = schedule({ kind: 'cosine', warmupEpochs: 1 }, { base: 0.1 });        // a learning rate
 * const w = schedule({ kind: 'linear', startEpoch: 0, endEpoch: 10, from: 0, to: 1 }); // a loss weight
 * w({ epoch: 5, epochFloat: 5, step: 0, totalEpochs: 20 }); // 0.5
 * ```
 */
export function schedule(spec: ScheduleSpec, options: ScheduleOptions = {}): Schedule {
  const r = checkScheduleSpec(spec, options);
  switch (r.kind) {
    case 'switch':
      return (p) => (p.epoch < r.epoch ? r.before : r.after);
    case 'linear':
      return (p) => r.from + (r.to - r.from) * Math.min(1, Math.max(0, (p.epochFloat - r.start) / (r.end - r.start)));
    default: {
      const { value, warmup } = r;
      const warm = (p: Progress, v: number): number => (warmup > 0 && p.epochFloat < warmup ? (v * p.epochFloat) / warmup : v);
      if (r.kind === 'constant') return (p) => warm(p, value);
      if (r.kind === 'step') return (p) => warm(p, value * Math.pow(r.gamma, r.milestones.filter((m) => p.epoch >= m).length));
      const min = r.min;
      return (p) => {
        const span = Math.max(1e-12, p.totalEpochs - warmup);
        const t = Math.min(1, Math.max(0, (p.epochFloat - warmup) / span));
        return warm(p, min + (value - min) * 0.5 * (1 + Math.cos(Math.PI * t)));
      };
    }
  }
}
