/**
 * Training-step speed per backend: tfjs cpu, stock tfjs-wasm, wasm with the library's kernel fixes, and
 * (when it starts) wasm with the fixes on 2 threads. Medians of several runs, ratios against baselines
 * measured in the same run. Writes its section of docs/benchmarks.md.
 *
 * Run: npm run bench:backends
 */
import * as tf from '@tensorflow/tfjs';
import { useBackend } from '../src/backends/index.js';
import { seededRng, type Rng } from '../src/core/rng.js';
import { environmentLine, markdownTable, ms, speedup, timeMedian, writeBenchSection } from './util.js';

type Config = 'cpu' | 'stock' | 'fixes' | 'threads';

interface Workload {
  readonly name: string;
  /** Builds variables and data, returns one training step (SGD) and a disposer. */
  setup(rng: Rng): { step: () => void; dispose: () => void };
  /** Timing runs per config (cpu is slow on the CNN: one run there). */
  runs(config: Config): { warmup: number; runs: number };
}

function normal(rng: Rng, shape: number[], scale: number): tf.Tensor {
  const n = shape.reduce((a, d) => a * d, 1);
  const v = new Float32Array(n);
  for (let i = 0; i < n; i++) v[i] = rng.normal() * scale;
  return tf.tensor(v, shape);
}

/** A variable initialised from `t`; `t` itself is freed (tf.variable keeps its argument alive otherwise). */
function variable(t: tf.Tensor): tf.Variable {
  const v = tf.variable(t);
  t.dispose();
  return v;
}

function labels(rng: Rng, n: number, classes: number): tf.Tensor1D {
  return tf.tensor1d(Int32Array.from({ length: n }, () => rng.int(classes)), 'int32');
}

/** One SGD step of `loss` over `vars`, reading the loss back so asynchronous work is timed. */
function sgdStep(vars: tf.Variable[], loss: () => tf.Scalar): { step: () => void; dispose: () => void } {
  const opt = tf.train.sgd(0.01);
  const step = () => {
    const value = opt.minimize(loss, true, vars);
    value?.dataSync();
    value?.dispose();
  };
  return { step, dispose: () => opt.dispose() };
}

function crossEntropy(logits: tf.Tensor, y: tf.Tensor1D, classes: number): tf.Scalar {
  return tf.losses.softmaxCrossEntropy(tf.oneHot(y, classes), logits) as tf.Scalar;
}

const linearHead: Workload = {
  name: 'linear head step, batch 256, 512-d, 100 classes',
  setup(rng) {
    const x = normal(rng, [256, 512], 1);
    const y = labels(rng, 256, 100);
    const w = variable(normal(rng, [512, 100], 0.04));
    const b = variable(tf.zeros([100]));
    const sgd = sgdStep([w, b], () => crossEntropy(tf.add(tf.matMul(x, w), b), y, 100));
    return { step: sgd.step, dispose: () => (sgd.dispose(), tf.dispose([x, y, w, b])) };
  },
  runs: (c) => (c === 'cpu' ? { warmup: 2, runs: 7 } : { warmup: 40, runs: 41 }),
};

const mlp: Workload = {
  name: 'MLP 768-512-100 step, batch 256',
  setup(rng) {
    const x = normal(rng, [256, 768], 1);
    const y = labels(rng, 256, 100);
    const w1 = variable(normal(rng, [768, 512], 0.05));
    const b1 = variable(tf.zeros([512]));
    const w2 = variable(normal(rng, [512, 100], 0.06));
    const b2 = variable(tf.zeros([100]));
    const sgd = sgdStep([w1, b1, w2, b2], () =>
      crossEntropy(tf.add(tf.matMul(tf.relu(tf.add(tf.matMul(x, w1), b1)), w2), b2), y, 100),
    );
    return { step: sgd.step, dispose: () => (sgd.dispose(), tf.dispose([x, y, w1, b1, w2, b2])) };
  },
  runs: (c) => (c === 'cpu' ? { warmup: 1, runs: 3 } : { warmup: 3, runs: 11 }),
};

