import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { useBackend } from '../../src/backends/index.js';
import { seededRng } from '../../src/core/rng.js';
import type { LabeledData } from '../../src/data/index.js';
import { crossEntropyLoss } from '../../src/losses/index.js';
import type { EvaluationReport } from '../../src/metrics/report.js';
import { classifier, identityBackbone, linearHead, mlpBackbone, type LinearHead } from '../../src/models/index.js';
import { synLt, type SynLtOptions, type SynLtRound } from '../../src/recipes/synlt.js';
import { backendsUnderTest, expectNoLeak } from '../../src/testing/index.js';
import { trainer } from '../../src/train/trainer.js';
import { expectError } from '../helpers/errors.js';
import { plainCrossEntropy, standardizedSubset } from '../helpers/fmnist.js';

// ---------------------------------------------------------------------------------------------------
// Behaviour on a tiny set: the synthesis schedule, fresh statistics per round, the acceptance rule
// (naive softmax over the pool), and the no-synthesis equivalence with plain cross-entropy.
// ---------------------------------------------------------------------------------------------------

const COUNTS = [30, 10, 4];
const DIM = 4;

/** Three Gaussian blobs in 4-d with long-tailed counts (deterministic). */
function tinySet(): { x: number[][]; y: number[] } {
  const rng = seededRng(17);
  const x: number[][] = [];
  const y: number[] = [];
  COUNTS.forEach((n, c) => {
    for (let i = 0; i < n; i++) {
      x.push(Array.from({ length: DIM }, (_, d) => (d === c ? 3 : 0) + rng.normal()));
      y.push(c);
    }
  });
  return { x, y };
}

describe.each(backendsUnderTest())('synLt behaviour (%s)', (backend) => {
  let data: LabeledData;
  beforeAll(async () => {
    await useBackend(backend);
    const t = tinySet();
    data = { x: tf.tensor2d(t.x), y: Int32Array.from(t.y) };
  });

  const small = (extra: Partial<SynLtOptions> = {}): SynLtOptions => ({
    seed: 1,
    numClasses: 3,
    inputDim: DIM,
    hiddenSizes: [8],
    epochs: 8,
    batchSize: 16,
    matching: { stepSize: 1, stepUnit: 'absolute', threshold: 0.5, reservoirSize: 16, sinkhornIterations: 30 },
    progress: 'none',
    ...extra,
  });

  it('synthesises from ⌊0.75·epochs⌋ on, every epoch, from fresh statistics each round', async () => {
    const run = small();
    const r = synLt(run);
    expect(r.config['synthesisStart']).toBe(6);
    await r.fit(data);
    const rounds = r.acceptance;
    expect(rounds.map((x) => x.epoch)).toEqual([6, 7]);
    for (const round of rounds) {
      // Top-up to n_max = 30 from the real counts, not from counts accumulated over rounds.
      expect(round.perClass.map((e) => [e.classIndex, e.requested, e.proposed])).toEqual([
        [1, 20, 20],
        [2, 26, 26],
      ]);
      expect(round.proposed).toBe(46);
      expect(round.accepted).toBe(round.perClass.reduce((s, e) => s + e.accepted, 0));
      expect(round.accepted).toBeLessThanOrEqual(round.proposed);
      expect(round.acceptanceRate).toBeCloseTo(round.accepted / round.proposed, 12);
    }
    // The pool in use is the last round's accepted latents.
    const pool = r.trainer.state().pool;
    const last = rounds[1] as SynLtRound;
    const counts = [0, 0, 0];
    for (const y of pool?.labels ?? []) counts[y] = (counts[y] as number) + 1;
    expect(counts).toEqual([0, ...last.perClass.map((e) => e.accepted)]);
    r.dispose();
  });

  it('keeps exactly the proposals the head gives the target class probability ≥ τ (naive softmax)', async () => {
    // With a learning rate of 1e-12 the head after fit is the head that judged the proposals.
    const r = synLt(small({ epochs: 3, synthesisStart: 2, optimizer: { kind: 'sgd', learningRate: 1e-12 }, matching: { stepSize: 1, stepUnit: 'absolute', steps: 5, threshold: 0.6, reservoirSize: 16, sinkhornIterations: 30, maxRounds: 2 } }));
    await r.fit(data);
    const pool = r.trainer.state().pool;
    expect(pool).not.toBeNull();
    const [round] = r.acceptance as [SynLtRound];
    expect(round.accepted).toBeGreaterThan(0);
    expect(round.accepted).toBeLessThan(round.perClass.reduce((s, e) => s + e.proposed, 0));
    const head = r.model.classifierHead as LinearHead;
    const w = Array.from(head.kernel.dataSync());
    const b = Array.from(head.bias?.dataSync() ?? []);
    const d = head.inputDim;
    const features = pool?.features as Float32Array;
    pool?.labels.forEach((c, i) => {
      const z = [0, 1, 2].map((j) => {
        let v = b[j] as number;
        for (let k = 0; k < d; k++) v += (features[i * d + k] as number) * (w[k * 3 + j] as number);
        return v;
      });
      const m = Math.max(...z);
      const p = Math.exp((z[c] as number) - m) / z.reduce((s, v) => s + Math.exp(v - m), 0);
      expect(p).toBeGreaterThanOrEqual(0.6 - 1e-6);
    });
    r.dispose();
  });

  it('with nothing to synthesise it is exactly plain cross-entropy (same initial weights and batches)', async () => {
    const r = synLt(small({ topUp: { kind: 'ratio', ratio: 0 } }));
    await r.fit(data);
    expect(r.acceptance.map((x) => x.proposed)).toEqual([0, 0]);
    const rng = seededRng(1).fork('synLt:model');
    const model = classifier({ backbone: mlpBackbone({ inputDim: DIM, hiddenSizes: [8], rng: rng.fork('backbone') }), head: linearHead({ inputDim: 8, numClasses: 3, rng: rng.fork('head') }) });
    const ce = trainer({ model, loss: crossEntropyLoss(), seed: 1, epochs: 8, batchSize: 16, optimizer: { kind: 'adam', learningRate: 1e-3, weightDecay: 5e-4 }, progress: 'none' });
    await ce.fit(data);
    const a = r.logits(data.x);
    const b = ce.logits(data.x);
    expect(Array.from(a.dataSync())).toEqual(Array.from(b.dataSync()));
    [a, b].forEach((t) => t.dispose());
    ce.dispose();
    model.dispose();
    r.dispose();
  });

  it('a linear model (hiddenSizes: []) synthesises in input space, and a user backbone is owned by the run', async () => {
    await expectNoLeak(async () => {
      const linear = synLt(small({ hiddenSizes: [], epochs: 2 }));
      expect(linear.model.featureDim).toBe(DIM);
      await linear.fit(data);
      expect(linear.acceptance).toHaveLength(1);
      linear.dispose();
      const { inputDim: _inputDim, hiddenSizes: _hidden, ...rest } = small({ epochs: 2 });
      const own = synLt({ ...rest, backbone: identityBackbone({ inputDim: DIM }) });
      await own.fit(data);
      own.dispose();
    });
  });
});

