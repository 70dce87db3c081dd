/**
 * Input checks shared by the loss kernels. They run before any tensor is made: shapes and dtypes are
 * read from tensor metadata; label values need one `dataSync()` of the (small) label tensor, skipped
 * when the caller passes `validate: false`.
 */
import type * as tf from '@tensorflow/tfjs';
import { invalid, LongTailError } from '../core/errors.js';
import { checkClassCounts, checkLabels, checkRank, checkSameSize } from '../core/validate.js';

/** Option shared by every kernel: skip the label-value check (one `dataSync`) in hot loops. */
export interface ValidateOption {
  /**
   * Check label values (integer, in range) with one synchronous read of `labels`. Shapes and dtypes are
   * always checked (they cost nothing). Set to `false` in hot loops once inputs are known to be good
   * (torchmetrics' `validate_args`).
   * @defaultValue true
   */
  readonly validate?: boolean;
  /**
   * Host copy of the labels: when given, label checks (and CPU-side masks) read it instead of the tensor,
   * so no `dataSync` happens inside a gradient tape. The trainer and `evaluateLoss` always pass it.
   */
  readonly labelValues?: Int32Array;
}

/** `t` has dtype int32; float labels are rejected rather than silently truncated. */
export function checkInt32(name: string, t: tf.Tensor): void {
  if (t.dtype !== 'int32') {
    throw new LongTailError(
      'DTYPE_MISMATCH',
      `expected ${name} of dtype int32 (e.g. tf.tensor1d(values, 'int32')). Received: ${name}.dtype=${t.dtype}`,
      { name, dtype: t.dtype },
    );
  }
}

/** `t` has dtype float32. */
export function checkFloat32(name: string, t: tf.Tensor): void {
  if (t.dtype !== 'float32') {
    throw new LongTailError('DTYPE_MISMATCH', `expected ${name} of dtype float32. Received: ${name}.dtype=${t.dtype}`, {
      name,
      dtype: t.dtype,
    });
  }
}

/** `value` is a tensor (a common mistake is passing a plain array). */
export function checkTensor(name: string, value: unknown): asserts value is tf.Tensor {
  const ok =
    value !== null &&
    typeof value === 'object' &&
    Array.isArray((value as { shape?: unknown }).shape) &&
    typeof (value as { dtype?: unknown }).dtype === 'string';
  if (!ok) throw new LongTailError('MISSING_INPUT', `expected ${name} to be a tf.Tensor. Received: ${name}=${String(value)}`, { name });
  if ((value as tf.Tensor).isDisposed) {
    throw new LongTailError('DISPOSED', `expected a live tensor ${name}. Received: ${name} after dispose()`, { name });
  }
}

/**
 * Label values are integers in `[0, numClasses)`: reads `values` when given (it must match `labels` in
 * length), else `labels` synchronously.
 */
export function checkLabelValues(labels: tf.Tensor, numClasses: number, name = 'labels', values?: Int32Array): void {
  if (values !== undefined) {
    checkSameSize(`${name}Values.length equal to ${name}.shape[0]`, labels.shape[0] as number, `${name}Values.length`, values.length);
    checkLabels(name, values, numClasses);
    return;
  }
  checkLabels(name, labels.dataSync() as Int32Array, numClasses);
}

/**
 * Logits [N, C] float32, labels [N] int32 with values in range (unless `validate` is false), optional
 * soft targets [N, C]; labels may be absent when targets are given (`MISSING_INPUT` when both are).
 * Returns `{ n, numClasses }`.
 */
export function checkClassification(
  logits: tf.Tensor,
  labels: tf.Tensor | undefined,
  options: { readonly targets?: tf.Tensor | undefined; readonly validate?: boolean | undefined; readonly labelValues?: Int32Array | undefined },
): { n: number; numClasses: number } {
  checkTensor('logits', logits);
  if (labels === undefined && options.targets === undefined) {
    throw new LongTailError('MISSING_INPUT', 'expected labels (int32 [N]) or soft targets ([N, C]). Received: labels=undefined', { name: 'labels' });
  }
  if (labels !== undefined) checkTensor('labels', labels);
  checkRank('logits', logits.shape, 2);
  if (labels !== undefined) checkRank('labels', labels.shape, 1);
  checkFloat32('logits', logits);
  if (labels !== undefined) checkInt32('labels', labels);
  const n = logits.shape[0] as number;
  const numClasses = logits.shape[1] as number;
  if (labels !== undefined) checkSameSize('labels.shape[0] equal to logits.shape[0]', n, 'labels.shape[0]', labels.shape[0] as number);
  if (numClasses < 1) throw invalid('SHAPE_MISMATCH', 'logits with at least one class', 'logits.shape[1]', numClasses);
  const targets = options.targets;
  if (targets !== undefined) {
    checkTensor('targets', targets);
    checkFloat32('targets', targets);
    if (targets.shape.length !== 2 || targets.shape[0] !== n || targets.shape[1] !== numClasses) {
      throw new LongTailError(
        'SHAPE_MISMATCH',
        `expected targets.shape = [${n}, ${numClasses}] (the logits shape). Received: targets.shape=[${targets.shape.join(', ')}]`,
        { name: 'targets', shape: [...targets.shape] },
      );
    }
  }
  if (labels !== undefined && options.validate !== false) checkLabelValues(labels, numClasses, 'labels', options.labelValues);
  return { n, numClasses };
}

/**
 * The labels a loss needs, or `MISSING_INPUT` naming the loss (labels are optional in `LossInputs`
 * only for label-free losses).
 */
export function requireLabels(labels: tf.Tensor1D | undefined, owner: string): tf.Tensor1D {
  if (labels === undefined) {
    throw new LongTailError('MISSING_INPUT', `expected labels (int32 [N]) for ${owner}. Received: labels=undefined`, { name: 'labels' });
  }
  return labels;
}

/** Class counts as a plain array matching the number of classes. */
export function checkCountsFor(name: string, counts: ArrayLike<number>, numClasses: number): Float64Array {
  const c = checkClassCounts(name, counts);
  checkSameSize(`${name}.length equal to the number of classes`, numClasses, `${name}.length`, c.length);
  return c;
}

/** Class counts from the options, else from the context, else `MISSING_INPUT`. */
export function resolveCounts(
  fromOptions: Float64Array | undefined,
  ctx: { readonly classCounts?: ArrayLike<number> } | undefined,
  owner: string,
): ArrayLike<number> {
  if (fromOptions !== undefined) return fromOptions;
  const fromCtx = ctx?.classCounts;
  if (fromCtx === undefined) {
    throw new LongTailError(
      'MISSING_INPUT',
      `expected classCounts in the ${owner} options or in ctx.classCounts. Received: classCounts=undefined`,
      { name: 'classCounts' },
    );
  }
  return fromCtx;
}

/** A plain number array copy of counts, for JSON configs. */
export function countsToJson(counts: ArrayLike<number> | undefined): number[] | undefined {
  return counts === undefined ? undefined : Array.from(counts);
}
