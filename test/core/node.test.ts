/** src/core/node.ts: the one home of Node-only imports (hidden from bundlers). */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { LongTailError } from '../../src/core/errors.js';
import { importNode, isNode } from '../../src/core/node.js';

afterEach(() => {
  vi.unstubAllGlobals();
});

describe('importNode', () => {
  it('loads the Node built-in it names', async () => {
    expect(isNode()).toBe(true);
    const { join } = await importNode('node:path');
    expect(join('a', 'b')).toBe('a/b');
    const { gunzipSync, gzipSync } = await importNode('node:zlib');
    expect(Array.from(gunzipSync(gzipSync(Uint8Array.of(1, 2, 3))))).toEqual([1, 2, 3]);
  });

  it('throws LongTailError MISSING_INPUT where there is no Node (a browser or worker)', async () => {
    vi.stubGlobal('process', undefined);
    // The check runs before the first await, so the global can be restored before awaiting.
    const pending = importNode('node:fs/promises');
    vi.unstubAllGlobals();
    const error = await pending.catch((e: unknown) => e);
    expect(error).toBeInstanceOf(LongTailError);
    expect((error as LongTailError).code).toBe('MISSING_INPUT');
    expect((error as LongTailError).message).toBe(
      'expected Node.js for file access (node:fs/promises). Received: a browser or worker; fetch the bytes there and use the parse* functions (parseIdx, parseCsv, parseNpy)',
    );
  });
});