// ---------------------------------------------------------------------------------------------------
// The recipe on the shipped long-tailed Fashion-MNIST subset.
// ---------------------------------------------------------------------------------------------------

const SEEDS = [0, 1, 2];
const EPOCHS = 12;
const BATCH = 128;
const HIDDEN = 64;
const OPTIMIZER = { kind: 'adam', learningRate: 1e-3, weightDecay: 5e-4 } as const;
/**
 * The settings this subset check was calibrated with: an absolute step η = 1 and τ = 0.5 (with η = 0.1
 * absolute, five steps move a latent of norm ≈ 18 by at most 0.5 and almost nothing is accepted). The
 * default step (η = 0.1 × the latent norm, τ = 0.9) is measured on the full split in bench/synlt-ablation.ts;
 * on this subset it loses to CE for one of the three seeds. A smaller reservoir and 50 Sinkhorn iterations
 * keep the test fast.
 */
const MATCHING = { stepSize: 1, stepUnit: 'absolute', threshold: 0.5, reservoirSize: 128, sinkhornIterations: 50 } as const;

describe('synLt on the Fashion-MNIST-LT subset (wasm)', () => {
  let train: LabeledData;
  let test: LabeledData;

  beforeAll(async () => {
    await useBackend('wasm');
    ({ train, test } = await standardizedSubset());
  });

  /** Plain cross-entropy: the same MLP (same initial weights), epochs, batches and optimizer. */
  async function plainCE(seed: number): Promise<number> {
    return plainCrossEntropy({ train, test, rng: seededRng(seed).fork('synLt:model'), hidden: HIDDEN, numClasses: 10, trainer: { seed, epochs: EPOCHS, batchSize: BATCH, optimizer: OPTIMIZER } });
  }

  it('stays within seed noise of plain cross-entropy (mean over 3 seeds), accepts proposals every round, and frees everything', async () => {
    const gains: number[] = [];
    const lines: string[] = [];
    for (const seed of SEEDS) {
      let ours = 0;
      let rounds: readonly SynLtRound[] = [];
      await expectNoLeak(async () => {
        const run = synLt({ seed, numClasses: 10, inputDim: 784, hiddenSizes: [HIDDEN], epochs: EPOCHS, batchSize: BATCH, optimizer: OPTIMIZER, matching: MATCHING, progress: 'none' });
        await run.fit(train);
        ours = run.evaluate(test).balancedAccuracy;
        rounds = run.acceptance;
        run.dispose();
        run.dispose(); // idempotent
        expect(() => run.evaluate(test)).toThrow(/after dispose/);
      });
      // Epochs 9, 10, 11 (from ⌊0.75·12⌋), each proposing the top-up to n_max = 600: 4,515 latents.
      expect(rounds.map((r) => [r.epoch, r.proposed])).toEqual([
        [9, 4515],
        [10, 4515],
        [11, 4515],
      ]);
      for (const r of rounds) expect(r.accepted).toBeGreaterThan(0);
      const ce = await plainCE(seed);
      gains.push(ours - ce);
      lines.push(`seed ${seed}: CE ${ce.toFixed(3)} synLt ${ours.toFixed(3)} accepted ${rounds.map((r) => r.accepted).join('/')} of 4515`);
    }
    console.log(lines.join('\n'));
    // synLT does not beat CE here: per seed and on average the difference is within seed noise (measured
    // 2026-12-06: −1.1, +0.4, +0.1 points; docs/benchmarks.md's synLT ablation finds the same on the full
    // split). What is asserted is that the synthesis does not hurt beyond that noise.
    expect(gains.reduce((a, b) => a + b, 0) / gains.length, lines.join('; ')).toBeGreaterThan(-0.02);
  }, 180_000);

  it('is deterministic: the same seed gives the same report and acceptance', async () => {
    const once = async (): Promise<{ report: EvaluationReport; rounds: readonly SynLtRound[] }> => {
      const run = synLt({ seed: 5, numClasses: 10, inputDim: 784, hiddenSizes: [16], epochs: 3, batchSize: BATCH, matching: MATCHING, progress: 'none' });
      await run.fit(train);
      const out = { report: run.evaluate(test), rounds: run.acceptance };
      run.dispose();
      return out;
    };
    const a = await once();
    const b = await once();
    expect(b.rounds).toEqual(a.rounds);
    expect(b.report.perClass).toEqual(a.report.perClass);
    expect(b.report.ece).toBe(a.report.ece);
  }, 60_000);

  it('frees the data', () => {
    train.x.dispose();
    test.x.dispose();
  });
});

