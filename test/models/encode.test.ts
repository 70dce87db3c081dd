/** encode / mapBatches (batched inference) and classPrototypes against unbatched passes and naive means. */
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { useBackend } from '../../src/backends/index.js';
import { seededRng } from '../../src/core/rng.js';
import { classPrototypes, classifier, dualBranch, encode, linearHead, mapBatches, mlpBackbone } from '../../src/models/index.js';
import { backendsUnderTest, expectClose, expectNoLeak } from '../../src/testing/index.js';
import { expectError } from '../helpers/errors.js';

function inputs(n: number, d: number, seed: string): tf.Tensor2D {
  const rng = seededRng(seed);
  return tf.tensor2d(Float32Array.from({ length: n * d }, () => rng.normal()), [n, d]);
}

/** A classifier with batch norm and dropout, so eval mode matters. */
function testClassifier(): ReturnType<typeof classifier> {
  const rng = seededRng(3);
  return classifier({
    backbone: mlpBackbone({ inputDim: 4, hiddenSizes: [8, 5], rng, batchNorm: true, dropout: 0.3 }),
    head: linearHead({ inputDim: 5, numClasses: 3, rng }),
  });
}

for (const backend of backendsUnderTest()) {
  describe(`encode on ${backend}`, () => {
    beforeAll(async () => {
      await useBackend(backend);
    });

    it('batched results equal the unbatched eval forward pass exactly (embeddings, logits; odd batch sizes)', async () => {
      const model = testClassifier();
      const x = inputs(11, 4, 'x');
      const full = tf.tidy(() => model.forward(x, 'eval'));
      for (const batchSize of [1, 3, 4, 11, 512]) {
        const e = encode(model, x, { batchSize });
        const l = encode(model, x, { output: 'logits', batchSize });
        expect(e.shape).toEqual([11, 5]);
        expect(Array.from(e.dataSync())).toEqual(Array.from(full.embeddings!.dataSync()));
        expect(Array.from(l.dataSync())).toEqual(Array.from(full.logits.dataSync()));
        tf.dispose([e, l]);
      }
      await expectNoLeak(() => encode(model, x, { output: 'logits', batchSize: 4 }));
      expect(x.isDisposed).toBe(false);
      tf.dispose([full.logits, full.embeddings!, x]);
      model.dispose();
    });

    it('projections of a dual-branch model equal the unbatched pass', async () => {
      const rng = seededRng(5);
      const model = dualBranch({ backbone: mlpBackbone({ inputDim: 4, hiddenSizes: [6], rng }), numClasses: 3, rng, projectionHiddenSizes: [6], projectionDim: 4 });
      const x = inputs(7, 4, 'p');
      const full = tf.tidy(() => model.forward(x, 'eval').projections as tf.Tensor2D);
      const p = encode(model, x, { output: 'projections', batchSize: 2 });
      expect(Array.from(p.dataSync())).toEqual(Array.from(full.dataSync()));
      tf.dispose([full, p]);
      await expectNoLeak(() => encode(model, x, { output: 'projections', batchSize: 3 }));
      x.dispose();
      model.dispose();
    });

    it('mapBatches stacks any row-wise map; a map returning the wrong rows is SHAPE_MISMATCH without leaks', async () => {
      const x = inputs(9, 3, 'm');
      const y = mapBatches(x, (xb) => tf.mul(xb, 2), { batchSize: 4 });
      expectClose(y.dataSync(), Array.from(x.dataSync(), (v) => 2 * v), { rtol: 0, atol: 0 });
      y.dispose();
      const before = tf.memory().numTensors;
      expect(() => mapBatches(x, (xb) => tf.sum(xb, 1, true).reshape([-1]).slice(0, 1), { batchSize: 4 })).toThrow(
        'expected fn output of 4 rows for a batch of 4. Received: shape=[1]',
      );
      expect(tf.memory().numTensors).toBe(before);
      await expectNoLeak(() => mapBatches(x, (xb) => tf.square(xb)));
      // No rows: the map sees the empty slice once, so the result keeps its trailing shape.
      const z = tf.zeros([0, 3]);
      const empty = mapBatches(z, (xb) => tf.concat([xb, xb], 1), { batchSize: 2 });
      expect(empty.shape).toEqual([0, 6]);
      tf.dispose([z, empty]);
      x.dispose();
    });

    it('classPrototypes equal naive class means (matrix and per-view features), with present classes', async () => {
      const rng = seededRng('proto');
      const n = 13;
      const d = 3;
      const labels = Int32Array.from({ length: n }, (_, i) => (i * 7) % 4 === 3 ? 0 : (i * 7) % 4); // class 3 absent
      const values = Float32Array.from({ length: n * d }, () => rng.normal());
      const f = tf.tensor2d(values, [n, d]);
      const { means, counts, present } = classPrototypes(f, labels, { numClasses: 4 });
      const naive: number[] = [];
      for (let c = 0; c < 4; c++) {
        const rows = [...labels.keys()].filter((i) => labels[i] === c);
        for (let t = 0; t < d; t++) naive.push(rows.length === 0 ? 0 : rows.reduce((s, i) => s + (values[i * d + t] as number), 0) / rows.length);
      }
      expect(means.shape).toEqual([4, d]);
      expectClose(means.dataSync(), naive, { rtol: 1e-6, atol: 1e-7 });
      expect(Array.from(counts)).toEqual([0, 1, 2, 3].map((c) => labels.filter((y) => y === c).length));
      expect(Array.from(present)).toEqual([0, 1, 2]);
      means.dispose();
      // Per-view features [N, V, d] give [C, V, d] means: each view averaged on its own.
      const views = tf.stack([f, tf.mul(f, -1)], 1);
      const pv = classPrototypes(views, labels, { numClasses: 4 });
      expect(pv.means.shape).toEqual([4, 2, d]);
      const pvv = pv.means.arraySync() as number[][][];
      for (let c = 0; c < 4; c++) {
        for (let t = 0; t < d; t++) {
          expect(pvv[c]![0]![t]).toBeCloseTo(naive[c * d + t] as number, 6);
          expect(pvv[c]![1]![t]).toBeCloseTo(-(naive[c * d + t] as number), 6);
        }
      }
      pv.means.dispose();
      await expectNoLeak(() => classPrototypes(f, labels, { numClasses: 4 }).means);
      expect(f.isDisposed).toBe(false);
      tf.dispose([f, views]);
    });

    it('bad input is a LongTailError before any tensor is made', () => {
      const model = testClassifier();
      const x = inputs(2, 4, 'bad');
      expectError(() => encode(model, x, { output: 'projections' }), 'MISSING_INPUT', 'expected a model that provides projections. Received: provides=[logits, embeddings]');
      expectError(() => encode(model, x, { output: 'features' as never }), 'INVALID_OPTION', 'expected output to be one of "embeddings", "logits", "projections". Received: output="features"');
      expectError(() => encode(model, x, { mode: 'test' as never }), 'INVALID_OPTION', 'expected mode to be one of "eval", "train". Received: mode="test"');
      expectError(() => encode(model, x, { batchSize: 0 }), 'INVALID_OPTION', 'expected batchSize >= 1. Received: batchSize=0');
      expectError(() => encode(model, x, { bachSize: 2 } as never), 'UNKNOWN_OPTION', 'expected encode options to be among output, mode, batchSize. Received: bachSize (did you mean batchSize?)');
      expectError(() => encode({} as never, x), 'INVALID_OPTION', 'expected model to be a Model (with forward(x, mode)). Received: model="object"');
      const f = tf.tensor2d([[1, 2], [3, 4]]);
      expect(() => classPrototypes(f, Int32Array.from([0, 2]), { numClasses: 2 })).toThrow(expect.objectContaining({ code: 'LABEL_OUT_OF_RANGE' }));
      expectError(() => classPrototypes(f, Int32Array.from([0]), { numClasses: 2 }), 'SHAPE_MISMATCH', 'expected labels.length = features.shape[0] = 2. Received: labels.length=1');
      expectError(() => classPrototypes(f, [0, 1] as never, { numClasses: 2 }), 'INVALID_OPTION', 'expected labels to be an Int32Array. Received: labels="object"');
      expectError(() => classPrototypes(f, Int32Array.from([0, 1]), { numClases: 2 } as never), 'UNKNOWN_OPTION', 'expected classPrototypes options to be among numClasses. Received: numClases (did you mean numClasses?)');
      tf.dispose([f, x]);
      expectError(() => encode(model, x), 'DISPOSED', 'expected a live tensor x. Received: x after dispose()');
      model.dispose();
    });
  });
}
