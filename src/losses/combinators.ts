import * as tf from '@tensorflow/tfjs';
import { invalid, LongTailError } from '../core/errors.js';
import type { JsonObject } from '../core/json.js';
import { checkOptions, type OptionKeys } from '../core/options.js';
import { toConfig } from '../core/registry.js';
import { checkFinite, checkInteger } from '../core/validate.js';
import type { Requirement } from '../models/types.js';
import { defineLoss } from './define.js';
import { evaluateLoss } from './evaluate.js';
import type { Loss, LossContext, LossInputs, LossTerms } from './types.js';

/** Where training is, as a schedule sees it. */
export interface ScheduleInput {
  readonly step: number;
  readonly epoch: number;
  readonly totalEpochs: number;
}

/** A weight that changes during training (not serialisable: its config records `{ kind: 'function' }`). */
export type WeightSchedule = (at: ScheduleInput) => number;

/** Serialisable schedules: a jump at `epoch`, or a linear ramp between two epochs (constant outside). */
export type WeightScheduleSpec =
  | { readonly kind: 'step'; readonly epoch: number; readonly before: number; readonly after: number }
  | { readonly kind: 'linear'; readonly startEpoch: number; readonly endEpoch: number; readonly from: number; readonly to: number };

/** One summand of {@link sumLosses}. */
export interface LossPart<R extends Requirement> {
  readonly loss: Loss<R>;
  /** A number, a serialisable schedule spec, or a schedule function. @defaultValue 1 */
  readonly weight?: number | WeightScheduleSpec | WeightSchedule;
  /** Term name for logging. @defaultValue the loss kind, suffixed with its index when repeated */
  readonly name?: string;
}

type StepSpec = Extract<WeightScheduleSpec, { kind: 'step' }>;
type LinearSpec = Extract<WeightScheduleSpec, { kind: 'linear' }>;
const STEP_KEYS: OptionKeys<StepSpec> = { kind: true, epoch: true, before: true, after: true };
const LINEAR_KEYS: OptionKeys<LinearSpec> = { kind: true, startEpoch: true, endEpoch: true, from: true, to: true };
const PART_KEYS: OptionKeys<LossPart<Requirement>> = { loss: true, weight: true, name: true };

/** Unknown keys of a `step` / `linear` weight schedule spec (other kinds are left to the caller). */
function checkSpecKeys(spec: WeightScheduleSpec, name: string): void {
  if (spec === null || typeof spec !== 'object') return;
  if (spec.kind === 'step') checkOptions(`${name} { kind: "step" }`, spec, STEP_KEYS);
  else if (spec.kind === 'linear') checkOptions(`${name} { kind: "linear" }`, spec, LINEAR_KEYS);
}

function checkSpec(spec: WeightScheduleSpec, name: string): WeightScheduleSpec {
  checkSpecKeys(spec, name);
  if (spec.kind === 'step') {
    checkInteger(`${name}.epoch`, spec.epoch);
    checkFinite(`${name}.before`, spec.before);
    checkFinite(`${name}.after`, spec.after);
    return { kind: 'step', epoch: spec.epoch, before: spec.before, after: spec.after };
  }
  if (spec.kind === 'linear') {
    checkFinite(`${name}.startEpoch`, spec.startEpoch);
    checkFinite(`${name}.endEpoch`, spec.endEpoch);
    if (!(spec.endEpoch > spec.startEpoch)) throw invalid('INVALID_OPTION', `${name}.endEpoch > ${name}.startEpoch`, `${name}.endEpoch`, spec.endEpoch);
    checkFinite(`${name}.from`, spec.from);
    checkFinite(`${name}.to`, spec.to);
    return { kind: 'linear', startEpoch: spec.startEpoch, endEpoch: spec.endEpoch, from: spec.from, to: spec.to };
  }
  throw invalid('INVALID_OPTION', `${name} to be a number, a function or a schedule { kind: "step" | "linear" }`, name, spec);
}

