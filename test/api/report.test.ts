/** The public surface is pinned: any change to it shows up here and in api-report.json (npm run api:report). */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { apiReport } from '../../scripts/api-report.js';

describe('API report', () => {
  it('the runtime exports and exported types of longtail, longtail/advanced and longtail/testing equal api-report.json (run npm run api:report after a deliberate change)', async () => {
    const pinned = JSON.parse(readFileSync(join(__dirname, '..', '..', 'api-report.json'), 'utf8')) as unknown;
    expect(await apiReport()).toEqual(pinned);
  }, 60_000);

  it('keeps internals out of the root entry', async () => {
    const root = (await apiReport()).longtail;
    const internal = ['invalid', 'formatValue', 'DisposeGuard', 'takeData', 'checkFinite', 'nanMean', 'confidenceBin', 'argmaxRows', 'cholesky', 'eigenFloor', 'mergeInto', 'batchMoments', 'poolsByClass', 'drawClasses', 'seedClassWeights', 'cosine', 'squaredEuclidean', 'pairwiseCost', 'DEBIAN_FASHION_MNIST_DIR', 'SCHEDULE_SPEC_KEYS'];
    expect(internal.filter((n) => n in root.values || n in root.types)).toEqual([]);
    expect(Object.keys(root.values).filter((n) => /^create[A-Z]/.test(n) || /_KEYS$/.test(n) || /normalis/i.test(n))).toEqual([]);
  }, 60_000);
});
