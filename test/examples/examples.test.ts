/**
 * Runs the examples as a user would (`tsx examples/<name>.ts`) and checks their exit code and key output.
 * Epochs are shortened through EXAMPLE_EPOCHS where an example trains.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseNpy } from '../../src/index.js';

const ROOT = join(__dirname, '..', '..');
const TSX = join(ROOT, 'node_modules', '.bin', 'tsx');

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function runExample(file: string, options: { env?: Record<string, string>; args?: string[] } = {}): Promise<Run> {
  return new Promise((resolve) => {
    execFile(
      TSX,
      [join(ROOT, 'examples', file), ...(options.args ?? [])],
      { cwd: ROOT, env: { ...process.env, ...options.env }, timeout: 50_000, maxBuffer: 4 << 20 },
      (error, stdout, stderr) => {
        const code = error === null ? 0 : typeof error.code === 'number' ? error.code : 1;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

/** The percentages of the first line matching `pattern`, as fractions. */
function percents(stdout: string, pattern: RegExp): number[] {
  const line = stdout.split('\n').find((l) => pattern.test(l));
  if (line === undefined) throw new Error(`expected a line matching ${pattern}. Received:\n${stdout}`);
  return [...line.matchAll(/(-?\d+\.\d+)%/g)].map((m) => Number(m[1]) / 100);
}

describe('examples/test-your-loss.ts', () => {
  it('passes every check and exits 0', async () => {
    const run = await runExample('test-your-loss.ts');
    expect(run.stderr).not.toMatch(/Error/);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/^PASS {2}matches the plain-JS loop, tau=1 gamma=2 \[cpu\]$/m);
    expect(run.stdout).toMatch(/^PASS {2}conformance: backendsAgree \[wasm\]$/m);
    expect(run.stdout).not.toMatch(/^FAIL/m);
    const summary = run.stdout.match(/^(\d+) passed, 0 failed$/m);
    expect(Number(summary?.[1])).toBeGreaterThanOrEqual(20);
  });

  it('fails (exit 1) when the kernel has a maths bug or leaks a tensor', async () => {
    const [math, leak] = await Promise.all([
      runExample('test-your-loss.ts', { env: { EXAMPLE_INJECT_BUG: 'math', TEST_BACKENDS: 'cpu' } }),
      runExample('test-your-loss.ts', { env: { EXAMPLE_INJECT_BUG: 'leak', TEST_BACKENDS: 'cpu' } }),
    ]);
    expect(math.code).toBe(1);
    expect(math.stdout).toMatch(/^FAIL {2}matches the plain-JS loop, tau=1 gamma=2 \[cpu\]$/m);
    expect(math.stdout).toMatch(/^\d+ passed, [1-9]\d* failed$/m);
    expect(leak.code).toBe(1);
    expect(leak.stdout).toMatch(/^FAIL {2}kernel and loss leak no tensors \[cpu\]\n {6}expected tf\.memory\(\)\.numTensors to stay at/m);
  });
});

describe('examples/custom-loop.ts', () => {
  it('trains with its own loop and with trainer.step(), leaks nothing, beats chance', async () => {
    const run = await runExample('custom-loop.ts', { env: { EXAMPLE_EPOCHS: '2' } });
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/^training counts per class: 600, 359, 215, 129, 77, 46, 27, 16, 10, 6$/m);
    const [ce, la] = percents(run.stdout, /^own loop, 2 epochs: balanced accuracy/);
    const tensors = run.stdout.match(/^tensors alive after both runs: (\d+) \(before: (\d+)\)$/m);
    expect(tensors?.[1]).toBe(tensors?.[2]);
    const [stepLoop] = percents(run.stdout, /^trainer\.step loop: balanced accuracy/);
    // Ten balanced test classes: chance is 10%.
    for (const acc of [ce, la, stepLoop]) expect(acc).toBeGreaterThan(0.4);
    expect(run.stdout).toMatch(/^trainer\.step loop: epoch 2\/2 mean loss \d+\.\d{4}$/m);
    expect(run.stdout).toMatch(/^top-1 \d+\.\d+% {3}balanced/m);
  });
});

describe('examples/latent-synthesis.ts', () => {
  const tmp = mkdtempSync(join(tmpdir(), 'longtail-latents-'));
  const env = { EXAMPLE_EPOCHS: '10' };
  let fromNpy: Run;
  let fromJson: Run;

  beforeAll(async () => {
    // The shipped .npy files rewritten as the JSON format, then both runs side by side.
    const dir = join(ROOT, 'examples', 'data', 'fmnist-lt-features');
    for (const split of ['train', 'test']) {
      const f = parseNpy(new Uint8Array(readFileSync(join(dir, `${split}-features.npy`))));
      const y = parseNpy(new Uint8Array(readFileSync(join(dir, `${split}-labels.npy`))));
      const d = f.shape[1] as number;
      const rows = Array.from({ length: f.shape[0] as number }, (_, i) => Array.from(f.data.subarray(i * d, (i + 1) * d)));
      writeFileSync(join(tmp, `${split}.json`), JSON.stringify({ features: rows, labels: Array.from(y.data) }));
    }
    [fromNpy, fromJson] = await Promise.all([
      runExample('latent-synthesis.ts', { env }),
      runExample('latent-synthesis.ts', { env, args: ['--dir', tmp, '--format', 'json'] }),
    ]);
  }, 60_000);
  afterAll(() => rmSync(tmp, { recursive: true, force: true }));

  it('tops classes up to n_max; synthesis raises balanced and few-shot accuracy on the shipped features', () => {
    const run = fromNpy;
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/^loaded npy: train 1485×32, test 2000×32 from /m);
    expect(run.stdout).toMatch(/^synthetic per class \(to n_max\): 0, 241, 385, 471, 523, 554, 573, 584, 590, 594$/m);
    expect(run.stdout).toMatch(/^linear head on real \+ ClassGaussian features topped up to n_max$/m);
    const [plain, synth] = percents(run.stdout, /^balanced accuracy: real only/) as [number, number];
    const [plainFew, synthFew] = percents(run.stdout, /^few-shot accuracy: real only/) as [number, number];
    expect(synth).toBeGreaterThan(plain + 0.05);
    expect(synthFew).toBeGreaterThan(plainFew + 0.2);
  });

  it('reads the same features from JSON files and prints the same results', () => {
    expect(fromJson.code, fromJson.stderr).toBe(0);
    expect(fromJson.stdout).toMatch(/^loaded json: train 1485×32/m);
    const results = (s: string) => s.split('\n').filter((l) => !l.startsWith('loaded '));
    expect(results(fromJson.stdout)).toEqual(results(fromNpy.stdout));
  });
});