/** Evaluates a schedule spec at an epoch (fractional epochs allowed for `linear`). */
export function evaluateWeightSchedule(spec: WeightScheduleSpec, epoch: number): number {
  checkSpecKeys(spec, 'weight schedule');
  if (spec.kind === 'step') return epoch < spec.epoch ? spec.before : spec.after;
  const t = Math.min(1, Math.max(0, (epoch - spec.startEpoch) / (spec.endEpoch - spec.startEpoch)));
  return spec.from + (spec.to - spec.from) * t;
}

function requireCtx(ctx: LossContext | undefined, field: 'epoch' | 'step' | 'totalEpochs'): number {
  const v = ctx?.[field];
  if (v === undefined) {
    throw new LongTailError('MISSING_INPUT', `expected ctx.${field} for a scheduled loss weight. Received: ctx.${field}=undefined`, { name: `ctx.${field}` });
  }
  return v;
}

/**
 * Weighted sum of losses: ℓ = Σ_k w_k(t) · ℓ_k, each ℓ_k reduced by its own reducer. `requires` is the
 * union of the parts'. Each part appears as one `reduced` term (named by `name` or its kind) so the
 * trainer logs them separately; the sum's own reducer is `meanReducer()`, which passes reduced terms through.
 * Schedules read `ctx` (`MISSING_INPUT` when a field they need is absent).
 *
 * @example
 * ```ts
 * const loss = sumLosses([
 *   { loss: crossEntropyLoss(), weight: 1 },
 *   { loss: supConLoss({ temperature: 0.1 }), weight: { kind: 'linear', startEpoch: 0, endEpoch: 10, from: 0, to: 1 } },
 * ]); // Loss<'logits' | 'projections'>
 * ```
 */
export function sumLosses<R extends Requirement>(parts: readonly LossPart<R>[]): Loss<R> {
  if (!Array.isArray(parts) || parts.length === 0) throw invalid('INVALID_OPTION', 'a non-empty array of { loss, weight } parts', 'parts', parts);
  const seen = new Map<string, number>();
  const prepared = parts.map((part, i) => {
    if (part === null || typeof part !== 'object' || typeof part.loss?.compute !== 'function') {
      throw invalid('INVALID_OPTION', `parts[${i}].loss to be a Loss`, `parts[${i}].loss`, part?.loss);
    }
    checkOptions(`sumLosses parts[${i}]`, part, PART_KEYS);
    const w = part.weight ?? 1;
    const weight: number | WeightScheduleSpec | WeightSchedule =
      typeof w === 'number' ? checkFinite(`parts[${i}].weight`, w) : typeof w === 'function' ? w : checkSpec(w, `parts[${i}].weight`);
    const base = part.name ?? part.loss.kind;
    const count = seen.get(base) ?? 0;
    seen.set(base, count + 1);
    return { loss: part.loss, weight, name: count === 0 ? base : `${base}${count}` };
  });
  const requires = [...new Set(prepared.flatMap((p) => p.loss.requires))];
  const config: JsonObject = {
    parts: prepared.map((p) => ({
      loss: toConfig(p.loss) as unknown as JsonObject,
      weight: typeof p.weight === 'function' ? { kind: 'function' } : (p.weight as number | JsonObject),
      name: p.name,
    })),
  };
  const weightAt = (weight: number | WeightScheduleSpec | WeightSchedule, ctx: LossContext | undefined): number => {
    if (typeof weight === 'number') return weight;
    if (typeof weight === 'function') {
      const at = { step: requireCtx(ctx, 'step'), epoch: requireCtx(ctx, 'epoch'), totalEpochs: requireCtx(ctx, 'totalEpochs') };
      return checkFinite('schedule weight', weight(at));
    }
    return evaluateWeightSchedule(weight, requireCtx(ctx, 'epoch'));
  };
  return defineLoss<R>({
    kind: 'sum',
    config,
    requires,
    terms: (inputs: LossInputs<R>): LossTerms => {
      const out: Record<string, { kind: 'reduced'; value: tf.Scalar }> = {};
      for (const p of prepared) {
        const w = weightAt(p.weight, inputs.ctx);
        // A part switched off by its schedule is not computed at all.
        out[p.name] = { kind: 'reduced', value: w === 0 ? tf.scalar(0) : tf.tidy(() => tf.mul(evaluateLoss(p.loss, inputs).total, w)) };
      }
      return out;
    },
  });
}
