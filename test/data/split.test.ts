import { beforeAll, describe, expect, it } from 'vitest';
import { useBackend } from '../../src/backends/index.js';
import { fromArrays, selectRows, trainValidationIndices, trainValidationSplit } from '../../src/data/labeled-data.js';
import type { LabeledArrays } from '../../src/data/labeled-data.js';
import { backendsUnderTest, expectNoLeak } from '../../src/testing/index.js';
import { expectError } from '../helpers/errors.js';

// Class sizes 1, 2, 3, 10, 37 (a singleton, and classes where rounding would empty a side).
const sizes = [1, 2, 3, 10, 37];
const labels = Int32Array.from(sizes.flatMap((n, c) => new Array<number>(n).fill(c)));
const arrays = (): LabeledArrays => ({
  x: Float32Array.from({ length: labels.length * 2 }, (_, i) => i),
  sampleShape: [2],
  y: Int32Array.from(labels).reverse(),
  synthetic: Uint8Array.from(labels, (_, i) => i % 2),
});

describe('trainValidationIndices', () => {
  it('stratified: every class with ≥ 2 rows on both sides, round(f·n_c) clamped, singletons in train; a partition', () => {
    for (const f of [0.01, 0.2, 0.5, 0.99]) {
      const { train, validation } = trainValidationIndices(labels, { validationFraction: f, seed: 3 });
      expect([...train, ...validation].sort((a, b) => a - b)).toEqual(Array.from(labels, (_, i) => i));
      expect(Array.from(train)).toEqual([...train].sort((a, b) => a - b));
      sizes.forEach((n, c) => {
        const v = Array.from(validation).filter((i) => labels[i] === c).length;
        expect(v, `class ${c} f=${f}`).toBe(n < 2 ? 0 : Math.min(Math.max(Math.round(f * n), 1), n - 1));
      });
    }
  });

  it('deterministic under the seed; other seeds give other splits; unstratified sizes', () => {
    const a = trainValidationIndices(labels, { validationFraction: 0.3, seed: 'x' });
    const b = trainValidationIndices(Array.from(labels), { validationFraction: 0.3, seed: 'x' });
    const c = trainValidationIndices(labels, { validationFraction: 0.3, seed: 'y' });
    expect(Array.from(b.validation)).toEqual(Array.from(a.validation));
    expect(Array.from(c.validation)).not.toEqual(Array.from(a.validation));
    const u = trainValidationIndices(labels, { validationFraction: 0.3, stratify: false });
    expect(u.validation.length).toBe(Math.round(0.3 * labels.length));
    expect(u.train.length + u.validation.length).toBe(labels.length);
  });

  it('rejects bad options before anything is made', () => {
    expectError(() => trainValidationIndices(labels, { validationFraction: 0 }), 'INVALID_OPTION', 'expected validationFraction in (0, 1). Received: validationFraction=0');
    expectError(
      () => trainValidationIndices(labels, { validationFraction: 0.2, stratified: true } as never),
      'UNKNOWN_OPTION',
      'expected trainValidationSplit options to be among validationFraction, seed, stratify. Received: stratified (did you mean stratify?)',
    );
    expectError(() => trainValidationIndices([0], { validationFraction: 0.5 }), 'INVALID_OPTION', 'expected at least 2 rows to split. Received: y.length=1');
    expectError(() => trainValidationIndices([0, -1], { validationFraction: 0.5 }), 'LABEL_OUT_OF_RANGE', 'expected y >= 0. Received: y[1]=-1');
  });
});

for (const backend of backendsUnderTest()) {
  describe(`selectRows / trainValidationSplit (${backend})`, () => {
    beforeAll(async () => {
      await useBackend(backend);
    });

    it('selectRows on arrays and on LabeledData: rows in order, repeats allowed, copies, caller keeps its tensor', async () => {
      const a = arrays();
      const picked = selectRows(a, [4, 0, 4]);
      expect(Array.from(picked.x)).toEqual([8, 9, 0, 1, 8, 9]);
      expect(Array.from(picked.y)).toEqual([a.y[4], a.y[0], a.y[4]]);
      expect(Array.from(picked.synthetic ?? [])).toEqual([0, 0, 0]);
      expect(picked.y).not.toBe(a.y);
      const data = fromArrays(a);
      await expectNoLeak(() => {
        const s = selectRows(data, Int32Array.from([2, 3]));
        expect(Array.from(s.x.dataSync())).toEqual([4, 5, 6, 7]);
        expect(Array.from(s.synthetic ?? [])).toEqual([0, 1]);
        return s.x;
      });
      await expectNoLeak(() => {
        expectError(() => selectRows(data, [0, 53]), 'LABEL_OUT_OF_RANGE', 'expected indices in [0, 53). Received: indices[1]=53');
        expectError(() => selectRows(data, [0.5]), 'LABEL_OUT_OF_RANGE', 'expected indices in [0, 53). Received: indices[0]=0.5');
      });
      expect(data.x.isDisposed).toBe(false);
      data.x.dispose();
    });

    it('trainValidationSplit on LabeledData and LabeledArrays: same split, stratified, no leaks, input kept', async () => {
      const a = arrays();
      const data = fromArrays(a);
      const fromArraysSplit = trainValidationSplit(a, { validationFraction: 0.25, seed: 9 });
      await expectNoLeak(() => {
        const s = trainValidationSplit(data, { validationFraction: 0.25, seed: 9 });
        expect(Array.from(s.indices.validation)).toEqual(Array.from(fromArraysSplit.indices.validation));
        expect(Array.from(s.validation.x.dataSync())).toEqual(Array.from(fromArraysSplit.validation.x));
        expect(Array.from(s.train.y)).toEqual(Array.from(fromArraysSplit.train.y));
        for (let c = 1; c < sizes.length; c++) {
          expect(s.train.y.includes(c) && s.validation.y.includes(c)).toBe(true);
        }
        return [s.train.x, s.validation.x];
      });
      await expectNoLeak(() => {
        expectError(() => trainValidationSplit(data, { validationFraction: 1.5 }), 'INVALID_OPTION', 'expected validationFraction in (0, 1). Received: validationFraction=1.5');
      });
      expect(data.x.isDisposed).toBe(false);
      data.x.dispose();
    });
  });
}
