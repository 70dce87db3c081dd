import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useBackend } from '../../src/backends/index.js';
import { seededRng, permutation, sampleBeta } from '../../src/core/rng.js';
import { cutmix, mixup, randomCrop, randomFlip } from '../../src/data/augment.js';
import { backendsUnderTest, expectClose, expectNoLeak } from '../../src/testing/index.js';

const N = 4;
const H = 5;
const W = 6;
const C = 2;
const values = Float32Array.from({ length: N * H * W * C }, (_, i) => (i * 7919) % 101);
const at = (i: number, y: number, x: number, c: number): number => values[((i * H + y) * W + x) * C + c] as number;
const labels = Int32Array.from([0, 2, 1, 2]);

/** Naive NHWC image builder from a per-pixel function. */
function build(f: (i: number, y: number, x: number, c: number) => number): number[] {
  const out: number[] = [];
  for (let i = 0; i < N; i++) for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) for (let c = 0; c < C; c++) out.push(f(i, y, x, c));
  return out;
}

for (const backend of backendsUnderTest()) {
  describe(`augmentations (${backend})`, () => {
    let images: tf.Tensor4D;
    beforeAll(async () => {
      await useBackend(backend);
      images = tf.tensor4d(values, [N, H, W, C]);
    });
    afterAll(() => images.dispose());

    it('randomCrop equals a naive zero-padded crop at the offsets the rng draws', async () => {
      const p = 2;
      const replay = seededRng(5);
      const offsets = Array.from({ length: N }, () => [replay.int(2 * p + 1), replay.int(2 * p + 1)] as const);
      const expected = build((i, y, x, c) => {
        const [oy, ox] = offsets[i] as readonly [number, number];
        const sy = y + oy - p;
        const sx = x + ox - p;
        return sy < 0 || sy >= H || sx < 0 || sx >= W ? 0 : at(i, sy, sx, c);
      });
      await expectNoLeak(() => {
        const out = randomCrop(images, { padding: p, rng: seededRng(5) });
        expect(out.shape).toEqual([N, H, W, C]);
        expect(Array.from(out.dataSync())).toEqual(expected);
        return out;
      });
      const same = randomCrop(images, { padding: 0, rng: seededRng(1) });
      expect(Array.from(same.dataSync())).toEqual(Array.from(values));
      same.dispose();
      expect(() => randomCrop(images, { padding: -1, rng: seededRng(1) })).toThrow('expected padding >= 0. Received: padding=-1');
    });

    it('randomFlip mirrors exactly the images whose draw is below the probability', async () => {
      const replay = seededRng(9);
      const flips = Array.from({ length: N }, () => replay.next() < 0.5);
      expect(flips.some((f) => f) && flips.some((f) => !f)).toBe(true);
      const expected = build((i, y, x, c) => (flips[i] ? at(i, y, W - 1 - x, c) : at(i, y, x, c)));
      await expectNoLeak(() => {
        const out = randomFlip(images, { rng: seededRng(9) });
        expect(Array.from(out.dataSync())).toEqual(expected);
        return out;
      });
      const all = randomFlip(images, { rng: seededRng(9), probability: 1 });
      expect(Array.from(all.dataSync())).toEqual(build((i, y, x, c) => at(i, y, W - 1 - x, c)));
      all.dispose();
      expect(() => randomFlip(images, { rng: seededRng(9), probability: 2 })).toThrow(
        'expected probability in [0, 1]. Received: probability=2',
      );
    });

    it('mixup: x̃ = λx + (1−λ)x_π and soft targets, with λ ~ Beta(α, α) from the rng', async () => {
      const replay = seededRng(11);
      const lambda = sampleBeta(replay, 0.4, 0.4);
      const perm = permutation(replay, N);
      await expectNoLeak(() => {
        const r = mixup(images, labels, { numClasses: 3, alpha: 0.4, rng: seededRng(11) });
        expect(r.lambda).toBe(lambda);
        expect(Array.from(r.permutation)).toEqual(Array.from(perm));
        expectClose(r.images, build((i, y, x, c) => lambda * at(i, y, x, c) + (1 - lambda) * at(perm[i] as number, y, x, c)), {
          rtol: 1e-5,
          atol: 1e-4,
        });
        const t = Array.from(r.targets.dataSync());
        const expected: number[] = [];
        for (let i = 0; i < N; i++) {
          const row = [0, 0, 0];
          const a = labels[i] as number;
          const b = labels[perm[i] as number] as number;
          row[a] = (row[a] as number) + lambda;
          row[b] = (row[b] as number) + 1 - lambda;
          expected.push(...row);
        }
        expectClose(t, expected, { rtol: 1e-6, atol: 1e-6 });
        return [r.images, r.targets];
      });
    });

    it('cutmix pastes the partner\'s box; λ is the kept area by default, the sampled λ with adjustLambda: false', async () => {
      for (const adjustLambda of [true, false]) {
        await expectNoLeak(() => {
          const r = cutmix(images, labels, { numClasses: 3, rng: seededRng(21), adjustLambda });
          const { y1, y2, x1, x2 } = r.box;
          expect((y2 - y1) * (x2 - x1)).toBeGreaterThan(0);
          expect(0 <= y1 && y1 <= y2 && y2 <= H && 0 <= x1 && x1 <= x2 && x2 <= W).toBe(true);
          const inBox = (y: number, x: number): boolean => y >= y1 && y < y2 && x >= x1 && x < x2;
          const expected = build((i, y, x, c) => (inBox(y, x) ? at(r.permutation[i] as number, y, x, c) : at(i, y, x, c)));
          expect(Array.from(r.images.dataSync())).toEqual(expected);
          const kept = 1 - ((y2 - y1) * (x2 - x1)) / (H * W);
          expect(r.lambda).toBe(adjustLambda ? kept : r.sampledLambda);
          // The replayed draws: λ first, then the permutation, then the box centre.
          const replay = seededRng(21);
          expect(r.sampledLambda).toBe(sampleBeta(replay, 1, 1));
          expect(Array.from(r.permutation)).toEqual(Array.from(permutation(replay, N)));
          const t = r.targets.arraySync();
          t.forEach((row) => expect(row.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 6));
          return [r.images, r.targets];
        });
      }
    });

    it('same seed, same batch; different seeds differ', () => {
      const a = cutmix(images, labels, { numClasses: 3, rng: seededRng(3) });
      const b = cutmix(images, labels, { numClasses: 3, rng: seededRng(3) });
      const c = mixup(images, labels, { numClasses: 3, rng: seededRng(4) });
      const d = mixup(images, labels, { numClasses: 3, rng: seededRng(5) });
      expect(Array.from(a.images.dataSync())).toEqual(Array.from(b.images.dataSync()));
      expect(c.lambda).not.toBe(d.lambda);
      for (const r of [a, b, c, d]) tf.dispose([r.images, r.targets]);
    });

    it('rejects bad input before making tensors', () => {
      const before = tf.memory().numTensors;
      expect(() => mixup(images, Int32Array.from([0, 1]), { numClasses: 3, rng: seededRng(1) })).toThrow(
        'expected labels.length = images.shape[0] = 4. Received: labels.length=2',
      );
      expect(() => mixup(images, labels, { numClasses: 2, rng: seededRng(1) })).toThrow(
        'expected labels in [0, 2). Received: labels[1]=2',
      );
      expect(() => cutmix(images, labels, { numClasses: 3, alpha: 0, rng: seededRng(1) })).toThrow(
        'expected alpha > 0. Received: alpha=0',
      );
      const flat = tf.zeros([4, 3]) as unknown as tf.Tensor4D;
      expect(() => randomFlip(flat, { rng: seededRng(1) })).toThrow('expected images of rank 4. Received: images.shape=[4, 3]');
      flat.dispose();
      expect(tf.memory().numTensors).toBe(before);
    });
  });
}