const smallCnn: Workload = {
  name: 'small CNN step, 64 × 28×28×1 (conv3×3·16, pool, conv3×3·32, pool, dense 10)',
  setup(rng) {
    const x = normal(rng, [64, 28, 28, 1], 1) as tf.Tensor4D;
    const y = labels(rng, 64, 10);
    const k1 = variable(normal(rng, [3, 3, 1, 16], 0.47));
    const b1 = variable(tf.zeros([16]));
    const k2 = variable(normal(rng, [3, 3, 16, 32], 0.12));
    const b2 = variable(tf.zeros([32]));
    const w = variable(normal(rng, [7 * 7 * 32, 10], 0.025));
    const b = variable(tf.zeros([10]));
    const block = (h: tf.Tensor4D, k: tf.Variable, bias: tf.Variable) =>
      tf.maxPool(tf.relu(tf.add(tf.conv2d(h, k as tf.Tensor4D, 1, 'same'), bias) as tf.Tensor4D), 2, 2, 'valid');
    const sgd = sgdStep([k1, b1, k2, b2, w, b], () => {
      const h = block(block(x, k1, b1), k2, b2);
      return crossEntropy(tf.add(tf.matMul(tf.reshape(h, [64, 7 * 7 * 32]), w), b), y, 10);
    });
    return { step: sgd.step, dispose: () => (sgd.dispose(), tf.dispose([x, y, k1, b1, k2, b2, w, b])) };
  },
  runs: (c) => (c === 'cpu' ? { warmup: 0, runs: 1 } : { warmup: 2, runs: 7 }),
};

const WORKLOADS = [linearHead, mlp, smallCnn];

/** Median step time in ms, or the reason the step cannot run on this config. */
function measure(workload: Workload, config: Config): number | string {
  const { step, dispose } = workload.setup(seededRng(`bench-backends/${workload.name}`));
  try {
    return timeMedian(step, workload.runs(config));
  } catch (e) {
    const message = e instanceof Error ? e.message : String(e);
    return message.includes('not registered') ? `fails (${message.replace(/^Kernel '(\w+)'.*$/, 'no $1 kernel')})` : `fails (${message.slice(0, 60)})`;
  } finally {
    dispose();
  }
}

/**
 * Fixes vs stock wasm, alternated: `rounds` rounds, each timing every workload with the fixes on and then
 * off in the same process, so drift in machine speed hits both sides alike. Returns the median per-round
 * ratio stock/fixes for each workload.
 */
async function alternatedRatios(workloads: readonly Workload[], rounds: number): Promise<number[]> {
  const perRound: number[][] = workloads.map(() => []);
  for (let r = 0; r < rounds; r++) {
    const times: Record<'on' | 'off', number[]> = { on: [], off: [] };
    for (const side of ['on', 'off'] as const) {
      await useBackend({ name: 'wasm', fixes: side === 'on', threads: 1 });
      times[side] = workloads.map((w) => {
        const t = measure(w, 'fixes');
        return typeof t === 'number' ? t : NaN;
      });
    }
    workloads.forEach((_, i) => perRound[i]?.push((times.off[i] as number) / (times.on[i] as number)));
  }
  return perRound.map((xs) => {
    const sorted = [...xs].sort((a, b) => a - b);
    return sorted[Math.floor(sorted.length / 2)] as number;
  });
}

/** Where the linear-head step's time goes on wasm + fixes (the backend active when called). */
interface StepFloor {
  /** Forward x·W with a weight tensor XNNPACK has not packed yet (as after every SGD update). */
  readonly forward: number;
  /** The weight gradient xᵀ·g through the fixed BatchMatMul. */
  readonly weightGradient: number;
}

/**
 * Times the two matmuls of the linear-head step alone, with the step's shapes and operand freshness: the
 * forward gets a new weight tensor each call (XNNPACK repacks it, as after each update), the weight gradient
 * reuses x (constant in this workload) and a fixed g.
 */
function linearHeadFloor(rng: Rng): StepFloor {
  const x = normal(rng, [256, 512], 1);
  const w = normal(rng, [512, 100], 0.04);
  const g = normal(rng, [256, 100], 0.01);
  const options = { warmup: 10, runs: 41 };
  const fresh = Array.from({ length: options.warmup + options.runs }, () => tf.add(w, 0));
  const timeProduct = (product: () => tf.Tensor) =>
    timeMedian(() => {
      const out = product();
      out.dataSync();
      out.dispose();
    }, options);
  let next = 0;
  try {
    const forward = timeProduct(() => tf.matMul(x, fresh[next++] as tf.Tensor));
    const weightGradient = timeProduct(() => tf.matMul(x, g, true, false));
    return { forward, weightGradient };
  } finally {
    tf.dispose([x, w, g, ...fresh]);
  }
}

/** The measured budget of the linear-head step: what the two matmuls take and what 5× would leave. */
function floorSentence(floor: StepFloor, step: number | string | undefined, stock: number | string | undefined): string {
  if (typeof step !== 'number' || typeof stock !== 'number') return 'Linear-head budget: n/a (a step failed).';
  const matmuls = floor.forward + floor.weightGradient;
  const budget = stock / 5;
  return (
    `Linear-head budget: its two matmuls alone take ${ms(matmuls)} ms on wasm + fixes (forward with a freshly updated ` +
    `weight ${ms(floor.forward)} ms, weight gradient ${ms(floor.weightGradient)} ms; XNNPACK's single-thread ` +
    `speed), the rest of the step (about 45 small kernels of tfjs-core's loss, bias and SGD compositions, and ` +
    `the tape) ${ms(step - matmuls)} ms. 5× against this run's stock step (${ms(stock)} ms) needs the whole step ` +
    `≤ ${ms(budget)} ms, i.e. ≤ ${ms(Math.max(budget - matmuls, 0))} ms for that rest; ` +
    `even a free rest would give ${(stock / matmuls).toFixed(1)}×.`
  );
}

