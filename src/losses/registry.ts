/**
 * Registries of the library's losses and reducers: `lossRegistry.fromConfig(toConfig(loss))` rebuilds an
 * equal loss. Users register their own kinds with `lossRegistry.register(kind, factory)`.
 */
import { invalid } from '../core/errors.js';
import type { Json, JsonObject } from '../core/json.js';
import { checkOptions, type OptionKeys } from '../core/options.js';
import { Registry, type SerializedComponent } from '../core/registry.js';
import { balancedSoftmaxLoss, crossEntropyLoss, focalLoss, ldamLoss, logitAdjustedLoss, neighborSilencingLoss, type FocalClassWeights } from './classification.js';
import { sumLosses, type LossPart, type WeightScheduleSpec } from './combinators.js';
import { supConLoss, type ContrastiveFeatures, type NoPositivePolicy, type SupConMode } from './contrastive.js';
import { bclLoss, pacoLoss } from './centre-contrastive.js';
import { meanReducer, sumReducer } from './reducers/basic.js';
import { CLASS_WEIGHTED_KEYS, classWeighted } from './reducers/classWeighted.js';
import { GENERALIZED_REWEIGHTING_KEYS, generalizedReweighting } from './reducers/generalizedReweighting.js';
import { ladeLoss } from './lade.js';
import {
  BALANCED_SOFTMAX_LOSS_KEYS,
  BCL_LOSS_KEYS,
  PACO_LOSS_KEYS,
  CROSS_ENTROPY_LOSS_KEYS,
  FOCAL_LOSS_KEYS,
  LADE_LOSS_KEYS,
  LDAM_LOSS_KEYS,
  LOGIT_ADJUSTED_LOSS_KEYS,
  NEIGHBOR_SILENCING_LOSS_KEYS,
  SUPCON_LOSS_KEYS,
} from './option-keys.js';
import type { Loss, Reducer } from './types.js';
import type { Requirement } from '../models/types.js';

const NO_KEYS: OptionKeys<Record<never, never>> = {};

/**
 * A registered component's JSON config may hold only the keys of its options (it is user input too):
 * `UNKNOWN_OPTION` otherwise, named `loss { kind: "focal" } config`. Returns an empty object to spread.
 */
function checkConfig(family: string, kind: string, config: JsonObject, keys: object): Record<string, never> {
  checkOptions(`${family} { kind: "${kind}" } config`, config, keys as OptionKeys<JsonObject>);
  return {};
}

