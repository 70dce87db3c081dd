/**
 * Registries of the library's losses and reducers: `lossRegistry.fromConfig(toConfig(loss))` rebuilds an
 * equal loss. Users register their own kinds with `lossRegistry.register(kind, factory)`.
 */
import { invalid } from '../core/errors.js';
import type { Json, JsonObject } from '../core/json.js';
import { Registry, type SerializedComponent } from '../core/registry.js';
import { balancedSoftmaxLoss, crossEntropyLoss, focalLoss, ldamLoss, logitAdjustedLoss, neighborSilencingLoss, type FocalClassWeights } from './classification.js';
import { sumLosses, type LossPart, type WeightScheduleSpec } from './combinators.js';
import { supConLoss, type ContrastiveFeatures, type NoPositivePolicy, type SupConMode } from './contrastive.js';
import { meanReducer, sumReducer } from './reducers/basic.js';
import { classWeighted } from './reducers/classWeighted.js';
import type { Loss, Reducer } from './types.js';
import type { Requirement } from '../models/types.js';

/** Reducers by kind: `mean`, `sum`, `classWeighted`. */
export const reducerRegistry = new Registry<Reducer>('reducer')
  .register('mean', () => meanReducer())
  .register('sum', () => sumReducer())
  .register('classWeighted', (c) =>
    classWeighted({
      ...(c['beta'] === undefined ? {} : { beta: c['beta'] as number }),
      ...(c['startEpoch'] === undefined ? {} : { startEpoch: c['startEpoch'] as number }),
      ...(c['classCounts'] === undefined ? {} : { classCounts: c['classCounts'] as number[] }),
    }),
  );

/** The reducer stored under `config.reducer` by `defineLoss` (mean when absent). */
export function reducerFromConfig(config: JsonObject): { reducer?: Reducer } {
  const r = config['reducer'];
  if (r === undefined || r === null) return {};
  return { reducer: reducerRegistry.fromConfig(r as unknown as SerializedComponent) };
}

/** Copies the listed keys that are present (JSON values are passed to the factory, which validates them). */
function pick(config: JsonObject, keys: readonly string[]): Record<string, Json> {
  const out: Record<string, Json> = {};
  for (const k of keys) if (config[k] !== undefined) out[k] = config[k] as Json;
  return out;
}

/** Losses by kind: crossEntropy, logitAdjusted, balancedSoftmax, ldam, focal, supCon, neighborSilencing, sum. */
export const lossRegistry: Registry<Loss> = new Registry<Loss>('loss');

lossRegistry
  .register('crossEntropy', (c) => crossEntropyLoss({ ...pick(c, ['labelSmoothing', 'validate']), ...reducerFromConfig(c) }))
  .register('logitAdjusted', (c) =>
    logitAdjustedLoss({ ...pick(c, ['tau', 'labelSmoothing', 'validate']), ...countsFrom(c), ...reducerFromConfig(c) }),
  )
  .register('balancedSoftmax', (c) => balancedSoftmaxLoss({ ...pick(c, ['labelSmoothing', 'validate']), ...countsFrom(c), ...reducerFromConfig(c) }))
  .register('ldam', (c) => ldamLoss({ ...pick(c, ['maxMargin', 'scale', 'validate']), ...countsFrom(c), ...reducerFromConfig(c) }))
  .register('focal', (c) =>
    focalLoss({
      ...pick(c, ['gamma', 'validate']),
      ...(c['classWeights'] === undefined ? {} : { classWeights: c['classWeights'] as FocalClassWeights }),
      ...countsFrom(c),
      ...reducerFromConfig(c),
    }),
  )
  .register('supCon', (c) =>
    supConLoss({
      ...pick(c, ['temperature', 'baseTemperature', 'validate']),
      ...(c['mode'] === undefined ? {} : { mode: c['mode'] as SupConMode }),
      ...(c['features'] === undefined ? {} : { features: c['features'] as ContrastiveFeatures }),
      ...(c['noPositive'] === undefined ? {} : { noPositive: c['noPositive'] as NoPositivePolicy }),
      ...reducerFromConfig(c),
    }),
  )
  .register('neighborSilencing', (c) =>
    neighborSilencingLoss({
      mask: (c['mask'] ?? []) as boolean[][],
      ...pick(c, ['tau', 'labelSmoothing', 'validate']),
      ...countsFrom(c),
      ...reducerFromConfig(c),
    }),
  )
  .register('sum', (c) => {
    const parts = c['parts'];
    if (!Array.isArray(parts)) throw invalid('INVALID_OPTION', 'config.parts to be an array', 'config.parts', parts);
    return sumLosses(
      parts.map((p, i): LossPart<Requirement> => {
        const part = p as JsonObject;
        const weight = part['weight'];
        if (weight !== null && typeof weight === 'object' && (weight as JsonObject)['kind'] === 'function') {
          throw invalid('INVALID_OPTION', `parts[${i}].weight to be serialisable (a schedule function cannot be rebuilt from config)`, `parts[${i}].weight`, weight);
        }
        return {
          loss: lossRegistry.fromConfig(part['loss'] as unknown as SerializedComponent),
          ...(weight === undefined ? {} : { weight: weight as number | WeightScheduleSpec }),
          ...(typeof part['name'] === 'string' ? { name: part['name'] } : {}),
        };
      }),
    );
  });

function countsFrom(c: JsonObject): { classCounts?: number[] } {
  return c['classCounts'] === undefined ? {} : { classCounts: c['classCounts'] as number[] };
}
