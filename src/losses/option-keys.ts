/**
 * The option keys of the loss objects, which are also the keys of their `config` (internal: the registry
 * checks a config's keys with them before it calls the factory).
 */
import type { OptionKeys } from '../core/options.js';
import type { BalancedSoftmaxLossOptions, CrossEntropyLossOptions, FocalLossOptions, LdamLossOptions, LogitAdjustedLossOptions, LossObjectOptions, NeighborSilencingLossOptions } from './classification.js';
import type { SupConLossOptions } from './contrastive.js';
import type { BclLossOptions, PacoLossOptions } from './centre-contrastive.js';
import type { LadeLossOptions } from './lade.js';

const OBJECT_KEYS: OptionKeys<LossObjectOptions> = { reducer: true, validate: true };

export const CROSS_ENTROPY_LOSS_KEYS: OptionKeys<CrossEntropyLossOptions> = { ...OBJECT_KEYS, labelSmoothing: true };
export const LOGIT_ADJUSTED_LOSS_KEYS: OptionKeys<LogitAdjustedLossOptions> = { ...OBJECT_KEYS, classCounts: true, tau: true, labelSmoothing: true };
export const BALANCED_SOFTMAX_LOSS_KEYS: OptionKeys<BalancedSoftmaxLossOptions> = { ...OBJECT_KEYS, classCounts: true, labelSmoothing: true };
export const LDAM_LOSS_KEYS: OptionKeys<LdamLossOptions> = { ...OBJECT_KEYS, classCounts: true, maxMargin: true, scale: true };
export const FOCAL_LOSS_KEYS: OptionKeys<FocalLossOptions> = { ...OBJECT_KEYS, gamma: true, classWeights: true, classCounts: true };
export const NEIGHBOR_SILENCING_LOSS_KEYS: OptionKeys<NeighborSilencingLossOptions> = { ...OBJECT_KEYS, mask: true, classCounts: true, tau: true, labelSmoothing: true };
export const SUPCON_LOSS_KEYS: OptionKeys<SupConLossOptions> = { ...OBJECT_KEYS, temperature: true, baseTemperature: true, mode: true, features: true, noPositive: true };
export const BCL_LOSS_KEYS: OptionKeys<BclLossOptions> = { ...OBJECT_KEYS, temperature: true, centres: true, classAveraging: true, features: true, noPositive: true };
export const PACO_LOSS_KEYS: OptionKeys<PacoLossOptions> = {
  ...OBJECT_KEYS,
  alpha: true,
  beta: true,
  gamma: true,
  temperature: true,
  baseTemperature: true,
  logitTemperature: true,
  logitAdjusted: true,
  classCounts: true,
  labelSmoothing: true,
  features: true,
};
export const LADE_LOSS_KEYS: OptionKeys<LadeLossOptions> = { ...OBJECT_KEYS, classCounts: true, alpha: true, remineLambda: true };
