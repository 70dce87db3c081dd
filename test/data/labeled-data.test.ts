import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { useBackend } from '../../src/backends/index.js';
import { seededRng } from '../../src/core/rng.js';
import {
  chunkArrays,
  concatData,
  concatRealSynthetic,
  fromArrays,
  gatherBatch,
  streamBatches,
  withFlags,
} from '../../src/data/labeled-data.js';
import type { LabeledArrays } from '../../src/data/labeled-data.js';
import { backendsUnderTest, expectNoLeak } from '../../src/testing/index.js';

function toyArrays(n: number, d: number): LabeledArrays {
  const x = Float32Array.from({ length: n * d }, (_, i) => i);
  return { x, sampleShape: [d], y: Int32Array.from({ length: n }, (_, i) => i % 3) };
}

for (const backend of backendsUnderTest()) {
  describe(`LabeledData helpers (${backend})`, () => {
    beforeAll(async () => {
      await useBackend(backend);
    });

    it('fromArrays makes [N, ...sampleShape] float32 with a scale, sharing y', async () => {
      const raw: LabeledArrays = { x: Uint8Array.from([0, 255, 51, 102]), sampleShape: [2, 1, 1], y: Int32Array.from([1, 0]) };
      await expectNoLeak(() => {
        const d = fromArrays(raw, { scale: 1 / 255 });
        expect(d.x.shape).toEqual([2, 2, 1, 1]);
        expect(d.x.dtype).toBe('float32');
        expect(Array.from(d.x.dataSync())).toEqual([0, 1, 0.2, 0.4].map((v) => Math.fround(v)));
        expect(d.y).toBe(raw.y);
        return d.x;
      });
      expect(() => fromArrays({ ...raw, y: Int32Array.from([1]) })).toThrow(
        'expected data.x.length = N · 2 = 2. Received: data.x.length=4',
      );
      expect(() => fromArrays({ ...raw, sampleShape: [] })).toThrow(/sampleShape of positive integers/);
    });

    it('gatherBatch: contiguous runs slice, other orders gather; rows, labels and flags match a naive loop', async () => {
      const raw = toyArrays(10, 3);
      const data = withFlags(fromArrays(raw), { synthetic: Uint8Array.from([0, 0, 0, 0, 1, 1, 1, 1, 1, 1]) });
      for (const idx of [Int32Array.from([2, 3, 4, 5]), Int32Array.from([9, 0, 4, 4]), Int32Array.from([7])]) {
        await expectNoLeak(() => {
          const b = gatherBatch(data, idx);
          const expected = Array.from(idx).flatMap((i) => [3 * i, 3 * i + 1, 3 * i + 2]);
          expect(Array.from(b.x.dataSync())).toEqual(expected);
          expect(b.x.shape).toEqual([idx.length, 3]);
          expect(Array.from(b.y)).toEqual(Array.from(idx, (i) => raw.y[i]));
          expect(Array.from(b.synthetic ?? [])).toEqual(Array.from(idx, (i) => (i >= 4 ? 1 : 0)));
          return b.x;
        });
      }
      expect(() => gatherBatch(data, Int32Array.from([0, 10]))).toThrow('expected indices in [0, 10). Received: indices[1]=10');
      data.x.dispose();
    });

    it('concatRealSynthetic flags the synthetic rows and keeps other flags', async () => {
      const real = withFlags(fromArrays(toyArrays(3, 2)), { auxiliary: Uint8Array.from([0, 1, 0]) });
      const syn = fromArrays({ x: Float32Array.from([100, 101, 102, 103]), sampleShape: [2], y: Int32Array.from([2, 2]) });
      await expectNoLeak(() => {
        const all = concatRealSynthetic({ real, synthetic: syn });
        expect(all.x.shape).toEqual([5, 2]);
        expect(Array.from(all.x.dataSync())).toEqual([0, 1, 2, 3, 4, 5, 100, 101, 102, 103]);
        expect(Array.from(all.y)).toEqual([0, 1, 2, 2, 2]);
        expect(Array.from(all.synthetic ?? [])).toEqual([0, 0, 0, 1, 1]);
        expect(Array.from(all.auxiliary ?? [])).toEqual([0, 1, 0, 0, 0]);
        return all.x;
      });
      const noFlags = concatData([syn, syn]);
      expect(noFlags.synthetic).toBeUndefined();
      noFlags.x.dispose();
      const img = fromArrays({ x: new Float32Array(4), sampleShape: [2, 2, 1], y: Int32Array.from([0]) });
      expect(() => concatData([real, img])).toThrow(
        'expected every part to have sample shape [2]. Received: parts[1].x.shape=[1, 2, 2, 1]',
      );
      expect(() => concatData([])).toThrow('expected at least one dataset to concatenate. Received: parts.length=0');
      for (const t of [real.x, syn.x, img.x]) t.dispose();
    });

    it('streamBatches yields the whole stream in order across chunk boundaries, without leaks', async () => {
      const raw = toyArrays(23, 2);
      const before = tf.memory().numTensors;
      const seen: number[] = [];
      const sizes: number[] = [];
      async function* source(): AsyncGenerator<LabeledArrays> {
        yield* chunkArrays(raw, { chunkSize: 5 });
      }
      for await (const b of streamBatches(source(), { batchSize: 4 })) {
        sizes.push(b.y.length);
        seen.push(...Array.from(b.x.dataSync()));
        b.x.dispose();
      }
      expect(tf.memory().numTensors).toBe(before);
      expect(sizes).toEqual([4, 4, 4, 4, 4, 3]);
      expect(seen).toEqual(Array.from(raw.x));
      const dropped: number[] = [];
      for await (const b of streamBatches(chunkArrays(raw, { chunkSize: 7 }), { batchSize: 4, dropRemainder: true })) {
        dropped.push(b.y.length);
        b.x.dispose();
      }
      expect(dropped).toEqual([4, 4, 4, 4, 4]);
    });

    it('streamBatches with an rng shuffles within chunks, deterministically', async () => {
      const raw = toyArrays(12, 1);
      const run = async (seed: number): Promise<number[]> => {
        const ys: number[] = [];
        for await (const b of streamBatches(chunkArrays(raw, { chunkSize: 6 }), { batchSize: 5, rng: seededRng(seed) })) {
          const xs = Array.from(b.x.dataSync());
          // Labels travel with their rows.
          xs.forEach((v, k) => expect(b.y[k]).toBe(v % 3));
          ys.push(...xs);
          b.x.dispose();
        }
        return ys;
      };
      const a = await run(1);
      expect(a).toEqual(await run(1));
      expect(a).not.toEqual(await run(2));
      expect(a.slice(0, 6).sort((p, q) => p - q)).toEqual([0, 1, 2, 3, 4, 5]);
      expect(a.slice(6).sort((p, q) => p - q)).toEqual([6, 7, 8, 9, 10, 11]);
    });

    it('streamBatches rejects chunks that disagree in shape', async () => {
      const chunks: LabeledArrays[] = [toyArrays(2, 2), toyArrays(2, 3)];
      const run = async (): Promise<void> => {
        for await (const b of streamBatches(chunks, { batchSize: 8 })) b.x.dispose();
      };
      await expect(run()).rejects.toThrow('expected every chunk to have sampleShape [2]. Received: chunks[1].sampleShape=[3]');
      await expect(streamBatches(chunks, { batchSize: 0 }).next()).rejects.toThrow('expected batchSize >= 1. Received: batchSize=0');
    });
  });
}
