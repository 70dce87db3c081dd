/**
 * The synthetic pool: when a synthesis round is due, the synthesizer observes real features (latent:
 * eval-mode embeddings or the inputs; input space: the inputs flattened) and draws the top-up request;
 * the draws become the pool (latent features, or samples of the inputs' shape) and the round's report.
 */
import * as tf from '@tensorflow/tfjs';
import type { Rng } from '../core/rng.js';
import { checkSameSize } from '../core/validate.js';
import type { LabeledData } from '../data/types.js';
import type { Model } from '../models/types.js';
import { topUpRequest } from '../synth/top-up.js';
import type { SynthesisConfig, SynthesisRound } from './config.js';

/**
 * The synthetic pool: latent features [n, featureDim] that skip the backbone, or input-space samples
 * [n, ...inputShape] that go through it like real rows (flagged synthetic).
 */
export interface SyntheticPool {
  readonly features: tf.Tensor;
  readonly labels: Int32Array;
  readonly space: 'latent' | 'input';
}

/** A round is due at `startEpoch`, then every `refreshEvery` epochs (never twice in one epoch). */
export function poolDue(syn: SynthesisConfig, at: { readonly epoch: number; readonly hasPool: boolean; readonly poolEpoch: number }): boolean {
  const start = syn.startEpoch ?? 0;
  if (at.epoch < start) return false;
  const every = syn.refreshEvery ?? 0;
  return !at.hasPool || (every > 0 && (at.epoch - start) % every === 0 && at.poolEpoch !== at.epoch);
}

/** What a round needs from the trainer. */
export interface PoolRound {
  readonly model: Model;
  readonly data: LabeledData;
  readonly epoch: number;
  /** True when a pool exists: the synthesizer is reset before it observes afresh. */
  readonly refresh: boolean;
  readonly rng: Rng;
  /** Eval-mode embeddings of the inputs, in batches. */
  readonly embed: (x: tf.Tensor) => tf.Tensor2D;
}

/** Observes, requests the top-up and draws one pool; the caller owns `pool.features`. */
export function drawPool(syn: SynthesisConfig, r: PoolRound): { readonly pool: SyntheticPool; readonly round: SynthesisRound } {
  const { data, model, epoch } = r;
  const space = syn.space ?? 'latent';
  // A refresh re-observes features of the current model: earlier statistics must not accumulate.
  if (r.refresh) syn.synthesizer.reset?.();
  const n = data.y.length;
  const features = space === 'input' ? (tf.reshape(data.x, [n, -1]) as tf.Tensor2D) : syn.source === 'inputs' ? (data.x as tf.Tensor2D) : r.embed(data.x);
  try {
    if (space === 'latent') checkSameSize('synthesis features width = model.featureDim', model.featureDim, 'features.shape[1]', features.shape[1] ?? -1);
    const labels = tf.tensor1d(data.y, 'int32');
    try {
      syn.synthesizer.observe({ features, labels });
    } finally {
      labels.dispose();
    }
  } finally {
    if (features !== data.x) features.dispose();
  }
  const perClass = topUpRequest(syn.synthesizer.observedCounts(), syn.topUp ?? { kind: 'toMax' });
  const head = (f: tf.Tensor2D): tf.Tensor2D => model.head(f);
  const drawn = syn.synthesizer.sample({ perClass, ...(space === 'latent' ? { head } : {}), epoch }, r.rng);
  let labels: Int32Array;
  try {
    labels = Int32Array.from(drawn.labels.dataSync());
  } catch (e) {
    drawn.features.dispose();
    throw e;
  } finally {
    drawn.labels.dispose();
  }
  let pooled: tf.Tensor = drawn.features;
  if (space === 'input') {
    pooled = tf.reshape(drawn.features, [labels.length, ...data.x.shape.slice(1)]);
    drawn.features.dispose();
  }
  const accepted = new Array<number>(perClass.length).fill(0);
  for (const y of labels) accepted[y] = (accepted[y] ?? 0) + 1;
  const report = syn.synthesizer.lastReport;
  const round: SynthesisRound = { epoch, space, requested: Array.from(perClass), accepted, ...(Array.isArray(report) ? { report: report.map((e) => ({ ...e })) } : {}) };
  return { pool: { features: pooled, labels, space }, round };
}

/** A deep copy of a round. */
export function copyRound(r: SynthesisRound): SynthesisRound {
  return { epoch: r.epoch, space: r.space, requested: [...r.requested], accepted: [...r.accepted], ...(r.report === undefined ? {} : { report: r.report.map((e) => ({ ...e })) }) };
}