/** Reducers by kind: `mean`, `sum`, `classWeighted`, `generalizedReweighting`. */
export const reducerRegistry = new Registry<Reducer>('reducer')
  .register('mean', (c) => (checkOptions('reducer { kind: "mean" } config', c, NO_KEYS), meanReducer()))
  .register('sum', (c) => (checkOptions('reducer { kind: "sum" } config', c, NO_KEYS), sumReducer()))
  .register('classWeighted', (c) =>
    classWeighted({
      ...checkConfig('reducer', 'classWeighted', c, CLASS_WEIGHTED_KEYS),
      ...(c['beta'] === undefined ? {} : { beta: c['beta'] as number }),
      ...(c['startEpoch'] === undefined ? {} : { startEpoch: c['startEpoch'] as number }),
      ...(c['classCounts'] === undefined ? {} : { classCounts: c['classCounts'] as number[] }),
    }),
  )
  .register('generalizedReweighting', (c) =>
    generalizedReweighting({
      ...checkConfig('reducer', 'generalizedReweighting', c, GENERALIZED_REWEIGHTING_KEYS),
      rho: c['rho'] as number,
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

/** Losses by kind: crossEntropy, logitAdjusted, balancedSoftmax, ldam, focal, supCon, bcl, paco, neighborSilencing, lade, sum. */
export const lossRegistry: Registry<Loss> = new Registry<Loss>('loss');

lossRegistry
  .register('crossEntropy', (c) => crossEntropyLoss({ ...checkConfig('loss', 'crossEntropy', c, CROSS_ENTROPY_LOSS_KEYS), ...pick(c, ['labelSmoothing', 'validate']), ...reducerFromConfig(c) }))
  .register('logitAdjusted', (c) =>
    logitAdjustedLoss({ ...checkConfig('loss', 'logitAdjusted', c, LOGIT_ADJUSTED_LOSS_KEYS), ...pick(c, ['tau', 'labelSmoothing', 'validate']), ...countsFrom(c), ...reducerFromConfig(c) }),
  )
  .register('balancedSoftmax', (c) => balancedSoftmaxLoss({ ...checkConfig('loss', 'balancedSoftmax', c, BALANCED_SOFTMAX_LOSS_KEYS), ...pick(c, ['labelSmoothing', 'validate']), ...countsFrom(c), ...reducerFromConfig(c) }))
  .register('ldam', (c) => ldamLoss({ ...checkConfig('loss', 'ldam', c, LDAM_LOSS_KEYS), ...pick(c, ['maxMargin', 'scale', 'validate']), ...countsFrom(c), ...reducerFromConfig(c) }))
  .register('focal', (c) =>
    focalLoss({
      ...checkConfig('loss', 'focal', c, FOCAL_LOSS_KEYS),
      ...pick(c, ['gamma', 'validate']),
      ...(c['classWeights'] === undefined ? {} : { classWeights: c['classWeights'] as FocalClassWeights }),
      ...countsFrom(c),
      ...reducerFromConfig(c),
    }),
  )
  .register('supCon', (c) =>
    supConLoss({
      ...checkConfig('loss', 'supCon', c, SUPCON_LOSS_KEYS),
      ...pick(c, ['temperature', 'baseTemperature', 'validate']),
      ...(c['mode'] === undefined ? {} : { mode: c['mode'] as SupConMode }),
      ...(c['features'] === undefined ? {} : { features: c['features'] as ContrastiveFeatures }),
      ...(c['noPositive'] === undefined ? {} : { noPositive: c['noPositive'] as NoPositivePolicy }),
      ...reducerFromConfig(c),
    }),
  )
  .register('bcl', (c) => {
    checkConfig('loss', 'bcl', c, BCL_LOSS_KEYS);
    // A centres tensor or provider is not JSON (as sauContrastiveLoss's prototypes): only the centre-free
    // loss can be rebuilt; the caller passes its centres to bclLoss with the rest of the config.
    if (c['centres'] !== undefined && c['centres'] !== null) {
      throw invalid('INVALID_OPTION', 'config.centres to be null (a centres tensor or function cannot be rebuilt from config: call bclLoss({ ...config, centres }))', 'config.centres', c['centres']);
    }
    return bclLoss({
      ...pick(c, ['temperature', 'classAveraging', 'validate']),
      ...(c['features'] === undefined ? {} : { features: c['features'] as ContrastiveFeatures }),
      ...(c['noPositive'] === undefined ? {} : { noPositive: c['noPositive'] as NoPositivePolicy }),
      ...reducerFromConfig(c),
    });
  })
  .register('paco', (c) =>
    pacoLoss({
      ...checkConfig('loss', 'paco', c, PACO_LOSS_KEYS),
      ...pick(c, ['alpha', 'beta', 'gamma', 'temperature', 'baseTemperature', 'logitTemperature', 'logitAdjusted', 'labelSmoothing', 'validate']),
      ...(c['features'] === undefined ? {} : { features: c['features'] as ContrastiveFeatures }),
      ...countsFrom(c),
      ...reducerFromConfig(c),
    }),
  )
  .register('neighborSilencing', (c) =>
    neighborSilencingLoss({
      ...checkConfig('loss', 'neighborSilencing', c, NEIGHBOR_SILENCING_LOSS_KEYS),
      mask: (c['mask'] ?? []) as boolean[][],
      ...pick(c, ['tau', 'labelSmoothing', 'validate']),
      ...countsFrom(c),
      ...reducerFromConfig(c),
    }),
  )
  .register('lade', (c) =>
    ladeLoss({ ...checkConfig('loss', 'lade', c, LADE_LOSS_KEYS), ...pick(c, ['alpha', 'remineLambda', 'validate']), ...countsFrom(c), ...reducerFromConfig(c) }),
  )
  .register('sum', (c) => {
    checkConfig('loss', 'sum', c, SUM_KEYS);
    const parts = c['parts'];
    if (!Array.isArray(parts)) throw invalid('INVALID_OPTION', 'config.parts to be an array', 'config.parts', parts);
    return sumLosses(
      parts.map((p, i): LossPart<Requirement> => {
        const part = p as JsonObject;
        checkOptions(`loss { kind: "sum" } config.parts[${i}]`, part, PART_KEYS);
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

// `reducer` is recorded by defineLoss (always mean for a sum) and ignored when rebuilding.
const SUM_KEYS: OptionKeys<{ parts: unknown; reducer: unknown }> = { parts: true, reducer: true };
const PART_KEYS: OptionKeys<{ loss: unknown; weight: unknown; name: unknown }> = { loss: true, weight: true, name: true };

function countsFrom(c: JsonObject): { classCounts?: number[] } {
  return c['classCounts'] === undefined ? {} : { classCounts: c['classCounts'] as number[] };
}
