/**
 * `npm run api:report`: writes api-report.json, the public surface of `longtail` and `longtail/testing`
 * (every runtime export with its kind). test/api/report.test.ts fails when the surface differs from it,
 * so adding, removing or renaming an export is a deliberate change to this file.
 */
import { writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** `{ name: kind }` for every runtime export of a module, sorted by name. */
export function surface(mod: Record<string, unknown>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of Object.keys(mod).sort()) {
    const v = mod[name];
    out[name] = typeof v === 'function' ? (/^class\s/.test(Function.prototype.toString.call(v)) ? 'class' : 'function') : Array.isArray(v) ? 'array' : typeof v;
  }
  return out;
}

/** The report of both entry points. */
export async function apiReport(): Promise<{ longtail: Record<string, string>; 'longtail/testing': Record<string, string> }> {
  const root = (await import('../src/index.js')) as unknown as Record<string, unknown>;
  const testing = (await import('../src/testing/index.js')) as unknown as Record<string, unknown>;
  return { longtail: surface(root), 'longtail/testing': surface(testing) };
}

const isMain = process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1];
if (isMain) {
  void apiReport().then((report) => {
    const file = join(dirname(fileURLToPath(import.meta.url)), '..', 'api-report.json');
    writeFileSync(file, `${JSON.stringify(report, null, 2)}\n`);
    console.log(`wrote api-report.json: ${Object.keys(report.longtail).length} + ${Object.keys(report['longtail/testing']).length} exports`);
  });
}
