/**
 * The ONNX Runtime encoder on the tiny models `scripts/make-tiny-onnx.ts` writes (committed in
 * test/fixtures/onnx/): features against a naive loop of the same network, batching, tensor ownership,
 * bad input, and `ltls({ encoder })` end to end.
 *
 * `onnxruntime-node` is an optional peer, not a devDependency: the tests that run the model look for it
 * next to the project and then in the directory named by LONGTAIL_ONNXRUNTIME_FROM, and are skipped with
 * a message when it is in neither. The option and error checks run either way.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tinyOnnxFiles } from '../../scripts/make-tiny-onnx.js';
import { LongTailError } from '../../src/core/errors.js';
import { seededRng } from '../../src/core/rng.js';
import { onnxEncoder, type OnnxEncoder, type OnnxEncoderOptions } from '../../src/models/index.js';
import { extractFeatures } from '../../src/recipes/features.js';
import { ltls } from '../../src/recipes/ltls.js';
import { expectClose, expectNoLeak } from '../../src/testing/index.js';
import { expectError } from '../helpers/errors.js';

const FIXTURES = join(process.cwd(), 'test', 'fixtures', 'onnx');
const MLP = join(FIXTURES, 'tiny-mlp.onnx');
const TOKENS = join(FIXTURES, 'tiny-tokens.onnx');
const IMAGE = join(FIXTURES, 'tiny-image.onnx');
const weights = JSON.parse(readFileSync(join(FIXTURES, 'tiny-weights.json'), 'utf8')) as { w: number[][]; b: number[] };

/** Where onnxruntime-node resolves from: the project, then LONGTAIL_ONNXRUNTIME_FROM; undefined = absent. */
function findRuntime(): { from: string | undefined } | null {
  const candidates: (string | undefined)[] = [undefined, process.env['LONGTAIL_ONNXRUNTIME_FROM']];
  for (const dir of candidates) {
    if (dir === '') continue;
    try {
      createRequire(join(dir ?? process.cwd(), 'index.js')).resolve('onnxruntime-node');
      return { from: dir };
    } catch {
      // not there
    }
  }
  return null;
}

const runtime = findRuntime();
if (runtime === null) {
  console.warn(
    '[onnx-encoder.test] onnxruntime-node is absent: the tests that run ONNX models are skipped. Run them with ' +
      '`ONNXRUNTIME_NODE_INSTALL_CUDA=skip npm install --no-save onnxruntime-node`, or install it in another directory ' +
      'and set LONGTAIL_ONNXRUNTIME_FROM to it.',
  );
}

/** The encoder's options with the runtime location the tests found. */
function opts(options: OnnxEncoderOptions): OnnxEncoderOptions {
  return runtime?.from === undefined ? { threads: 1, ...options } : { threads: 1, resolveFrom: runtime.from, ...options };
}

/** relu(v·W + b) for one row v of 4 values: the tiny models' shared layer, as a naive loop. */
function layer(v: readonly number[]): number[] {
  return weights.b.map((bj, j) => Math.max(0, v.reduce((s, vi, i) => s + vi * (weights.w[i] as number[])[j]!, bj)));
}

function randomRows(n: number, d: number, seed: number): number[][] {
  const rng = seededRng(seed);
  return Array.from({ length: n }, () => Array.from({ length: d }, () => rng.next() * 4 - 2));
}

async function rejection(call: () => Promise<unknown>): Promise<LongTailError> {
  const before = tf.memory().numTensors;
  let caught: unknown;
  try {
    await call();
  } catch (e) {
    caught = e;
  }
  expect(caught).toBeInstanceOf(LongTailError);
  expect(tf.memory().numTensors).toBe(before);
  return caught as LongTailError;
}

describe('tiny ONNX fixtures', () => {
  it('are what scripts/make-tiny-onnx.ts writes (byte for byte)', () => {
    for (const [name, bytes] of Object.entries(tinyOnnxFiles())) {
      expect(new Uint8Array(readFileSync(join(FIXTURES, name))), name).toEqual(bytes);
    }
  });
});

