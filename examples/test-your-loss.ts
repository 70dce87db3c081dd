/**
 * Writing your own loss and testing it the way the library tests its own, with `longtail/testing`.
 *
 * The loss: a logit-adjusted focal loss, ℓ_i = −(1 − p̃_{y_i})^γ · log p̃_{y_i} with
 * p̃ = softmax(z_i + τ·log π), π_j = n_j / Σn: the focal loss (Lin et al., ICCV 2017) on the logits of the
 * logit-adjusted loss (Menon et al., ICLR 2021). γ = 0 gives the logit-adjusted loss, τ = 0 the focal loss.
 *
 * The checks: a plain-JS reference loop (`expectClose`), both special cases against the library's kernels,
 * `expectNoLeak`, the pinned error for a bad option, and the loss conformance suite (`checkLossConformance`:
 * terms, finite value and gradients, no leak, inputs unchanged, determinism, config round trip, backends
 * agree) on every backend of `backendsUnderTest()` (cpu and wasm; set TEST_BACKENDS to change).
 *
 * Run: `npx tsx examples/test-your-loss.ts` — prints one line per check, exits 1 if any failed. The same
 * checks go into a vitest/jest/node:test file unchanged: each throws a plain Error on failure.
 * In your project, import from 'longtail', 'longtail/advanced' and 'longtail/testing' instead of '../src/...'.
 */
import * as tf from '@tensorflow/tfjs';
import {
  LongTailError,
  defineLoss,
  focalCrossEntropy,
  logitAdjustedCrossEntropy,
  lossRegistry,
  reducerFromConfig,
  useBackend,
  type Loss,
  type Reducer,
} from '../src/index.js';
import { checkClassCounts, checkFinite, checkNonNegative, requireLabels } from '../src/advanced.js';
import { backendsUnderTest, checkLossConformance, expectClose, expectNoLeak } from '../src/testing/index.js';

// The repository's test sets this to prove that the checks below catch real mistakes; leave it unset.
const BUG = process.env['EXAMPLE_INJECT_BUG'] ?? '';

// ---------------------------------------------------------------------------------------------------
// 1. The loss: a per-sample kernel, then a loss object around it.
// ---------------------------------------------------------------------------------------------------

interface LaFocalOptions {
  readonly classCounts: ArrayLike<number>;
  /** @defaultValue 1 */
  readonly tau?: number;
  /** @defaultValue 2 */
  readonly gamma?: number;
}

/** Per-sample logit-adjusted focal loss; float32 [N], owned by the caller. Inputs are not disposed. */
function logitAdjustedFocal(logits: tf.Tensor2D, labels: tf.Tensor1D, options: LaFocalOptions): tf.Tensor1D {
  // Validate before making any tensor: a bad option throws LongTailError INVALID_OPTION.
  const gamma = checkNonNegative('gamma', options.gamma ?? 2);
  const tau = checkFinite('tau', options.tau ?? 1);
  const counts = checkClassCounts('classCounts', options.classCounts);
  const numClasses = logits.shape[1];
  if (counts.length !== numClasses) {
    throw new LongTailError('SHAPE_MISMATCH', `expected classCounts.length = ${numClasses}. Received: classCounts.length=${counts.length}`);
  }
  const total = counts.reduce((a, b) => a + b, 0);
  const sign = BUG === 'math' ? -1 : 1;
  const offsets = Float32Array.from(counts, (n) => sign * tau * Math.log(n / total + 1e-12));
  const leaked = BUG === 'leak' ? tf.tensor1d(offsets) : null; // a tensor made outside tf.tidy and never freed
  return tf.tidy(() => {
    const logp = tf.logSoftmax(tf.add(logits, leaked ?? tf.tensor1d(offsets)));
    const logpY = tf.sum(tf.mul(tf.oneHot(labels, numClasses).asType('float32'), logp), 1);
    // (1 − p)^γ with a floor: the derivative γ(1 − p)^(γ−1) is infinite at p = 1 when γ < 1.
    const modulator = tf.pow(tf.maximum(tf.sub(1, tf.exp(logpY)), 1e-30), gamma);
    return tf.mul(modulator, tf.neg(logpY)) as tf.Tensor1D;
  });
}

/** The loss object: what the Trainer takes. `config` is plain JSON so runs can be logged and rebuilt. */
function logitAdjustedFocalLoss(options: LaFocalOptions & { readonly reducer?: Reducer }): Loss<'logits'> {
  const gamma = checkNonNegative('gamma', options.gamma ?? 2);
  const tau = checkFinite('tau', options.tau ?? 1);
  const classCounts = Array.from(checkClassCounts('classCounts', options.classCounts));
  return defineLoss({
    kind: 'logitAdjustedFocal',
    config: { gamma, tau, classCounts },
    requires: ['logits'],
    classCounts,
    ...(options.reducer === undefined ? {} : { reducer: options.reducer }),
    terms: ({ logits, labels }) => ({
      laFocal: { kind: 'perSample', values: logitAdjustedFocal(logits, requireLabels(labels, 'logitAdjustedFocalLoss'), { classCounts, tau, gamma }) },
    }),
  });
}

// So that lossRegistry.fromConfig(toConfig(loss)) rebuilds it (the conformance suite checks this).
lossRegistry.register('logitAdjustedFocal', (c) =>
  logitAdjustedFocalLoss({
    classCounts: c['classCounts'] as number[],
    gamma: c['gamma'] as number,
    tau: c['tau'] as number,
    ...reducerFromConfig(c),
  }),
);