// ---------------------------------------------------------------------------------------------------
// Bad input: LongTailError with a stable code and a pinned message, before any tensor is made.
// ---------------------------------------------------------------------------------------------------

describe('synLt bad input', () => {
  const base = { seed: 0, numClasses: 3, inputDim: 4, progress: 'none' } as const;

  it('options', () => {
    expectError(() => synLt({ ...base, epochs: 10, synthesisStart: 10 }), 'INVALID_OPTION', 'expected synthesisStart < epochs (10). Received: synthesisStart=10');
    expectError(() => synLt({ ...base, refreshEvery: -1 }), 'INVALID_OPTION', 'expected refreshEvery >= 0. Received: refreshEvery=-1');
    expectError(() => synLt({ ...base, matching: { threshold: 2 } }), 'INVALID_OPTION', 'expected threshold in [0, 1]. Received: threshold=2');
    expectError(() => synLt({ ...base, matching: { cost: 'l1' as 'cosine' } }), 'INVALID_OPTION', 'expected cost to be one of "squaredEuclidean", "cosine". Received: cost="l1"');
    expectError(() => synLt({ seed: 0, numClasses: 3 }), 'MISSING_INPUT', 'expected inputDim (for the default MLP) or a backbone. Received: neither');
    const backbone = identityBackbone({ inputDim: 4 });
    expectError(() => synLt({ seed: 0, numClasses: 3, backbone, hiddenSizes: [8] }), 'INVALID_OPTION', 'expected either backbone or hiddenSizes, not both. Received: hiddenSizes=[8]');
    backbone.dispose();
    expectError(() => synLt({ ...base, numClasses: 0 }), 'INVALID_OPTION', 'expected numClasses >= 1. Received: numClasses=0');
    expectError(() => synLt({ ...base, batchSize: 2.5 }), 'INVALID_OPTION', 'expected batchSize to be an integer. Received: batchSize=2.5');
  });

  it('data of the wrong shape, use after dispose', async () => {
    const run = synLt(base);
    const wide: LabeledData = { x: tf.zeros([3, 5]), y: Int32Array.from([0, 1, 2]) };
    await expect(run.fit(wide)).rejects.toMatchObject({ code: 'SHAPE_MISMATCH', message: 'expected train.x of shape [N, 4]. Received: train.x.shape=[3, 5]' });
    run.dispose();
    expect(() => run.evaluate(wide)).toThrow('expected a live synLt run. Received: a synLt run after dispose()');
    wide.x.dispose();
  });
});
