/**
 * ltls options from the closest public implementations: Tukey's power transform (Distribution
 * Calibration), a logit-adjusted or balanced-softmax head with the trained or real prior, GGEUR's
 * anchored draws and top-up to a fixed count.
 */
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import golden from '../golden/ltls.json';
import { seededRng } from '../../src/core/rng.js';
import { tukeyPowerTransform } from '../../src/data/preprocess.js';
import type { LabeledData } from '../../src/data/index.js';
import { balancedSoftmaxLoss, logitAdjustedLoss } from '../../src/losses/index.js';
import { recipeFromConfig } from '../../src/recipes/config.js';
import { ltls, ltlsHeadLoss, type LtlsOptions } from '../../src/recipes/ltls.js';
import { topUpRequest } from '../../src/synth/top-up.js';
import { expectNoLeak } from '../../src/testing/index.js';
import { expectError, thrown } from '../helpers/errors.js';

const D = golden.D;
const C = golden.counts.length;
const small = (extra: Partial<LtlsOptions> = {}): LtlsOptions => ({ seed: 3, numClasses: C, featureDim: D, epochs: 2, batchSize: 16, progress: 'none', ...extra });

/** |x| of the golden features: non-negative, as ReLU features are. */
const positive = (golden.features as number[][]).map((r) => r.map((v) => Math.abs(v) + 0.01));

describe('tukeyPowerTransform (Distribution Calibration, Yang et al. 2021)', () => {
  const values = Float32Array.from(positive.flat());

  it('equals a naive loop: x^λ, and log x at λ = 0', () => {
    for (const lambda of [0.5, 2, 1, -0.5, 0]) {
      const got = tukeyPowerTransform(values, { lambda });
      const want: number[] = [];
      for (const v of values) want.push(lambda === 0 ? Math.log(v) : Math.pow(v, lambda));
      expect(Array.from(got)).toEqual(Array.from(Float32Array.from(want)));
    }
    expect(Array.from(tukeyPowerTransform([0, 4, 9], { lambda: 0.5 }))).toEqual([0, 2, 3]);
  });

  it('rejects negative features, zeros at λ ≤ 0, non-finite values and bad options, with no tensor made', () => {
    expectError(() => tukeyPowerTransform([1, -0.5], { lambda: 0.5 }), 'INVALID_DATA', 'expected non-negative values for the Tukey power transform with lambda=0.5 (features after a ReLU are non-negative). Received: values[1]=-0.5');
    expectError(() => tukeyPowerTransform([1, 0], { lambda: 0 }), 'INVALID_DATA', 'expected positive values for the Tukey power transform with lambda=0 (features after a ReLU are non-negative). Received: values[1]=0');
    expectError(() => tukeyPowerTransform([NaN], { lambda: 0.5 }), 'NON_FINITE', 'expected finite values. Received: values[0]=NaN');
    expect(thrown(() => tukeyPowerTransform([1], { lambda: Infinity })).code).toBe('INVALID_OPTION');
    expect(thrown(() => tukeyPowerTransform([1], { lamda: 0.5 } as never)).code).toBe('UNKNOWN_OPTION');
    expect(thrown(() => tukeyPowerTransform([1], {} as never)).code).toBe('MISSING_INPUT');
  });
});

