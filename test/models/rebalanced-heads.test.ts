/**
 * The components of decoupled training (Kang et al., ICLR 2020) in models/: τ-normalised weights, logits
 * and head against naive loops, LWS against a loop (and only its scale trains), and the frozen backbone
 * (no trainable variables, eval-mode outputs in 'train' mode, batch-norm statistics unmoved).
 */
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { useBackend } from '../../src/backends/index.js';
import { seededRng } from '../../src/core/rng.js';
import { backendsUnderTest, expectClose, expectNoLeak } from '../../src/testing/index.js';
import {
  classifier,
  frozenBackbone,
  linearHead,
  lwsHead,
  mlpBackbone,
  tauNormalize,
  tauNormalizedHead,
  tauNormalizedLogits,
  type LinearHead,
} from '../../src/models/index.js';
import { setVariable, snapshot, thrown } from './helpers.js';

const D = 3;
const C = 4;
/** W [D, C] row-major, column 2 all zero (stays zero), columns of different norms. */
const W = [0.5, -1.5, 0, 2.0, 1.0, 0.25, 0, -0.5, -2.0, 0.75, 0, 1.0];
const B = [0.1, -0.2, 0.3, -0.4];
const X = [1, 2, -1, 0.5, -0.3, 2.5];
const N = 2;

/** Naive w̃[d][c] = w[d][c] / ‖w_c‖^τ (a zero column divided by 1). */
function tauNormLoop(w: number[], tau: number): number[] {
  const out = new Array<number>(w.length);
  for (let c = 0; c < C; c++) {
    let sq = 0;
    for (let d = 0; d < D; d++) sq += (w[d * C + c] as number) ** 2;
    const norm = Math.sqrt(sq);
    const div = norm > 0 ? norm ** tau : 1;
    for (let d = 0; d < D; d++) out[d * C + c] = (w[d * C + c] as number) / div;
  }
  return out;
}

/** Naive logits Σ_d x[i][d]·w[d][c] (+ b[c]). */
function logitsLoop(x: number[], w: number[], b: number[] | null): number[] {
  const out: number[] = [];
  for (let i = 0; i < N; i++) {
    for (let c = 0; c < C; c++) {
      let s = b === null ? 0 : (b[c] as number);
      for (let d = 0; d < D; d++) s += (x[i * D + d] as number) * (w[d * C + c] as number);
      out.push(s);
    }
  }
  return out;
}

function goldenHead(): LinearHead {
  const head = linearHead({ inputDim: D, numClasses: C, rng: seededRng(0) });
  setVariable(head.kernel, W);
  setVariable(head.bias as tf.Variable, B);
  return head;
}

