/** The public surface is pinned: any change to it shows up here and in api-report.json (npm run api:report). */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { apiReport } from '../../scripts/api-report.js';

describe('API report', () => {
  it('the exports of longtail and longtail/testing equal api-report.json (run npm run api:report after a deliberate change)', async () => {
    const pinned = JSON.parse(readFileSync(join(__dirname, '..', '..', 'api-report.json'), 'utf8')) as unknown;
    expect(await apiReport()).toEqual(pinned);
  });
});
