/**
 * The one way a loss is evaluated. `Loss.compute`, `sumLosses` and the trainer's step all call
 * {@link evaluateLoss}, so a loss gives the same value wherever it is used.
 */
import * as tf from '@tensorflow/tfjs';
import { LongTailError } from '../core/errors.js';
import type { Requirement } from '../models/types.js';
import type { Loss, LossContext, LossEvaluation, LossInputs, LossTerm, ReducibleTerm } from './types.js';
import { checkTensor } from './validation.js';

/**
 * Evaluates a loss: its terms, each `perSample` term reduced by the loss's reducer and each `reduced` term
 * taken as it is, and their sum:
 *   total = Σ_k reduce(term_k).
 * The loss's own class counts (`loss.classCounts`) replace `ctx.classCounts` for the terms and the
 * reducer. Labels reach the kernels and reducers as host integers too (`labelValues`, read once here
 * when the caller did not pass them), so nothing downstream reads them back.
 *
 * Runs in `tf.tidy`; the caller owns `total` and every entry of `terms`; the inputs are not disposed.
 *
 * @throws LongTailError `MISSING_INPUT` when the loss returns no term, or what the loss's kernels throw.
 * @example
 * ```ts
 * const { total, terms } = evaluateLoss(sumLosses([{ loss: crossEntropyLoss() }, { loss: supConLoss(), weight: 0.5 }]), inputs);
 * ```
 */
export function evaluateLoss<R extends Requirement>(loss: Loss<R>, inputs: LossInputs<R>): LossEvaluation {
  const resolved = withLossContext(loss, inputs);
  return tf.tidy(() => {
    const terms = loss.terms(resolved);
    const names = Object.keys(terms);
    if (names.length === 0) throw new LongTailError('MISSING_INPUT', `expected loss ${loss.kind} to return at least one term. Received: terms={}`);
    const reduced: Record<string, tf.Scalar> = {};
    const counts: Record<string, tf.Scalar> = {};
    let total: tf.Scalar | null = null;
    let summed = 0;
    for (const name of names) {
      const term = terms[name] as LossTerm;
      if (term.kind === 'count') {
        counts[name] = tf.clone(term.value);
        continue;
      }
      const value = reduceTerm(loss, term, resolved);
      reduced[name] = value;
      summed += 1;
      total = total === null ? value : (tf.add(total, value) as tf.Scalar);
    }
    if (total === null) throw new LongTailError('MISSING_INPUT', `expected loss ${loss.kind} to return at least one loss term besides counts. Received: terms=[${names.join(', ')}]`);
    // A single term is also the total; give the caller two handles it can dispose independently.
    return { total: summed === 1 ? tf.clone(total) : total, terms: reduced, counts };
  });
}

/** The inputs as the loss's terms and reducer see them: its own counts in `ctx`, host label values. */
function withLossContext<R extends Requirement>(loss: Loss<R>, inputs: LossInputs<R>): LossInputs<R> {
  const counts = loss.classCounts;
  const ctx: LossContext | undefined = counts === undefined ? inputs.ctx : { ...inputs.ctx, classCounts: counts };
  let labelValues = inputs.labelValues;
  if (labelValues === undefined && inputs.labels !== undefined) {
    checkTensor('labels', inputs.labels);
    labelValues = Int32Array.from(inputs.labels.dataSync());
  } else if (labelValues !== undefined && inputs.labels !== undefined && labelValues.length !== inputs.labels.shape[0]) {
    throw new LongTailError(
      'SHAPE_MISMATCH',
      `expected labelValues.length = ${inputs.labels.shape[0]} (labels.shape[0]). Received: labelValues.length=${labelValues.length}`,
      { name: 'labelValues' },
    );
  }
  return {
    ...inputs,
    ...(ctx === undefined ? {} : { ctx }),
    ...(labelValues === undefined ? {} : { labelValues }),
  };
}

function reduceTerm<R extends Requirement>(loss: Loss<R>, term: ReducibleTerm, inputs: LossInputs<R>): tf.Scalar {
  if (term.kind === 'reduced') return term.value;
  return loss.reducer.reduce(term, {
    labels: inputs.labels,
    ...(inputs.labelValues === undefined ? {} : { labelValues: inputs.labelValues }),
    ...(inputs.ctx === undefined ? {} : { ctx: inputs.ctx }),
  });
}