describe('onnxEncoder options and loading (no runtime needed)', () => {
  it('rejects unknown keys and bad options before loading anything', async () => {
    const typo = await rejection(() => onnxEncoder({ model: MLP, poling: 'cls' } as unknown as OnnxEncoderOptions));
    expect(typo.code).toBe('UNKNOWN_OPTION');
    expect(typo.message).toContain('did you mean pooling?');
    const pooling = await rejection(() => onnxEncoder({ model: MLP, pooling: 'max' as 'cls' }));
    expect(pooling.code).toBe('INVALID_OPTION');
    expect((await rejection(() => onnxEncoder({ model: 7 as unknown as string }))).message).toBe('expected model to be a file path or the bytes of an .onnx file. Received: model="number"');
    expect((await rejection(() => onnxEncoder({ model: MLP, threads: 0 }))).code).toBe('INVALID_OPTION');
  });

  it('a missing model file is MISSING_INPUT naming the path', async () => {
    const e = await rejection(() => onnxEncoder({ model: join(FIXTURES, 'nope.onnx') }));
    expect(e.code).toBe('MISSING_INPUT');
    expect(e.message).toBe(`expected an ONNX model file. Received: model=${JSON.stringify(join(FIXTURES, 'nope.onnx'))} (no such file)`);
  });

  it('a missing onnxruntime-node is BACKEND_UNAVAILABLE with the offline install line', async () => {
    const empty = mkdtempSync(join(tmpdir(), 'longtail-no-ort-'));
    try {
      const e = await rejection(() => onnxEncoder({ model: MLP, resolveFrom: empty }));
      expect(e.code).toBe('BACKEND_UNAVAILABLE');
      expect(e.message).toContain('expected the optional peer onnxruntime-node to be installed. Received: it cannot be found from resolveFrom=');
      expect(e.message).toContain('`ONNXRUNTIME_NODE_INSTALL_CUDA=skip npm install onnxruntime-node`');
      expect(e.details).toMatchObject({ package: 'onnxruntime-node' });
    } finally {
      rmSync(empty, { recursive: true, force: true });
    }
  });
});

