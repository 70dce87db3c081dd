/**
 * Batched inference of the trainer: eval-mode logits (with an optional post-hoc adjustment), embeddings
 * for synthesis, and the view-aware row encoding a loss state refreshes from. Batching itself is
 * models/encode.ts's (`encode`, `mapBatches`).
 */
import * as tf from '@tensorflow/tfjs';
import { invalid, LongTailError } from '../core/errors.js';
import type { Rng } from '../core/rng.js';
import type { LabeledData } from '../data/types.js';
import type { LossStateEncodeOptions } from '../losses/types.js';
import { encode, mapBatches } from '../models/encode.js';
import type { Model } from '../models/types.js';
import type { ViewSpec } from './config.js';
import { gatherInputRows } from './batch.js';
import type { SyntheticPool } from './pool.js';
import { computeViews, forwardFields, viewsNeeded } from './step.js';

/** Eval-mode logits of `x` in batches, each through `adjust` when given (post-hoc logit adjustment). */
export function evalLogits(model: Model, x: tf.Tensor, o: { readonly batchSize: number; readonly adjust?: (logits: tf.Tensor2D) => tf.Tensor2D }): tf.Tensor2D {
  const adjust = o.adjust;
  if (adjust === undefined) return encode(model, x, { output: 'logits', batchSize: o.batchSize });
  return mapBatches(x, (xb) => adjust(model.forward(xb, 'eval').logits), { batchSize: o.batchSize }) as tf.Tensor2D;
}

/** Eval-mode embeddings of `x` in batches (what a latent synthesizer observes). */
export function embedRows(model: Model, x: tf.Tensor, batchSize: number): tf.Tensor2D {
  if (!model.provides.includes('embeddings')) {
    throw new LongTailError('MISSING_INPUT', `expected a model that provides embeddings for synthesis. Received: provides=[${model.provides.join(', ')}]`);
  }
  return encode(model, x, { output: 'embeddings', batchSize });
}

/** Batched forward passes over rows of [data.x; input-space pool], optionally through views. */
export function encodeRows(m: { readonly model: Model; readonly views: Readonly<Record<string, ViewSpec>>; readonly batchSize: number }, data: LabeledData, inputPool: SyntheticPool | null, options: LossStateEncodeOptions, stateRng: Rng): tf.Tensor[] {
  const n = data.y.length;
  const total = n + (inputPool?.labels.length ?? 0);
  const rows = options.rows ?? Int32Array.from({ length: total }, (_, i) => i);
  const names = options.views ?? [];
  for (const name of names) {
    if (m.views[name] === undefined) throw invalid('MISSING_INPUT', `a view of the trainer's config (one of ${Object.keys(m.views).join(', ') || 'none'})`, 'encode views', name);
  }
  const order = viewsNeeded(m.views, names);
  const rng = options.rng ?? stateRng;
  const mode = options.mode ?? 'eval';
  const step = m.batchSize;
  if (rows.length === 0) throw invalid('INVALID_OPTION', 'at least one row to encode', 'rows.length', 0);
  const parts: tf.Tensor[][] = (names.length === 0 ? [''] : names).map(() => []);
  try {
    for (let start = 0; start < rows.length; start += step) {
      const chunk = rows.subarray(start, Math.min(rows.length, start + step));
      const outs = tf.tidy(() => {
        for (const r of chunk) if (!Number.isInteger(r) || r < 0 || r >= total) throw invalid('INVALID_OPTION', `encode rows in [0, ${total})`, 'rows', r);
        const x = gatherInputRows(data.x, inputPool?.features ?? null, chunk, n);
        const labels = Int32Array.from(chunk, (r) => (r < n ? (data.y[r] as number) : ((inputPool as SyntheticPool).labels[r - n] as number)));
        const made = names.length === 0 ? {} : computeViews(m.views, order, { x, labels, rng });
        return (names.length === 0 ? [x] : names.map((name) => (made[name] as { x: tf.Tensor }).x)).map((xv) => {
          const f = forwardFields(m.model, xv, mode, [options.output])[options.output];
          if (f === undefined) throw new LongTailError('MISSING_INPUT', `expected model ${m.model.kind} to provide ${options.output}. Received: provides=[${m.model.provides.join(', ')}]`);
          return f as tf.Tensor;
        });
      });
      outs.forEach((t, v) => (parts[v] as tf.Tensor[]).push(t));
    }
    return parts.map((list) => tf.tidy(() => (list.length === 1 ? (list[0] as tf.Tensor).clone() : tf.concat(list, 0))));
  } finally {
    parts.forEach((list) => list.forEach((t) => t.dispose()));
  }
}

