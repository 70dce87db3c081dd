import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const root = join(__dirname, '..', '..');

describe('README', () => {
  it('opens with the two set-up commands that .ci/run and package.json use', () => {
    const readme = readFileSync(join(root, 'README.md'), 'utf8');
    const block = /```bash\n([\s\S]*?)```/.exec(readme)?.[1] ?? '';
    expect(block.split('\n')[0]).toMatch(/^npm ci && npm run demo\s/);
    expect(block.split('\n')[1]).toMatch(/^npm test\s/);
    const ci = readFileSync(join(root, '.ci', 'run'), 'utf8');
    expect(ci).toMatch(/\nnpm ci\nnpm test\n/);
    const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { scripts: Record<string, string> };
    expect(pkg.scripts['demo']).toBe('tsx examples/demo.ts');
  });

  it("its example is the type-checked examples/readme-example.ts", () => {
    const readme = readFileSync(join(root, 'README.md'), 'utf8');
    const snippet = /```ts\n(import \{[\s\S]*?)```/.exec(readme)?.[1] ?? '';
    const file = readFileSync(join(root, 'examples', 'readme-example.ts'), 'utf8');
    expect(file.endsWith(snippet.replace("from 'longtail'", "from '../src/index.js'"))).toBe(true);
    const lines = snippet.split('\n').filter((l) => l.trim().length > 0).length;
    expect(lines).toBeLessThanOrEqual(16);
    // The heading says how many lines it is.
    expect(readme).toContain(`## A long-tail run in ${lines} lines`);
  });

  it('its example trains on a long-tailed subset it makes from the balanced set (IF 100), not on the balanced set', () => {
    const snippet = /```ts\n(import \{[\s\S]*?)```/.exec(readFileSync(join(root, 'README.md'), 'utf8'))?.[1] ?? '';
    expect(snippet).toMatch(/longTailCounts\(\{ profile: 'exponential', numClasses: 10, maxCount: 6000, imbalanceFactor: 100 \}\)/);
    expect(snippet).toMatch(/const train = gatherBatch\(balanced, longTailIndices\(balanced\.y, \{ counts, rng: [^}]+\}\)\)/);
    expect(snippet).toMatch(/await loop\.fit\(train\)/);
  });
});
