/**
 * The docs stand alone and are current: no reference to files outside the repository, no relative link to
 * a missing file, and README's demo table and getting-started's demo summary are what the committed
 * docs/demo-results.json gives (rewrite them with `npm run docs:readme`).
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { between, gettingStartedSentence, readmeSection, readResults, replaceBetween, wallTime } from '../../scripts/readme-demo-table.js';

const ROOT = join(__dirname, '..', '..');
const DOCS = ['README.md', ...readdirSync(join(ROOT, 'docs')).filter((f) => f.endsWith('.md')).map((f) => join('docs', f))];
const read = (file: string) => readFileSync(join(ROOT, file), 'utf8');

/** Relative link targets of a markdown text (inline links and images), without their #fragment. */
function relativeLinks(markdown: string): string[] {
  const withoutCode = markdown.replace(/```[\s\S]*?```/g, '').replace(/`[^`\n]*`/g, '');
  return [...withoutCode.matchAll(/!?\[[^\]]*\]\(([^)\s]+)(?:\s+"[^"]*")?\)/g)]
    .map((m) => m[1] as string)
    .filter((href) => !/^[a-z][a-z0-9+.-]*:/i.test(href) && !href.startsWith('#'))
    .map((href) => decodeURIComponent(href.split('#')[0] as string));
}

describe('docs stand alone', () => {
  it.each(DOCS)('%s names no file outside the repository (shared/…)', (file) => {
    const hits = read(file)
      .split('\n')
      .map((line, i) => `${file}:${i + 1}: ${line}`)
      .filter((line) => /(^|[\s`(/'"])(\.\.\/)*shared\/[\w.-]/.test(line.slice(line.indexOf(': ') + 2)));
    expect(hits).toEqual([]);
  });

  it.each(DOCS)('%s links only to files that exist in the repository', (file) => {
    const missing = relativeLinks(read(file)).filter((href) => {
      const target = resolve(dirname(join(ROOT, file)), href);
      return !target.startsWith(ROOT) || !existsSync(target);
    });
    expect(missing).toEqual([]);
  });

  it('the scan finds what it looks for', () => {
    expect(relativeLinks('see [a](docs/a.md#x), [b](https://x.org/b.md), [c](#c), `[d](d.md)`, ![e](img/e.svg)')).toEqual(['docs/a.md', 'img/e.svg']);
    expect(/(^|[\s`(/'"])(\.\.\/)*shared\/[\w.-]/.test('follows `shared/design.md`')).toBe(true);
    expect(/(^|[\s`(/'"])(\.\.\/)*shared\/[\w.-]/.test('Protocol of ../shared/benchmarks.md')).toBe(true);
    expect(/(^|[\s`(/'"])(\.\.\/)*shared\/[\w.-]/.test('a shared backbone, shared by all')).toBe(false);
  });
});

describe('getting-started', () => {
  it('its example is examples/quickstart.ts, and its heading counts its lines', () => {
    const guide = read('docs/getting-started.md');
    const snippet = /```ts\n(import \{[\s\S]*?)```/.exec(guide)?.[1] ?? '';
    const file = read('examples/quickstart.ts');
    expect(snippet.length).toBeGreaterThan(0);
    expect(file.endsWith(snippet.replace("from 'longtail'", "from '../src/index.js'"))).toBe(true);
    const lines = snippet.split('\n').filter((l) => l.trim().length > 0).length;
    expect(guide).toContain(`## A long-tail run in ${lines} lines`);
  });
});

describe('README and getting-started quote the committed demo results', () => {
  const results = readResults();

  it("README's results table is docs/demo-results.json's (npm run docs:readme)", () => {
    expect(between(read('README.md'), 'demo-table')).toBe(readmeSection(results));
  });

  it('getting-started says how many methods the demo compares and how long it took', () => {
    expect(between(read('docs/getting-started.md'), 'demo-summary')).toBe(gettingStartedSentence(results));
  });

  it("docs/examples.md counts the demo's methods as the results do", () => {
    expect(read('docs/examples.md')).toContain(`cross-entropy against ${results.rows.length - 1} other long-tail methods`);
  });

  it('the results cover every row the demo prints, with all four accuracies', () => {
    const demo = read('examples/demo.ts') + read('examples/demo-recipes.ts');
    for (const row of results.rows) {
      expect(demo, row.method).toContain(row.method);
      for (const v of [row.report.balancedAccuracy, row.report.groups?.many.accuracy, row.report.groups?.medium.accuracy, row.report.groups?.few.accuracy]) {
        expect(v).toBeGreaterThan(0);
        expect(v).toBeLessThanOrEqual(1);
      }
    }
  });

  it('the rewriter replaces only what lies between the markers, and fails without them', () => {
    const text = 'a\n<!-- t:begin x -->\nold\n<!-- t:end -->\nb';
    expect(replaceBetween(text, 't', 'new')).toBe('a\n<!-- t:begin x -->\nnew\n<!-- t:end -->\nb');
    expect(between(replaceBetween(text, 't', 'new'), 't')).toBe('new');
    expect(() => replaceBetween('no markers', 't', 'new')).toThrow(/expected the markers/);
    expect([59.6, 119.4, 144, 185].map(wallTime)).toEqual(['60 s', '119 s', '2 min 24 s', '3 min 5 s']);
  });
});