describe.each(backendsUnderTest())('rebalanced heads (%s)', (backend) => {
  beforeAll(async () => {
    await useBackend(backend);
  });

  it('tauNormalize: w_c / ‖w_c‖^τ per column vs a loop; τ = 0 is the identity; the kernel is kept', async () => {
    const w = tf.tensor2d(W, [D, C]);
    await expectNoLeak(() => {
      for (const tau of [0, 0.5, 1, 1.7]) {
        const out = tauNormalize(w, { tau });
        expectClose(out, tauNormLoop(W, tau), { rtol: 1e-6, atol: 1e-7, name: `tau ${tau}` });
        out.dispose();
      }
    });
    expect(Array.from(w.dataSync())).toEqual(Array.from(Float32Array.from(W)));
    w.dispose();
  });

  it('tauNormalizedLogits and tauNormalizedHead: x·w̃_c (bias dropped or kept) vs a loop; the head is not changed', async () => {
    const head = goldenHead();
    const x = tf.tensor2d(X, [N, D]);
    await expectNoLeak(() => {
      const dropped = tauNormalizedLogits(x, head, { tau: 0.8 });
      expectClose(dropped, logitsLoop(X, tauNormLoop(W, 0.8), null), { rtol: 1e-5, atol: 1e-6 });
      const kept = tauNormalizedLogits(x, head, { tau: 0.8, bias: 'keep' });
      expectClose(kept, logitsLoop(X, tauNormLoop(W, 0.8), B), { rtol: 1e-5, atol: 1e-6 });
      tf.dispose([dropped, kept]);
    });
    expectClose(head.kernel, W, { rtol: 0, atol: 0 });
    const wrapped = tauNormalizedHead({ head, tau: 1.2, bias: 'keep' });
    expect(wrapped.variables).toEqual(head.variables);
    expect(wrapped.config).toEqual({ tau: 1.2, bias: 'keep', head: { kind: 'linear', config: head.config } });
    await expectNoLeak(() => {
      const z = wrapped.apply(x, 'train');
      expectClose(z, logitsLoop(X, tauNormLoop(W, 1.2), B), { rtol: 1e-5, atol: 1e-6 });
      z.dispose();
    });
    wrapped.dispose();
    expect(head.kernel.isDisposed).toBe(true);
    x.dispose();
  });

  it('lwsHead: f_c·(w_c·x + b_c) vs a loop; only the scale trains, and its gradient matches a loop', async () => {
    const head = goldenHead();
    const lws = lwsHead({ head });
    const x = tf.tensor2d(X, [N, D]);
    const f = [1.5, 0.5, 2, -1];
    expect(Array.from(lws.scale.dataSync())).toEqual([1, 1, 1, 1]);
    expect(lws.trainableVariables).toEqual([lws.scale]);
    expect(lws.variables).toEqual([head.kernel, head.bias, lws.scale]);
    // The frozen W, b are not state: a classifier over the LWS head has none (no per-step snapshot).
    expect(lws.stateVariables).toEqual([]);
    setVariable(lws.scale, f);
    const raw = logitsLoop(X, W, B);
    await expectNoLeak(() => {
      const z = lws.apply(x);
      expectClose(z, raw.map((r, k) => r * (f[k % C] as number)), { rtol: 1e-6, atol: 1e-7 });
      z.dispose();
      // d/df_c Σ_i z'_ic = Σ_i z_ic.
      const { grads, value } = tf.variableGrads(() => tf.sum(lws.apply(x, 'train')) as tf.Scalar, [...lws.trainableVariables]);
      const grad = grads[lws.scale.name] as tf.Tensor;
      expectClose(grad, Array.from({ length: C }, (_, c) => raw[c]! + raw[C + c]!), { rtol: 1e-6, atol: 1e-6 });
      value.dispose();
      tf.dispose(grads);
    });
    lws.dispose();
    expect(head.kernel.isDisposed && lws.scale.isDisposed).toBe(true);
    lws.dispose(); // idempotent
    x.dispose();
  });

  it('frozenBackbone: no trainable variables, eval-mode outputs in train mode, batch-norm statistics and dropout stream untouched', async () => {
    const inner = mlpBackbone({ inputDim: D, hiddenSizes: [5], rng: seededRng(1), batchNorm: true, dropout: 0.5 });
    const model = classifier({ backbone: frozenBackbone({ backbone: inner }), head: linearHead({ inputDim: 5, numClasses: C, rng: seededRng(2) }) });
    const frozen = model.backbone;
    expect(frozen.kind).toBe('frozen');
    expect(frozen.trainableVariables).toEqual([]);
    expect(frozen.variables).toEqual(inner.variables);
    expect(model.trainableVariables).toEqual(model.classifierHead.trainableVariables);
    const x = tf.tensor2d(X, [N, D]);
    const before = snapshot(inner.variables);
    const rngBefore = inner.getRngState?.();
    await expectNoLeak(() => {
      const expected = inner.apply(x, 'eval');
      const train = frozen.apply(x, 'train');
      expect(Array.from(train.dataSync())).toEqual(Array.from(expected.dataSync()));
      const out = model.forward(x, 'train');
      expect(Array.from(out.embeddings.dataSync())).toEqual(Array.from(expected.dataSync()));
      tf.dispose([expected, train, out.logits, out.embeddings]);
    });
    expect(snapshot(inner.variables)).toEqual(before);
    expect(inner.getRngState?.()).toEqual(rngBefore);
    // A train-mode step on the classifier moves only the head.
    const { grads, value } = tf.variableGrads(() => tf.sum(model.forward(x, 'train').logits) as tf.Scalar, [...model.trainableVariables]);
    expect(Object.keys(grads).sort()).toEqual(model.classifierHead.trainableVariables.map((v) => v.name).sort());
    value.dispose();
    tf.dispose(grads);
    model.dispose();
    expect(inner.variables.every((v) => v.isDisposed)).toBe(true);
    x.dispose();
  });

  it('rejects unknown options and bad input before any tensor, and after dispose', async () => {
    const head = goldenHead();
    const x = tf.tensor2d(X, [N, D]);
    const inner = mlpBackbone({ inputDim: D, hiddenSizes: [2], rng: seededRng(1) });
    const vector = tf.tensor1d([1, 2]);
    const wide = tf.zeros([N, D + 1]) as tf.Tensor2D;
    await expectNoLeak(() => {
      expect(thrown(() => tauNormalize(head.kernel as tf.Tensor2D, { tau: 1, tua: 2 } as never))).toEqual({ code: 'LongTailError:UNKNOWN_OPTION', message: 'expected tauNormalize options to be among tau. Received: tua (did you mean tau?)' });
      expect(thrown(() => tauNormalize(head.kernel as tf.Tensor2D, { tau: Number.NaN }))).toEqual({ code: 'LongTailError:INVALID_OPTION', message: 'expected tau to be a finite number. Received: tau=NaN' });
      expect(thrown(() => tauNormalize(vector as unknown as tf.Tensor2D, { tau: 1 })).code).toBe('LongTailError:SHAPE_MISMATCH');
      expect(thrown(() => tauNormalizedLogits(x, head, { tau: 1, bias: 'sometimes' as never })).message).toBe('expected bias to be one of "drop", "keep". Received: bias="sometimes"');
      expect(thrown(() => tauNormalizedLogits(wide, head, { tau: 1 })).code).toBe('LongTailError:SHAPE_MISMATCH');
      expect(thrown(() => tauNormalizedHead({ head, tau: 1, scale: 2 } as never)).code).toBe('LongTailError:UNKNOWN_OPTION');
      expect(thrown(() => tauNormalizedHead({ head: lwsHead as never, tau: 1 })).code).toBe('LongTailError:INVALID_OPTION');
      expect(thrown(() => lwsHead({ head, init: 1 } as never)).code).toBe('LongTailError:UNKNOWN_OPTION');
      expect(thrown(() => lwsHead({} as never)).code).toBe('LongTailError:INVALID_OPTION');
      expect(thrown(() => frozenBackbone({ backbone: inner, mode: 'eval' } as never)).code).toBe('LongTailError:UNKNOWN_OPTION');
      expect(thrown(() => frozenBackbone({ backbone: undefined as never })).code).toBe('LongTailError:INVALID_OPTION');
      expect(thrown(() => frozenBackbone({ backbone: inner }).apply(x, 'test' as never)).code).toBe('LongTailError:INVALID_OPTION');
    });
    const lws = lwsHead({ head });
    lws.dispose();
    expect(thrown(() => lws.apply(x)).code).toBe('LongTailError:DISPOSED');
    inner.dispose();
    tf.dispose([x, vector, wide]);
  });
});
