/**
 * The trainer's named views, loss-owned state, count terms and input-space synthesis, on a small
 * classifier: what runs, in which order, how often, and what a checkpoint keeps.
 */
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useBackend } from '../../src/backends/index.js';
import { seededRng } from '../../src/core/rng.js';
import type { LabeledData } from '../../src/data/types.js';
import { crossEntropy } from '../../src/losses/functional/crossEntropy.js';
import { defineLoss } from '../../src/losses/define.js';
import { sumLosses } from '../../src/losses/combinators.js';
import type { LossState, LossStateContext, LossStateSnapshot } from '../../src/losses/types.js';
import { classifier, linearHead, mlpBackbone } from '../../src/models/index.js';
import type { Model } from '../../src/models/types.js';
import { ClassGaussian, OtDistributionMatching } from '../../src/synth/index.js';
import { trainer } from '../../src/train/trainer.js';
import { expectError } from '../helpers/errors.js';
import { blobData } from '../helpers/blobs.js';

function model(seed = 1): Model {
  const rng = seededRng(seed);
  return classifier({
    backbone: mlpBackbone({ inputDim: 6, hiddenSizes: [8], rng: rng.fork('backbone') }),
    head: linearHead({ inputDim: 8, numClasses: 3, rng: rng.fork('head') }),
  });
}

/** Counts every forward pass of a model. */
function counting(m: Model): { model: Model; calls: { forward: number } } {
  const calls = { forward: 0 };
  const wrapped = Object.create(m) as Model;
  Object.defineProperty(wrapped, 'forward', {
    value: (x: tf.Tensor, mode: 'train' | 'eval') => {
      calls.forward++;
      return m.forward(x, mode);
    },
  });
  return { model: wrapped, calls };
}

/** A loss over views `names` (plain CE of each view's logits). */
function viewsLoss(names: readonly string[]) {
  return defineLoss<never>({
    kind: 'testViews',
    config: {},
    requires: [],
    views: Object.fromEntries(names.map((n) => [n, ['logits' as const]])),
    terms: (inputs) =>
      Object.fromEntries(
        names.map((n) => {
          const v = inputs.views?.[n];
          if (v?.logits === undefined) throw new Error(`view ${n} missing`);
          return [n, { kind: 'perSample' as const, values: crossEntropy(v.logits, v.labels, { labelValues: v.labelValues }) }];
        }),
      ),
  });
}

/** A toy loss state: the per-class mean of the first embedding column, refreshed per epoch. */
class MeanState implements LossState {
  readonly key = 'test:means';
  refreshes: { epoch: number; rows: number; first: number }[] = [];
  means: Float32Array | null = null;
  refresh(c: LossStateContext): void {
    const [z] = c.encode({ output: 'embeddings' });
    const values = (z as tf.Tensor).dataSync() as Float32Array;
    const d = (z as tf.Tensor).shape[1] as number;
    (z as tf.Tensor).dispose();
    const sums = new Float64Array(c.numClasses);
    const counts = new Float64Array(c.numClasses);
    c.labels.forEach((y, i) => {
      sums[y] = (sums[y] as number) + (values[i * d] as number);
      counts[y] = (counts[y] as number) + 1;
    });
    this.means = Float32Array.from(sums, (s, k) => s / Math.max(1, counts[k] as number));
    this.refreshes.push({ epoch: c.epoch, rows: c.labels.length, first: c.rng.next() });
  }
  snapshot(): LossStateSnapshot | null {
    return this.means === null ? null : { json: { refreshes: this.refreshes.length }, arrays: { means: { shape: [this.means.length], values: Float32Array.from(this.means) } } };
  }
  restore(s: LossStateSnapshot | null): void {
    this.means = s === null ? null : Float32Array.from(s.arrays['means']?.values ?? []);
  }
  dispose(): void {}
}