describe('ltls options', () => {
  let features: LabeledData;
  let signed: LabeledData;
  beforeAll(() => {
    features = { x: tf.tensor2d(positive), y: Int32Array.from(golden.labels) };
    signed = { x: tf.tensor2d(golden.features), y: Int32Array.from(golden.labels) };
  });

  it("featureTransform { kind: 'tukey' } equals training and evaluating on transformed features (every set alike)", async () => {
    const sqrt = { x: tf.tensor2d(tukeyPowerTransform(features.x.dataSync(), { lambda: 0.5 }), [golden.labels.length, D]), y: features.y };
    const a = ltls(small({ featureTransform: { kind: 'tukey', lambda: 0.5 } }));
    const b = ltls(small());
    const ha = await a.fit(features, { validation: features });
    const hb = await b.fit(sqrt, { validation: sqrt });
    expect(ha.epochs).toEqual(hb.epochs);
    const la = a.logits(features.x);
    const lb = b.logits(sqrt.x);
    expect(Array.from(la.dataSync())).toEqual(Array.from(lb.dataSync()));
    expect(a.evaluate(features)).toEqual(b.evaluate(sqrt));
    for (let c = 0; c < C; c++) expect(Array.from(a.synthesizer.distribution(c).mean)).toEqual(Array.from(b.synthesizer.distribution(c).mean));
    tf.dispose([la, lb, sqrt.x]);
    b.dispose();
    // Negative features: INVALID_DATA from fit, evaluate and logits, and nothing leaks.
    const before = tf.memory().numTensors;
    for (const call of [() => a.evaluate(signed), () => a.logits(signed.x)]) expect(thrown(call).code).toBe('INVALID_DATA');
    await expect(a.fit(signed)).rejects.toMatchObject({ code: 'INVALID_DATA' });
    expect(tf.memory().numTensors).toBe(before);
    await expectNoLeak(() => a.evaluate(features));
    await expectNoLeak(() => a.logits(features.x));
    a.dispose();
  });

  it("headLoss 'logitAdjusted' / 'balancedSoftmax' is the library's loss on the trained (real + synthetic) or real counts", () => {
    const real = [30, 12, 5];
    const topUp = { kind: 'toCount', count: 20 } as const;
    const trained = real.map((n, c) => n + (topUpRequest(real, topUp)[c] as number)); // [30, 20, 20]
    expect(trained).toEqual([30, 20, 20]);
    const rng = seededRng(1);
    const logits = tf.tensor2d(Array.from({ length: 24 }, () => rng.next() * 4 - 2), [8, 3]);
    const labels = tf.tensor1d([0, 1, 2, 2, 1, 0, 2, 1], 'int32');
    const inputs = { logits, labels, ctx: { classCounts: Float64Array.from(real) } };
    const value = (l: { compute(i: typeof inputs): tf.Scalar }): number => {
      const s = l.compute(inputs);
      const v = s.dataSync()[0] as number;
      s.dispose();
      return v;
    };
    const cases = [
      [ltlsHeadLoss({ headLoss: 'logitAdjusted', headPrior: 'trained', headTau: 1.5, topUp }), logitAdjustedLoss({ tau: 1.5, classCounts: trained })],
      [ltlsHeadLoss({ headLoss: 'logitAdjusted', headPrior: 'real', headTau: 1.5, topUp }), logitAdjustedLoss({ tau: 1.5, classCounts: real })],
      [ltlsHeadLoss({ headLoss: 'balancedSoftmax', headPrior: 'trained', headTau: 1, topUp }), balancedSoftmaxLoss({ classCounts: trained })],
      [ltlsHeadLoss({ headLoss: 'balancedSoftmax', headPrior: 'real', headTau: 1, topUp }), balancedSoftmaxLoss({ classCounts: real })],
    ] as const;
    for (const [ours, library] of cases) expect(value(ours)).toBe(value(library));
    // The trained prior differs from the real one here (a partial top-up).
    expect(value(cases[0][0])).not.toBe(value(cases[1][0]));
    tf.dispose([logits, labels]);
  });

  it("with topUp toMax the trained prior is uniform: a logit-adjusted head trains as cross-entropy; the real prior does not", async () => {
    const ce = ltls(small());
    const la = ltls(small({ headLoss: 'logitAdjusted' }));
    const bs = ltls(small({ headLoss: 'balancedSoftmax', headPrior: 'real' }));
    const laReal = ltls(small({ headLoss: 'logitAdjusted', headPrior: 'real' }));
    for (const r of [ce, la, bs, laReal]) await r.fit(features);
    const out = [ce, la, bs, laReal].map((r) => {
      const l = r.logits(features.x);
      const v = Array.from(l.dataSync());
      l.dispose();
      return v;
    });
    const maxDiff = (p: number[], q: number[]): number => Math.max(...p.map((v, i) => Math.abs(v - (q[i] as number))));
    expect(maxDiff(out[1] as number[], out[0] as number[])).toBeLessThan(1e-4);
    expect(maxDiff(out[3] as number[], out[0] as number[])).toBeGreaterThan(1e-3);
    // Balanced softmax = logit adjustment at τ = 1 (a constant shift of log Σn apart).
    expect(maxDiff(out[2] as number[], out[3] as number[])).toBeLessThan(1e-4);
    for (const r of [ce, la, bs, laReal]) r.dispose();
  });

  it("GGEUR in ltls: anchored draws, eigenvalue-clip repair ×5, every class topped up to a fixed count (never cut)", async () => {
    const run = ltls(small({ gaussian: { center: 'samples', psdRepair: 'eigenClip', eigenScale: 5 }, topUp: { kind: 'toCount', count: 20 } }));
    await run.fit(features);
    expect(Array.from(run.synthesized ?? [])).toEqual([0, 8, 15]);
    const pool = run.trainer.state().pool;
    const counts = [0, 0, 0];
    for (const y of pool?.labels ?? []) counts[y] = (counts[y] as number) + 1;
    expect(counts).toEqual([0, 8, 15]);
    expect(run.synthesizer.distribution(2).jitter).toBe(1e-6);
    run.dispose();
  });

  it('rejects bad option values and keys; the new options are in config and rebuild the same run; no leaks', async () => {
    for (const [extra, code] of [
      [{ headLoss: 'focal' }, 'INVALID_OPTION'],
      [{ headPrior: 'uniform' }, 'INVALID_OPTION'],
      [{ headTau: NaN }, 'INVALID_OPTION'],
      [{ featureTransform: { kind: 'boxCox', lambda: 0.5 } }, 'INVALID_OPTION'],
      [{ featureTransform: { kind: 'tukey', lambda: Infinity } }, 'INVALID_OPTION'],
      [{ featureTransform: { kind: 'tukey', lamda: 0.5 } }, 'UNKNOWN_OPTION'],
      [{ featureTransform: { kind: 'none', lambda: 0.5 } }, 'UNKNOWN_OPTION'],
      [{ gaussian: { centre: 'samples' } }, 'UNKNOWN_OPTION'],
      [{ gaussian: { eigenScale: 0 } }, 'INVALID_OPTION'],
      [{ headloss: 'logitAdjusted' }, 'UNKNOWN_OPTION'],
    ] as const) {
      const before = tf.memory().numTensors;
      expect(thrown(() => ltls(small(extra as Partial<LtlsOptions>))).code).toBe(code);
      expect(tf.memory().numTensors).toBe(before);
    }
    const options = small({ headLoss: 'logitAdjusted', headPrior: 'real', headTau: 0.5, featureTransform: { kind: 'tukey', lambda: 0.5 }, gaussian: { center: 'samples', psdRepair: 'eigenClip', jitterStart: 1e-5, eigenScale: 5 } });
    const before = tf.memory().numTensors;
    const run = ltls(options);
    expect(run.config).toMatchObject({ headLoss: 'logitAdjusted', headPrior: 'real', headTau: 0.5, featureTransform: { kind: 'tukey', lambda: 0.5 }, gaussian: { center: 'samples', psdRepair: 'eigenClip', jitterStart: 1e-5, eigenScale: 5 } });
    const plain = ltls(small());
    expect(plain.config).toMatchObject({ headLoss: 'crossEntropy', headPrior: 'trained', headTau: 1, featureTransform: { kind: 'none' } });
    plain.dispose();
    const again = recipeFromConfig(JSON.parse(JSON.stringify(run.config)) as Record<string, unknown>, { progress: 'none' });
    const h1 = await run.fit(features);
    const h2 = await again.fit(features);
    expect(h2.epochs).toEqual(h1.epochs);
    run.evaluate(features);
    run.dispose();
    again.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });
});
