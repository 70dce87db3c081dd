/**
 * A user's uncaught error reads like an error on every backend: its own message and stack on stderr and
 * exit code 1, on wasm as on cpu. Without the library's clean-up, tfjs-backend-wasm's Emscripten runtime
 * rethrows from its own process handler: Node then prints ~39 KB of minified code and exits with 7.
 *
 * Each case runs in a child process, since an uncaught error ends the process: plain `node` on the
 * library's ESM build, made by the project's tsup config into a private temporary directory.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { withoutAddedProcessHandlers } from '../../src/backends/process-handlers.js';

const ROOT = resolve(__dirname, '..', '..');
const work = mkdtempSync(join(tmpdir(), 'longtail-uncaught-'));

beforeAll(() => {
  execFileSync(join(ROOT, 'node_modules', '.bin', 'tsup'), ['--format', 'esm', '--no-dts', '--out-dir', join(work, 'dist')], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  symlinkSync(join(ROOT, 'node_modules'), join(work, 'node_modules')); // the build's bare imports
}, 120_000);

afterAll(() => rmSync(work, { recursive: true, force: true }));

type Failure = 'throw' | 'reject';

function runUserScript(backend: string, failure: Failure): { status: number | null; stderr: string } {
  const file = join(work, `${backend.replace(/\W/g, '_')}-${failure}.mjs`);
  const fail =
    failure === 'throw'
      ? "setTimeout(() => { throw new Error('user typo: modle is not defined'); }, 0);"
      : "void Promise.reject(new Error('user typo: modle is not defined'));";
  writeFileSync(
    file,
    "import { useBackend, seededRng } from './dist/index.js';\n" +
      `const caps = await useBackend(${backend});\n` +
      "if (caps.backend === 'wasm') process.stdout.write(`wasm up, ${seededRng(0).int(3) >= 0}\\n`);\n" +
      `${fail}\n`,
  );
  const result = spawnSync(process.execPath, [file], { cwd: work, encoding: 'utf8', timeout: 60_000 });
  return { status: result.status, stderr: result.stderr };
}

describe('uncaught errors after useBackend', () => {
  for (const [label, backend] of [
    ['cpu', "'cpu'"],
    ['wasm', "'wasm'"],
    ['wasm with 2 threads', "{ name: 'wasm', threads: 2 }"],
  ] as const) {
    it(`${label}: an uncaught exception prints the user's message and stack, exit code 1`, () => {
      const { status, stderr } = runUserScript(backend, 'throw');
      expect(stderr).toContain('Error: user typo: modle is not defined');
      expect(stderr).toMatch(/\n\s+at .*(cpu|wasm)\S*-throw\.mjs/); // the user's own stack frame
      expect(stderr.length, stderr.slice(0, 2000)).toBeLessThan(5000);
      expect(status).toBe(1);
    }, 90_000);
  }

  it("wasm: an unhandled rejection prints the user's message, exit code 1", () => {
    const { status, stderr } = runUserScript("'wasm'", 'reject');
    expect(stderr).toContain('Error: user typo: modle is not defined');
    expect(stderr.length, stderr.slice(0, 2000)).toBeLessThan(5000);
    expect(status).toBe(1);
  }, 90_000);
});

describe('withoutAddedProcessHandlers', () => {
  it('removes only the uncaughtException/unhandledRejection listeners added while it ran, also when it throws', async () => {
    const mine = (): void => undefined;
    const added = (): void => undefined;
    const otherEvent = (): void => undefined;
    process.on('uncaughtException', mine);
    const count = (e: 'uncaughtException' | 'unhandledRejection'): number => process.listenerCount(e);
    const before = { u: count('uncaughtException'), r: count('unhandledRejection') };
    try {
      await expect(
        withoutAddedProcessHandlers(async () => {
          process.on('uncaughtException', added);
          process.on('unhandledRejection', added);
          process.on('warning', otherEvent);
          throw new Error('start failed');
        }),
      ).rejects.toThrow('start failed');
      expect(process.listeners('uncaughtException')).toContain(mine);
      expect(process.listeners('uncaughtException')).not.toContain(added);
      expect(process.listeners('unhandledRejection')).not.toContain(added);
      expect({ u: count('uncaughtException'), r: count('unhandledRejection') }).toEqual(before);
      expect(process.listeners('warning')).toContain(otherEvent);
      await expect(withoutAddedProcessHandlers(async () => 42)).resolves.toBe(42);
    } finally {
      process.removeListener('uncaughtException', mine);
      process.removeListener('warning', otherEvent);
    }
  });
});
