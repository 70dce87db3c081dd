/** Shared helpers of the model tests. */
import * as tf from '@tensorflow/tfjs';
import golden from '../golden/models.json';

export { golden };

/** Overwrites a variable with `values` (same number of elements). */
export function setVariable(v: tf.Variable, values: ArrayLike<number>): void {
  tf.tidy(() => v.assign(tf.tensor(Array.from(values), v.shape, 'float32')));
}

/** Mean softmax cross-entropy of int labels, written inline (no dependency on src/losses). */
export function crossEntropy(logits: tf.Tensor2D, labels: tf.Tensor1D): tf.Scalar {
  return tf.tidy(() => {
    const oneHot = tf.oneHot(tf.cast(labels, 'int32'), logits.shape[1]);
    return tf.neg(tf.mean(tf.sum(tf.mul(oneHot, tf.logSoftmax(logits)), 1))) as tf.Scalar;
  });
}

/** Values of every variable, copied to plain arrays. */
export function snapshot(vars: readonly tf.Variable[]): number[][] {
  return vars.map((v) => Array.from(v.dataSync()));
}

/** Plain SGD on `vars` with the gradients of `loss`; returns the loss before the step. */
export function sgdStep(loss: () => tf.Scalar, vars: readonly tf.Variable[], lr: number): number {
  const { value, grads } = tf.variableGrads(loss, [...vars]);
  const l = value.dataSync()[0] as number;
  tf.tidy(() => {
    for (const v of vars) {
      const g = grads[v.name];
      if (g !== undefined) v.assign(tf.sub(v, tf.mul(g, lr)));
    }
  });
  value.dispose();
  tf.dispose(grads);
  return l;
}

/** Expects `fn` to throw a LongTailError with `code` and a message matching `message`. */
export function thrown(fn: () => unknown): { code: string; message: string } {
  try {
    fn();
  } catch (e) {
    const err = e as { code?: string; message: string; name?: string };
    return { code: `${err.name}:${err.code}`, message: err.message };
  }
  return { code: 'none', message: 'did not throw' };
}

/** Σ|t| as a number (no tensor left behind). */
export function sumAbs(t: tf.Tensor): number {
  const s = tf.tidy(() => tf.sum(tf.abs(t)));
  const v = s.dataSync()[0] as number;
  s.dispose();
  return v;
}
