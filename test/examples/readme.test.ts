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
    expect(snippet.split('\n').filter((l) => l.trim().length > 0).length).toBeLessThanOrEqual(16);
  });
});