async function main(): Promise<void> {
  const results = new Map<Config, (number | string)[]>();
  const warnings: string[] = [];
  // Stock wasm runs last: its failing CNN step leaves tensors behind on wasm, and the thread count can
  // only change while no tensors live there.
  const plan: [Config, () => Promise<unknown>][] = [
    ['cpu', () => useBackend('cpu')],
    ['threads', () => useBackend({ name: 'wasm', fixes: true, threads: 2, onWarning: (m) => warnings.push(m) })],
    ['fixes', () => useBackend({ name: 'wasm', fixes: true, threads: 1 })],
    ['stock', () => useBackend({ name: 'wasm', fixes: false })],
  ];
  for (const [config, activate] of plan) {
    const caps = (await activate()) as { threads: number | null };
    if (config === 'threads' && caps.threads !== 2) {
      console.log(`threads unavailable: ${warnings.join('; ')}`);
      continue;
    }
    const row: (number | string)[] = [];
    for (const w of WORKLOADS) {
      const t = measure(w, config);
      console.log(`${config.padEnd(7)} ${w.name}: ${typeof t === 'number' ? `${ms(t)} ms` : t}`);
      row.push(t);
    }
    results.set(config, row);
  }

  // Stock wasm is active now and thread count is 1: alternate fixes on/off for the workloads stock can run.
  const alternated = await alternatedRatios([linearHead, mlp], 5);
  console.log(`alternated fixes vs stock (median of 5 rounds): linear head ${alternated[0]?.toFixed(1)}×, MLP ${alternated[1]?.toFixed(1)}×`);

  await useBackend({ name: 'wasm', fixes: true, threads: 1 });
  const floor = linearHeadFloor(seededRng('bench-backends/floor'));
  console.log(`linear-head matmuls alone on wasm + fixes: forward ${ms(floor.forward)} ms, weight gradient ${ms(floor.weightGradient)} ms`);

  const cell = (v: number | string | undefined) => (v === undefined ? 'n/a' : typeof v === 'number' ? ms(v) : v);
  const ratio = (base: number | string | undefined, v: number | string | undefined) =>
    typeof base === 'number' && typeof v === 'number' ? speedup(base, v) : 'n/a';
  const rows = WORKLOADS.map((w, i) => {
    const [c, s, f, t] = (['cpu', 'stock', 'fixes', 'threads'] as const).map((k) => results.get(k)?.[i]);
    return [w.name, cell(c), cell(s), cell(f), cell(t), ratio(c, f), ratio(s, f), ratio(f, t)];
  });
  const table = markdownTable(
    ['workload (ms, median)', 'tfjs cpu', 'wasm stock', 'wasm + fixes', 'wasm + fixes, 2 threads', 'fixes vs cpu', 'fixes vs stock', '2 threads vs 1'],
    rows,
  );
  const head = results.get('fixes');
  const cnnVsCpu = ratio(results.get('cpu')?.[2], head?.[2]);
  const headVsStock = ratio(results.get('stock')?.[0], head?.[0]);
  const markdown = [
    environmentLine(),
    '',
    table,
    '',
    `Targets: small-CNN step on wasm + fixes ≥ 100× faster than tfjs cpu (measured ${cnnVsCpu}); ` +
      `linear-head step on wasm + fixes ≥ 5× faster than stock wasm (measured ${headVsStock} in the pass above; ` +
      `${alternated[0]?.toFixed(1)}× as the median of 5 rounds alternating fixes on/off in one process, MLP ${alternated[1]?.toFixed(1)}×).`,
    '',
    floorSentence(floor, results.get('fixes')?.[0], results.get('stock')?.[0]),
    '',
    'One SGD step each (forward, gradients, update, loss read back). The cpu CNN step is timed once (it takes',
    'tens of seconds); the others are medians of 3–21 runs after warm-up. The machine has 2 cores shared with',
    'other jobs, so absolute numbers are noisy (threads suffer most when the machine is busy); ratios from the',
    'same run are the meaningful part.',
    ...(warnings.length > 0 ? ['', `Threads: ${warnings.join('; ')}`] : []),
  ].join('\n');
  console.log(`\n${markdown}`);
  writeBenchSection('backends', markdown);
}

await main();