describe('trainer views, loss state and input-space synthesis', () => {
  let data: LabeledData;
  beforeAll(async () => {
    await useBackend('cpu');
    data = blobData([40, 12, 5], { seed: 3, dim: 6, shift: 2, wrap: true });
  });
  afterAll(() => data.x.dispose());

  it('computes the views a loss reads in config order from one stream (from-chains included), one forward pass each, and no plain pass', async () => {
    const order: string[] = [];
    const mark = (name: string, scale: number) => ({ x, rng }: { x: tf.Tensor; rng: { next(): number } }) => {
      order.push(`${name}:${rng.next().toFixed(6)}`);
      return { x: tf.mul(x, scale) };
    };
    const { model: m, calls } = counting(model());
    const before = tf.memory().numTensors;
    const loop = trainer({
      model: m,
      loss: viewsLoss(['b', 'c']),
      views: { a: mark('a', 2), unused: mark('unused', 3), b: { from: 'a', transform: mark('b', 0.5) }, c: mark('c', 1) },
      seed: 0,
      epochs: 1,
      batchSize: 57,
      progress: 'none',
    });
    const history = await loop.fit(data);
    expect(order.map((o) => o.split(':')[0])).toEqual(['a', 'b', 'c']); // 'unused' is never computed
    expect(calls.forward).toBe(2); // one per view read (b, c); no plain forward pass
    expect(Object.keys(history.epochs[0] ?? {})).toEqual(expect.arrayContaining(['loss/b', 'loss/c']));
    loop.dispose(); // the optimizer's slots go with it
    expect(tf.memory().numTensors).toBe(before);
  });

  it('views are deterministic and b = a·0.5 means the loss sees the chained input', async () => {
    const run = async () => {
      const t = trainer({
        model: model(),
        loss: viewsLoss(['b']),
        views: { a: ({ x, rng }) => ({ x: tf.add(x, rng.next()) }), b: { from: 'a', transform: ({ x }) => ({ x: tf.mul(x, 0.5) }) } },
        seed: 4,
        epochs: 2,
        batchSize: 16,
        progress: 'none',
      });
      const h = await t.fit(data);
      const w = Array.from(t.model.variables[0]?.dataSync() ?? []);
      t.dispose();
      return { h: h.epochs.map((e) => e['loss']), w };
    };
    const [x, y] = [await run(), await run()];
    expect(y).toEqual(x);
  });

  it('loss state: refreshed before every epoch on its own stream, saved in checkpoints, restored bit-identically', async () => {
    const make = () => {
      const state = new MeanState();
      const loss = sumLosses([
        {
          loss: defineLoss<'logits'>({
            kind: 'withState',
            config: {},
            requires: ['logits'],
            states: [state],
            terms: ({ logits, labels }) => ({ ce: { kind: 'perSample', values: crossEntropy(logits, labels as tf.Tensor1D) }, seen: { kind: 'count', value: tf.scalar(state.means === null ? 0 : 1) } }),
          }),
        },
      ]);
      return { state, trainer: trainer({ model: model(2), loss, seed: 9, epochs: 3, batchSize: 20, progress: 'none' }) };
    };
    const a = make();
    const straight = await a.trainer.fit(data);
    expect(a.state.refreshes.map((r) => r.epoch)).toEqual([0, 1, 2]);
    expect(a.state.refreshes.every((r) => r.rows === data.y.length)).toBe(true);
    // Each refresh draws from seededRng(seed).fork('<key>:<epoch>').
    expect(a.state.refreshes[1]?.first).toBe(seededRng(9).fork('test:means:1').next());
    // Count terms are summed per epoch: one per step (the state exists from epoch 0 on).
    expect(straight.epochs.map((e) => e['count/seen'])).toEqual([3, 3, 3]);

    const b = make();
    const controller = new AbortController();
    let steps = 0;
    const cb = { onBatchEnd: () => void (++steps === 5 && controller.abort()) };
    const b2 = trainer({ model: b.trainer.model, loss: sumLosses([{ loss: defineLoss<'logits'>({ kind: 'x', config: {}, requires: ['logits'], states: [b.state], terms: ({ logits, labels }) => ({ ce: { kind: 'perSample', values: crossEntropy(logits, labels as tf.Tensor1D) }, seen: { kind: 'count', value: tf.scalar(b.state.means === null ? 0 : 1) } }) }) }]), seed: 9, epochs: 3, batchSize: 20, progress: 'none', callbacks: [cb] });
    await b2.fit(data, { signal: controller.signal });
    const state = b2.state();
    expect(Object.keys(state.lossStates ?? {})).toEqual(['test:means']);
    const c = make();
    c.trainer.restore(state);
    expect(Array.from(c.state.means ?? [])).toEqual(Array.from(b.state.means ?? [0]));
    const resumed = await c.trainer.fit(data);
    expect(resumed.epochs.map((e) => e['loss'])).toEqual(straight.epochs.map((e) => e['loss']));
    expect(Array.from(c.trainer.model.variables[0]?.dataSync() ?? [])).toEqual(Array.from(a.trainer.model.variables[0]?.dataSync() ?? [0]));
    // A snapshot for a state the loss does not own is refused before anything is assigned.
    expectError(() => c.trainer.restore({ ...state, lossStates: { 'other:key': null } }), 'INVALID_CHECKPOINT', "expected loss states among the loss's own (test:means). Received: lossStates key=\"other:key\"");
    [a.trainer, b2, c.trainer].forEach((t) => t.dispose());
  });

  it('input-space synthesis: pool rows go through the backbone flagged synthetic; every round is in the history', async () => {
    const flags: number[] = [];
    const loss = defineLoss<'logits'>({
      kind: 'flags',
      config: {},
      requires: ['logits'],
      terms: ({ logits, labels, synthetic }) => {
        flags.push(Array.from(synthetic ?? []).reduce((s, v) => s + v, 0));
        return { ce: { kind: 'perSample', values: crossEntropy(logits, labels as tf.Tensor1D) } };
      },
    });
    const synthesizer = new ClassGaussian({ numClasses: 3 });
    const loop = trainer({ model: model(), loss, seed: 1, epochs: 2, batchSize: 30, progress: 'none', synthesis: { synthesizer, space: 'input', refreshEvery: 1 } });
    const history = await loop.fit(data);
    const request = [0, 28, 35];
    expect(history.synthesis).toEqual([
      { epoch: 0, space: 'input', requested: request, accepted: request },
      { epoch: 1, space: 'input', requested: request, accepted: request },
    ]);
    expect(flags.reduce((a, b) => a + b, 0)).toBe(2 * 63); // every pool row, once per epoch
    loop.dispose();
    synthesizer.dispose();
  });

  it('bad configs: a view the loss reads is missing, a from to a later view, a head-scoring synthesizer in input space', () => {
    const m = model();
    expectError(
      () => trainer({ model: m, loss: viewsLoss(['x']), views: { y: ({ x }) => ({ x: tf.clone(x) }) }, seed: 0, epochs: 1, batchSize: 4 }),
      'MISSING_INPUT',
      'expected config.views to define view "x" (read by loss testViews). Received: views=[y]',
    );
    expectError(
      () => trainer({ model: m, loss: viewsLoss(['b']), views: { b: { from: 'a', transform: ({ x }) => ({ x }) }, a: ({ x }) => ({ x }) }, seed: 0, epochs: 1, batchSize: 4 }),
      'INVALID_OPTION',
      'expected views.b.from to name an earlier view (one of none). Received: views.b.from="a"',
    );
    const ot = new OtDistributionMatching({ numClasses: 3 });
    expectError(
      () => trainer({ model: m, loss: viewsLoss(['a']), views: { a: ({ x }) => ({ x }) }, seed: 0, epochs: 1, batchSize: 4, synthesis: { synthesizer: ot, space: 'input' } }),
      'INVALID_OPTION',
      `expected a synthesizer that works without the model's head for input-space synthesis. Received: synthesizer otDistributionMatching needs=[head] with synthesis.space="input" (use space "latent")`,
    );
    ot.dispose();
    m.dispose();
  });
});