describe.skipIf(runtime === null)('onnxEncoder on the tiny models (onnxruntime-node present)', () => {
  let mlp: OnnxEncoder;
  beforeAll(async () => {
    await tf.setBackend('cpu');
    mlp = await onnxEncoder(opts({ model: MLP }));
  });
  afterAll(() => mlp?.dispose());

  it('declares the model: kind, input/output names, widths, config', () => {
    expect(mlp.kind).toBe('onnx');
    expect([mlp.inputName, mlp.outputName]).toEqual(['x', 'features']);
    expect(mlp.outputDim).toBe(3);
    expect(mlp.inputShape).toEqual([4]);
    expect(mlp.variables).toEqual([]);
    expect(mlp.config).toEqual({ model: MLP, input: 'x', output: 'features', pooling: 'none', channelsFirst: false, outputDim: 3 });
  });

  it('features equal the naive loop relu(x·W + b); apply owns nothing of x and returns one tensor', () => {
    const rows = randomRows(7, 4, 1);
    const x = tf.tensor2d(rows);
    const before = tf.memory().numTensors;
    const f = mlp.apply(x, 'eval');
    expect(tf.memory().numTensors).toBe(before + 1);
    expect(x.isDisposed).toBe(false);
    expect(f.shape).toEqual([7, 3]);
    expectClose(f.arraySync(), rows.map(layer), { atol: 1e-6, rtol: 1e-6 });
    const train = mlp.apply(x, 'train');
    expect(train.arraySync()).toEqual(f.arraySync()); // frozen: the mode changes nothing
    tf.dispose([x, f, train]);
    expect(tf.memory().numTensors).toBe(before - 1); // only x was freed
  });

  it('extractFeatures batches through it (batch 3 of 8 rows = one pass) without a leak', async () => {
    const rows = randomRows(8, 4, 2);
    const x = tf.tensor2d(rows);
    await expectNoLeak(() => {
      const batched = extractFeatures(mlp, x, { batchSize: 3 });
      const whole = extractFeatures(mlp, x, { batchSize: 512 });
      expectClose(batched.arraySync(), rows.map(layer), { atol: 1e-6, rtol: 1e-6 });
      expect(batched.arraySync()).toEqual(whole.arraySync());
      tf.dispose([batched, whole]);
    });
    x.dispose();
  });

  it('loads the same model from bytes', async () => {
    const encoder = await onnxEncoder(opts({ model: new Uint8Array(readFileSync(MLP)) }));
    const rows = randomRows(3, 4, 3);
    const x = tf.tensor2d(rows);
    const f = encoder.apply(x, 'eval');
    expectClose(f.arraySync(), rows.map(layer), { atol: 1e-6, rtol: 1e-6 });
    expect(encoder.config['model']).toBe(`<${readFileSync(MLP).byteLength} bytes>`);
    tf.dispose([x, f]);
    encoder.dispose();
  });

  it('pools token outputs [N, T, d]: cls = token 0, mean = token average', async () => {
    const cls = await onnxEncoder(opts({ model: TOKENS, pooling: 'cls' }));
    const mean = await onnxEncoder(opts({ model: TOKENS, pooling: 'mean' }));
    const samples = [0, 1, 2, 3].map((s) => randomRows(3, 4, 10 + s)); // [4, T=3, 4]
    const x = tf.tensor3d(samples);
    await expectNoLeak(() => {
      const first = cls.apply(x, 'eval');
      const average = mean.apply(x, 'eval');
      expectClose(first.arraySync(), samples.map((tokens) => layer(tokens[0]!)), { atol: 1e-6, rtol: 1e-6 });
      const avg = samples.map((tokens) => [0, 1, 2].map((j) => tokens.map(layer).reduce((s, r) => s + r[j]!, 0) / 3));
      expectClose(average.arraySync(), avg, { atol: 1e-6, rtol: 1e-6 });
      tf.dispose([first, average]);
    });
    expect(cls.inputShape).toEqual([3, 4]);
    tf.dispose(x);
    cls.dispose();
    mean.dispose();
    const none = await rejection(() => onnxEncoder(opts({ model: TOKENS })));
    expect(none.message).toBe('expected pooling "cls" or "mean" for a rank-3 output (output "tokens" is [batch, 3, 3]). Received: pooling="none"');
  });

  it('channelsFirst feeds NHWC images as NCHW', async () => {
    const encoder = await onnxEncoder(opts({ model: IMAGE, channelsFirst: true }));
    expect(encoder.inputShape).toEqual([1, 4, 2]); // [H, W, C] of the NCHW input [batch, 2, 1, 4]
    const nhwc = [0, 1].map((s) => [randomRows(4, 2, 20 + s)]); // [2, H=1, W=4, C=2]
    const x = tf.tensor4d(nhwc);
    // Per sample: channel c's row is x[0, :, c]; features = [layer(row_0), layer(row_1)] (Flatten is c-major).
    const expected = nhwc.map((img) => [0, 1].flatMap((c) => layer(img[0]!.map((pixel) => pixel[c]!))));
    const f = encoder.apply(x, 'eval');
    expectClose(f.arraySync(), expected, { atol: 1e-6, rtol: 1e-6 });
    tf.dispose([x, f]);
    encoder.dispose();
    expect((await rejection(() => onnxEncoder(opts({ model: MLP, channelsFirst: true })))).code).toBe('INVALID_OPTION');
  });

  it('bad input is a LongTailError before any tensor is made: wrong shape, dtype, names, corrupt model', async () => {
    const wide = tf.zeros([2, 5]);
    expectError(() => mlp.apply(wide, 'eval'), 'SHAPE_MISMATCH', 'expected x of shape [N, 4] (ONNX input "x" [batch, 4]). Received: x.shape=[2, 5]');
    const ints = tf.zeros([2, 4], 'int32');
    expectError(() => mlp.apply(ints, 'eval'), 'DTYPE_MISMATCH', 'expected x of dtype float32. Received: x.dtype=int32');
    tf.dispose([wide, ints]);
    const badOut = await rejection(() => onnxEncoder(opts({ model: MLP, output: 'logits' })));
    expect(badOut.message).toBe('expected output to be one of the model\'s outputs [features]. Received: output="logits"');
    expect((await rejection(() => onnxEncoder(opts({ model: MLP, outputDim: 5 })))).code).toBe('SHAPE_MISMATCH');
    const corrupt = await rejection(() => onnxEncoder(opts({ model: Uint8Array.from([1, 2, 3, 4]) })));
    expect(corrupt.code).toBe('INVALID_DATA');
    expect(corrupt.message).toMatch(/^expected a valid ONNX model\. Received: model=<4 bytes>; /);
  });

  it('non-finite features are NON_FINITE naming the row, with nothing left behind', () => {
    // Finite inputs whose products overflow float32: row 1 gives +Inf features.
    const x = tf.tensor2d([[0, 0, 0, 0], [3e38, 0, 0, 3e38]]);
    expectError(() => mlp.apply(x, 'eval'), 'NON_FINITE', 'expected finite features from ONNX output "features". Received: row 1 holds Infinity');
    x.dispose();
  });

  it('after dispose, apply is DISPOSED (dispose is idempotent)', async () => {
    const encoder = await onnxEncoder(opts({ model: MLP }));
    encoder.dispose();
    encoder.dispose();
    const x = tf.zeros([1, 4]);
    expectError(() => encoder.apply(x, 'eval'), 'DISPOSED', 'expected a live onnx encoder. Received: a onnx encoder after dispose()');
    x.dispose();
  });

  it('ltls({ encoder }) runs end to end and equals ltls on the naive-loop features', async () => {
    const counts = [12, 6, 3];
    const rng = seededRng(5);
    const rows: number[][] = [];
    const labels: number[] = [];
    counts.forEach((n, c) => {
      for (let i = 0; i < n; i++) {
        rows.push([0, 1, 2, 3].map((d) => (d === c ? 1.5 : 0) + rng.next() - 0.5));
        labels.push(c);
      }
    });
    const x = tf.tensor2d(rows);
    const features = tf.tensor2d(rows.map(layer));
    const y = Int32Array.from(labels);
    const settings = { seed: 3, numClasses: 3, epochs: 3, batchSize: 8, progress: 'none' as const };
    await expectNoLeak(async () => {
      const withEncoder = ltls({ ...settings, encoder: mlp }); // featureDim from the model: 3
      const onFeatures = ltls({ ...settings, featureDim: 3 });
      const h1 = await withEncoder.fit({ x, y });
      const h2 = await onFeatures.fit({ x: features, y });
      expect(h1.epochs.map((e) => e.loss)).toHaveLength(3);
      expectClose(h1.epochs.map((e) => e.loss), h2.epochs.map((e) => e.loss), { atol: 1e-5, rtol: 1e-5 });
      expect(Array.from(withEncoder.synthesized ?? [])).toEqual([0, 6, 9]);
      const r1 = withEncoder.evaluate({ x, y });
      const r2 = onFeatures.evaluate({ x: features, y });
      expect(r1.top1).toBe(r2.top1);
      expect(withEncoder.config['encoder']).toBe('onnx');
      withEncoder.dispose();
      onFeatures.dispose();
    });
    expect(x.isDisposed).toBe(false);
    tf.dispose([x, features]);
  });
});
