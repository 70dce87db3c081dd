import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { selectNeighborsByPrototype, silencingMask } from '../../src/losses/index.js';

describe('neighbour helpers', () => {
  beforeAll(async () => {
    await tf.setBackend('cpu');
  });

  it('silencingMask: target ignores its neighbours, auxiliary ignores its parents, option ignores other auxiliaries', () => {
    // Targets 0..2, auxiliary 3..5; class 4 is a neighbour of targets 0 and 1.
    const neighbors = [[3, 4], [4], []];
    const m = silencingMask({ numClasses: 6, neighbors });
    const silenced = (mask: boolean[][]) => mask.flatMap((row, y) => row.map((v, j) => (v ? null : `${y}-${j}`)).filter((s) => s !== null));
    expect(silenced(m)).toEqual(['0-3', '0-4', '1-4', '3-0', '4-0', '4-1']);
    const strict = silencingMask({ numClasses: 6, neighbors, auxiliaryIgnoresAuxiliary: true });
    expect(silenced(strict)).toEqual(['0-3', '0-4', '1-4', '3-0', '3-4', '3-5', '4-0', '4-1', '4-3', '4-5', '5-3', '5-4']);
    expect(strict.every((row, y) => row[y])).toBe(true);
    expect(JSON.parse(JSON.stringify(m))).toEqual(m);
  });

  it('selectNeighborsByPrototype: most similar auxiliary classes first, more for rarer targets', () => {
    // Two targets along x and y; four auxiliary prototypes at known angles.
    const angle = (deg: number) => [Math.cos((deg * Math.PI) / 180), Math.sin((deg * Math.PI) / 180)];
    const protos = [angle(0), angle(90), angle(10), angle(80), angle(40), angle(180)];
    const picked = selectNeighborsByPrototype(protos, { numTargets: 2, classCounts: [1000, 10], k: 1, kMax: 3 });
    expect(picked).toEqual([[2], [3, 4, 2]]);
    const t = tf.tensor2d(protos);
    expect(selectNeighborsByPrototype(t, { numTargets: 2, classCounts: [10, 10], k: 2 })).toEqual([
      [2, 4],
      [3, 4],
    ]);
    t.dispose();
    // Intermediate count: r = (log 1000 − log 100) / (log 1000 − log 10) = 0.5 → k + 0.5·(kMax − k) = 2.
    const three = selectNeighborsByPrototype([...protos.slice(0, 2), angle(45), ...protos.slice(2)], {
      numTargets: 3,
      classCounts: [1000, 10, 100],
      k: 1,
      kMax: 3,
    });
    expect(three.map((l) => l.length)).toEqual([1, 3, 2]);
  });
});