// ---------------------------------------------------------------------------------------------------
// 2. An independent reference: the formula as a plain float64 loop.
// ---------------------------------------------------------------------------------------------------

function naiveLaFocal(z: number[][], y: number[], counts: number[], tau: number, gamma: number): number[] {
  const total = counts.reduce((a, b) => a + b, 0);
  return z.map((row, i) => {
    const adjusted = row.map((v, j) => v + tau * Math.log((counts[j] as number) / total + 1e-12));
    const max = Math.max(...adjusted);
    const logSumExp = max + Math.log(adjusted.reduce((s, v) => s + Math.exp(v - max), 0));
    const logp = (adjusted[y[i] as number] as number) - logSumExp;
    return -((1 - Math.exp(logp)) ** gamma) * logp;
  });
}

// ---------------------------------------------------------------------------------------------------
// 3. The checks. Each throws on failure; `check` records and prints the outcome.
// ---------------------------------------------------------------------------------------------------

const results: { name: string; ok: boolean }[] = [];
async function check(name: string, body: () => unknown): Promise<void> {
  try {
    await body();
    results.push({ name, ok: true });
    console.log(`PASS  ${name}`);
  } catch (e) {
    results.push({ name, ok: false });
    console.log(`FAIL  ${name}\n      ${e instanceof Error ? e.message.replace(/\n/g, '\n      ') : String(e)}`);
  }
}

const counts = [500, 120, 30, 5];
const z = [
  [2.0, 0.5, -1.0, 0.3],
  [0.1, 0.3, 0.2, -0.4],
  [-1.5, 2.2, 0.0, 1.1],
  [0.7, -0.2, 3.1, 0.4],
  [0.0, 0.0, 0.0, 0.0],
  [4.0, -3.0, 1.0, -2.0],
];
const y = [0, 3, 1, 2, 3, 3];
const withTensors = async <T>(fn: (logits: tf.Tensor2D, labels: tf.Tensor1D) => T | Promise<T>): Promise<T> => {
  const logits = tf.tensor2d(z);
  const labels = tf.tensor1d(y, 'int32');
  try {
    return await fn(logits, labels);
  } finally {
    tf.dispose([logits, labels]);
  }
};

for (const backend of backendsUnderTest()) {
  await useBackend(backend);
  for (const [tau, gamma] of [[1, 2], [0.5, 0.5], [2, 0]] as const) {
    await check(`matches the plain-JS loop, tau=${tau} gamma=${gamma} [${backend}]`, () =>
      withTensors((logits, labels) => {
        const values = logitAdjustedFocal(logits, labels, { classCounts: counts, tau, gamma });
        try {
          expectClose(values, naiveLaFocal(z, y, counts, tau, gamma), { name: 'laFocal' }); // backend-dependent tolerance
        } finally {
          values.dispose();
        }
      }),
    );
  }
  await check(`gamma=0 is the library's logit-adjusted loss [${backend}]`, () =>
    withTensors((logits, labels) =>
      tf.tidy(() =>
        expectClose(
          logitAdjustedFocal(logits, labels, { classCounts: counts, tau: 1.5, gamma: 0 }),
          logitAdjustedCrossEntropy(logits, labels, { classCounts: counts, tau: 1.5 }),
        ),
      ),
    ),
  );
  await check(`tau=0 is the library's focal loss [${backend}]`, () =>
    withTensors((logits, labels) =>
      tf.tidy(() =>
        expectClose(logitAdjustedFocal(logits, labels, { classCounts: counts, tau: 0, gamma: 2 }), focalCrossEntropy(logits, labels, { gamma: 2 }), {
          rtol: 1e-4,
          atol: 1e-6,
        }),
      ),
    ),
  );
  await check(`kernel and loss leak no tensors [${backend}]`, () =>
    withTensors(async (logits, labels) => {
      await expectNoLeak(() => logitAdjustedFocal(logits, labels, { classCounts: counts })); // the returned tensor is disposed before counting
      await expectNoLeak(() => logitAdjustedFocalLoss({ classCounts: counts }).compute({ logits, labels }));
    }),
  );
}

await check('a negative gamma throws INVALID_OPTION before any tensor is made', () => {
  const before = tf.memory().numTensors;
  try {
    logitAdjustedFocalLoss({ classCounts: counts, gamma: -1 });
  } catch (e) {
    if (!(e instanceof LongTailError) || e.code !== 'INVALID_OPTION') throw new Error(`expected LongTailError INVALID_OPTION. Received: ${String(e)}`);
    if (e.message !== 'expected gamma >= 0. Received: gamma=-1') throw new Error(`unexpected message: ${e.message}`);
    if (tf.memory().numTensors !== before) throw new Error('expected no tensor to be made');
    return;
  }
  throw new Error('expected an error for gamma=-1. Received: none');
});

// The conformance suite returns one result per check and backend; expectLossConformance would throw one
// Error listing the failures instead.
const conformance = await checkLossConformance(logitAdjustedFocalLoss({ classCounts: counts, gamma: 2 }), {
  inputs: () => ({
    logits: tf.randomNormal([16, 4], 0, 2, 'float32', 7) as tf.Tensor2D,
    labels: tf.tensor1d(Array.from({ length: 16 }, (_, i) => i % 4), 'int32'),
  }),
});
for (const r of conformance) {
  await check(`conformance: ${r.check} [${r.backend}]`, () => {
    if (!r.ok) throw new Error(r.message);
  });
}

const failed = results.filter((r) => !r.ok).length;
console.log(`${results.length - failed} passed, ${failed} failed`);
if (failed > 0) process.exitCode = 1;
