import * as tf from '@tensorflow/tfjs';
import { invalid, LongTailError } from '../core/errors.js';
import type { JsonObject } from '../core/json.js';
import { checkOptions, type OptionKeys } from '../core/options.js';
import { toConfig } from '../core/registry.js';
import { schedule, type Schedule, type ScheduleSpec } from '../core/schedule.js';
import { checkFinite } from '../core/validate.js';
import type { Requirement } from '../models/types.js';
import { defineLoss } from './define.js';
import { evaluateLoss } from './evaluate.js';
import type { Loss, LossContext, LossInputs, LossTerm, LossTerms } from './types.js';

/**
 * A weight that changes during training: a function of {@link Progress} (not serialisable: its config
 * records `{ kind: 'function' }`). Loss weights change at epoch boundaries: `epochFloat` is the epoch.
 */
export type WeightSchedule = Schedule;

/**
 * A serialisable loss-weight schedule: any {@link ScheduleSpec} (`value` defaults to 1), typically
 * `{ kind: 'switch', epoch, before, after }` or `{ kind: 'linear', startEpoch, endEpoch, from, to }`.
 */
export type WeightScheduleSpec = ScheduleSpec;

/** One summand of {@link sumLosses}. */
export interface LossPart<R extends Requirement> {
  readonly loss: Loss<R>;
  /** A number, a serialisable schedule spec, or a schedule function. @defaultValue 1 */
  readonly weight?: number | WeightScheduleSpec | WeightSchedule;
  /** Term name for logging. @defaultValue the loss kind, suffixed with its index when repeated */
  readonly name?: string;
}

const PART_KEYS: OptionKeys<LossPart<Requirement>> = { loss: true, weight: true, name: true };

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
    if (typeof w !== 'number' && typeof w !== 'function' && (w === null || typeof w !== 'object')) {
      throw invalid('INVALID_OPTION', `parts[${i}].weight to be a number, a function or a schedule spec { kind, ... }`, `parts[${i}].weight`, w);
    }
    const weight: number | { spec: WeightScheduleSpec; at: Schedule } | WeightSchedule =
      typeof w === 'number' ? checkFinite(`parts[${i}].weight`, w) : typeof w === 'function' ? w : { spec: w, at: schedule(w, { name: `parts[${i}].weight` }) };
    const base = part.name ?? part.loss.kind;
    const count = seen.get(base) ?? 0;
    seen.set(base, count + 1);
    return { loss: part.loss, weight, name: count === 0 ? base : `${base}${count}` };
  });
  const requires = [...new Set(prepared.flatMap((p) => p.loss.requires))];
  const config: JsonObject = {
    parts: prepared.map((p) => ({
      loss: toConfig(p.loss) as unknown as JsonObject,
      weight: typeof p.weight === 'function' ? { kind: 'function' } : typeof p.weight === 'number' ? p.weight : (p.weight.spec as unknown as JsonObject),
      name: p.name,
    })),
  };
  const weightAt = (weight: number | { spec: WeightScheduleSpec; at: Schedule } | WeightSchedule, ctx: LossContext | undefined): number => {
    if (typeof weight === 'number') return weight;
    if (typeof weight === 'function') {
      const epoch = requireCtx(ctx, 'epoch');
      return checkFinite('schedule weight', weight({ step: requireCtx(ctx, 'step'), epoch, epochFloat: epoch, totalEpochs: requireCtx(ctx, 'totalEpochs') }));
    }
    const epoch = requireCtx(ctx, 'epoch');
    const total = weight.spec.kind === 'cosine' ? requireCtx(ctx, 'totalEpochs') : (ctx?.totalEpochs ?? epoch + 1);
    return checkFinite('schedule weight', weight.at({ epoch, epochFloat: epoch, step: ctx?.step ?? 0, totalEpochs: total }));
  };
  const views: Record<string, Requirement[]> = {};
  for (const p of prepared) {
    for (const [name, needs] of Object.entries<readonly Requirement[]>(p.loss.views ?? {})) views[name] = [...new Set([...(views[name] ?? []), ...needs])];
  }
  const states = prepared.flatMap((p) => p.loss.states ?? []);
  return defineLoss<R>({
    kind: 'sum',
    config,
    requires,
    ...(Object.keys(views).length === 0 ? {} : { views }),
    ...(states.length === 0 ? {} : { states }),
    terms: (inputs: LossInputs<R>): LossTerms => {
      const out: Record<string, LossTerm> = {};
      for (const p of prepared) {
        const w = weightAt(p.weight, inputs.ctx);
        // A part switched off by its schedule is not computed at all.
        if (w === 0) {
          out[p.name] = { kind: 'reduced', value: tf.scalar(0) };
          continue;
        }
        const evaluated = evaluateLoss(p.loss, inputs);
        out[p.name] = { kind: 'reduced', value: tf.tidy(() => tf.mul(evaluated.total, w)) };
        evaluated.total.dispose();
        for (const t of Object.values(evaluated.terms)) t.dispose();
        for (const [name, count] of Object.entries(evaluated.counts)) out[name in out ? `${p.name}/${name}` : name] = { kind: 'count', value: count };
      }
      return out;
    },
  });
}
