/** File reading shared by the Node-only loaders; `node:fs` is imported lazily so browsers never load it. */
import { LongTailError } from '../core/errors.js';
import { importNode } from '../core/node.js';

/**
 * The bytes of a file (or its text with `encoding: 'utf8'`).
 *
 * @throws LongTailError `MISSING_INPUT` naming `what` when the file cannot be read.
 */
export async function readInputFile(path: string, what: string): Promise<Uint8Array>;
export async function readInputFile(path: string, what: string, encoding: 'utf8'): Promise<string>;
export async function readInputFile(path: string, what: string, encoding?: 'utf8'): Promise<Uint8Array | string> {
  const { readFile } = await importNode('node:fs/promises');
  try {
    return encoding === undefined ? await readFile(path) : await readFile(path, encoding);
  } catch (e) {
    throw new LongTailError('MISSING_INPUT', `expected a readable ${what}. Received: path=${JSON.stringify(path)}`, {
      path,
      cause: String(e),
    });
  }
}
