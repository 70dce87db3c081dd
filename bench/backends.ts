/**
 * Training-step speed per backend: tfjs cpu, stock tfjs-wasm, wasm with the library's kernel fixes, and
 * (when it starts) wasm with the fixes on 2 threads. Medians of several runs, ratios against baselines
 * measured in the same run. Writes its section of docs/benchmarks.md.
 *
 * Run: npm run bench:backends
 */
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { useBackend } from '../src/backends/index.js';
import { seededRng, type Rng } from '../src/core/rng.js';
import type { JsonObject } from '../src/core/json.js';
import { environmentLine, markdownTable, ms, pythonFailure, runPythonBench, speedup, timeMedian, timeRuns, writeBenchSection } from './util.js';

type Config = 'cpu' | 'stock' | 'fixes' | 'threads';

/** A float32 array with its shape (tfjs layouts). */
interface Array32 {
  readonly shape: readonly number[];
  readonly data: Float32Array;
}

/** A workload's inputs and initial weights as host arrays, so PyTorch can be given the very same ones. */
interface Problem {
  readonly x: Array32;
  readonly y: Int32Array;
  readonly params: readonly Array32[];
}

interface Workload {
  readonly name: string;
  /** How scripts/bench/backends_bench.py builds the same model. */
  readonly kind: 'linear' | 'mlp' | 'cnn';
  readonly classes: number;
  problem(rng: Rng): Problem;
  /** Mean softmax cross-entropy of the model with weights `vars` on (x, y). */
  loss(x: tf.Tensor, y: tf.Tensor1D, vars: readonly tf.Variable[]): tf.Scalar;
  /** Timing runs per config (cpu is slow on the CNN: one run there). */
  runs(config: Config): { warmup: number; runs: number };
}

function normal(rng: Rng, shape: readonly number[], scale: number): Array32 {
  const n = shape.reduce((a, d) => a * d, 1);
  const data = new Float32Array(n);
  for (let i = 0; i < n; i++) data[i] = rng.normal() * scale;
  return { shape, data };
}

function zeros(n: number): Array32 {
  return { shape: [n], data: new Float32Array(n) };
}

function labels(rng: Rng, n: number, classes: number): Int32Array {
  return Int32Array.from({ length: n }, () => rng.int(classes));
}

const tensor = (a: Array32) => tf.tensor(a.data, [...a.shape]);

/** A variable initialised from `a`. */
function variable(a: Array32): tf.Variable {
  const t = tensor(a);
  const v = tf.variable(t);
  t.dispose(); // tf.variable keeps its argument alive otherwise
  return v;
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

/** The workload's SGD step on the active backend (fresh variables from the seeded problem) and a disposer. */
function setup(workload: Workload, problem: Problem): { step: () => void; dispose: () => void } {
  const x = tensor(problem.x);
  const y = tf.tensor1d(problem.y, 'int32');
  const vars = problem.params.map(variable);
  const sgd = sgdStep(vars, () => workload.loss(x, y, vars));
  return { step: sgd.step, dispose: () => (sgd.dispose(), tf.dispose([x, y, ...vars])) };
}

function crossEntropy(logits: tf.Tensor, y: tf.Tensor1D, classes: number): tf.Scalar {
  return tf.losses.softmaxCrossEntropy(tf.oneHot(y, classes), logits) as tf.Scalar;
}

const v = (vars: readonly tf.Variable[], i: number) => vars[i] as tf.Variable;

const linearHead: Workload = {
  name: 'linear head step, batch 256, 512-d, 100 classes',
  kind: 'linear',
  classes: 100,
  problem: (rng) => ({ x: normal(rng, [256, 512], 1), y: labels(rng, 256, 100), params: [normal(rng, [512, 100], 0.04), zeros(100)] }),
  loss: (x, y, w) => crossEntropy(tf.add(tf.matMul(x, v(w, 0)), v(w, 1)), y, 100),
  runs: (c) => (c === 'cpu' ? { warmup: 2, runs: 7 } : { warmup: 40, runs: 41 }),
};

const mlp: Workload = {
  name: 'MLP 768-512-100 step, batch 256',
  kind: 'mlp',
  classes: 100,
  problem: (rng) => ({
    x: normal(rng, [256, 768], 1),
    y: labels(rng, 256, 100),
    params: [normal(rng, [768, 512], 0.05), zeros(512), normal(rng, [512, 100], 0.06), zeros(100)],
  }),
  loss: (x, y, w) => crossEntropy(tf.add(tf.matMul(tf.relu(tf.add(tf.matMul(x, v(w, 0)), v(w, 1))), v(w, 2)), v(w, 3)), y, 100),
  runs: (c) => (c === 'cpu' ? { warmup: 1, runs: 3 } : { warmup: 3, runs: 11 }),
};

/** The small CNN's shapes: batch, image side, channels in / after conv 1 / after conv 2, classes. */
const CNN = { batch: 64, size: 28, channels: [1, 16, 32], classes: 10 } as const;

const smallCnn: Workload = {
  name: 'small CNN step, 64 × 28×28×1 (conv3×3·16, pool, conv3×3·32, pool, dense 10)',
  kind: 'cnn',
  classes: CNN.classes,
  problem: (rng) => ({
    x: normal(rng, [CNN.batch, CNN.size, CNN.size, 1], 1),
    y: labels(rng, CNN.batch, CNN.classes),
    params: [normal(rng, [3, 3, 1, 16], 0.47), zeros(16), normal(rng, [3, 3, 16, 32], 0.12), zeros(32), normal(rng, [7 * 7 * 32, 10], 0.025), zeros(10)],
  }),
  loss: (x, y, w) => {
    const block = (h: tf.Tensor4D, k: tf.Variable, bias: tf.Variable) =>
      tf.maxPool(tf.relu(tf.add(tf.conv2d(h, k as tf.Tensor4D, 1, 'same'), bias) as tf.Tensor4D), 2, 2, 'valid');
    const h = block(block(x as tf.Tensor4D, v(w, 0), v(w, 1)), v(w, 2), v(w, 3));
    return crossEntropy(tf.add(tf.matMul(tf.reshape(h, [CNN.batch, 7 * 7 * 32]), v(w, 4)), v(w, 5)), y, CNN.classes);
  },
  runs: (c) => (c === 'cpu' ? { warmup: 0, runs: 1 } : { warmup: 2, runs: 7 }),
};

const WORKLOADS = [linearHead, mlp, smallCnn];

/** The workload's seeded inputs and initial weights (the same ones in every config and on the PyTorch side). */
function problemOf(workload: Workload): Problem {
  return workload.problem(seededRng(`bench-backends/${workload.name}`));
}

/** Median step time in ms, or the reason the step cannot run on this config. */
function measure(workload: Workload, config: Config): number | string {
  const { step, dispose } = setup(workload, problemOf(workload));
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
  const x = tensor(normal(rng, [256, 512], 1));
  const w = tensor(normal(rng, [512, 100], 0.04));
  const g = tensor(normal(rng, [256, 100], 0.01));
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

const PY = '/usr/bin/python3';
const PY_INSTALL_HINT = 'install it with `sudo apt-get update && sudo apt-get install -y python3-torch python3-numpy` (Debian/Ubuntu; used through /usr/bin/python3)';
/** Side-by-side rounds (PyTorch in a child process, then ours), so both sides see similar load. */
const ROUNDS = 3;
/** Issue 18's targets against PyTorch on 1 thread (ours / PyTorch at most this); null: no target. */
const TORCH_TARGET: Record<Workload['kind'], number | null> = { linear: 0.5, mlp: null, cnn: 1.5 };
/** Runs per side and round. */
const SIDE_RUNS: Record<Workload['kind'], { warmup: number; runs: number }> = {
  linear: { warmup: 20, runs: 41 },
  mlp: { warmup: 3, runs: 11 },
  cnn: { warmup: 3, runs: 15 },
};

interface TorchStep {
  readonly kind: Workload['kind'];
  /** The loss at the initial weights. */
  readonly loss: number;
  readonly step: number;
  readonly stepBest: number;
}

/** The small CNN's convolution kernels alone: both forwards; the backward kernels the step needs. */
interface TorchConvs {
  readonly forward: number;
  readonly backward: number;
  /** The fastest runs of the same. */
  readonly forwardBest: number;
  readonly backwardBest: number;
}

interface TorchRound {
  readonly versions: Record<string, string | number>;
  /** The workloads in WORKLOADS order, PyTorch as it runs by default. */
  readonly workloads: readonly TorchStep[];
  /** The CNN again after glibc's mmap threshold is raised (buffers reused from the heap, no fresh page faults). */
  readonly cnnHeap: TorchStep;
  readonly convs: TorchConvs;
  readonly convsHeap: TorchConvs;
}

const bytes = (a: Float32Array | Int32Array) => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);

/** Writes every workload's problem and the spec scripts/bench/backends_bench.py reads into `dir`. */
function writeTorchInputs(dir: string): void {
  const workloads = WORKLOADS.map((w, i) => {
    const p = problemOf(w);
    const file = (name: string, a: Float32Array | Int32Array) => (writeFileSync(join(dir, `${i}-${name}`), bytes(a)), `${i}-${name}`);
    return {
      kind: w.kind,
      x: { file: file('x.f32', p.x.data), shape: p.x.shape },
      y: file('y.i32', p.y),
      params: p.params.map((a, j) => ({ file: file(`p${j}.f32`, a.data), shape: a.shape })),
      ...SIDE_RUNS[w.kind],
    };
  });
  const convs = { batch: CNN.batch, size: CNN.size, channels: CNN.channels, runs: 15 };
  writeFileSync(join(dir, 'spec.json'), JSON.stringify({ workloads, convs }));
}

/** One round of the PyTorch side, or null (with the reason and the install hint printed) when it cannot run. */
function torchRound(dir: string): TorchRound | null {
  if (!existsSync(PY)) {
    console.log(`PyTorch baseline skipped: ${PY} not found; ${PY_INSTALL_HINT}`);
    return null;
  }
  try {
    return runPythonBench<TorchRound>('backends_bench.py', dir, { python: PY });
  } catch (e) {
    console.log(`PyTorch baseline skipped: ${pythonFailure(e)}; ${PY_INSTALL_HINT}`);
    return null;
  }
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((x, y) => x - y);
  return sorted[Math.floor(sorted.length / 2)] as number;
}

/** Ours (the active backend) per workload in one round: median and fastest step. */
function oursRound(): { step: number; best: number }[] {
  return WORKLOADS.map((w) => {
    const { step, dispose } = setup(w, problemOf(w));
    try {
      const t = timeRuns(step, SIDE_RUNS[w.kind]);
      return { step: median(t), best: Math.min(...t) };
    } finally {
      dispose();
    }
  });
}

/** Each workload's loss at its initial weights on the active backend (to check PyTorch computes the same). */
function initialLosses(): number[] {
  return WORKLOADS.map((w) => {
    const p = problemOf(w);
    const vars = p.params.map(variable);
    const x = tensor(p.x);
    const y = tf.tensor1d(p.y, 'int32');
    const value = tf.tidy(() => w.loss(x, y, vars).dataSync()[0] as number);
    tf.dispose([x, y, ...vars]);
    return value;
  });
}

/** The small CNN step's convolution kernels alone on the active backend: ms per kernel kind, medians and fastest runs. */
interface ConvKernels {
  readonly median: ConvKernelTimes;
  readonly fastest: ConvKernelTimes;
}

interface ConvKernelTimes {
  /** Conv2D, both layers. */
  readonly forward: number;
  /** Conv2DBackpropFilter, both layers. */
  readonly filter: number;
  /** Conv2DBackpropInput, second layer only (the images are no variable). */
  readonly input: number;
}

/**
 * Times the convolution kernels of the small CNN step at its shapes: forward of both layers, the filter
 * gradient of both, the input gradient of the second (the kernels the step's tape runs).
 */
function cnnConvKernels(rng: Rng): ConvKernels {
  const [c0, c1, c2] = CNN.channels;
  const n = CNN.batch;
  const s = CNN.size;
  const layers = [
    { x: tensor(normal(rng, [n, s, s, c0], 1)), k: tensor(normal(rng, [3, 3, c0, c1], 0.47)), dy: tensor(normal(rng, [n, s, s, c1], 1e-3)) },
    { x: tensor(normal(rng, [n, s / 2, s / 2, c1], 1)), k: tensor(normal(rng, [3, 3, c1, c2], 0.12)), dy: tensor(normal(rng, [n, s / 2, s / 2, c2], 1e-3)) },
  ];
  const attrs = { strides: [1, 1], pad: 'same', dataFormat: 'NHWC', dimRoundingMode: undefined } as const;
  const options = { warmup: 2, runs: 15 };
  // No read-back: wasm kernels run synchronously, and copying their multi-MB outputs out of the heap would
  // cost more than some kernels (the step reads back only the loss).
  const time = (kernel: () => tf.Tensor) => {
    const t = timeRuns(() => kernel().dispose(), options);
    return { median: median(t), fastest: Math.min(...t) };
  };
  const run = (name: string, inputs: tf.NamedTensorMap, extra: tf.NamedAttrMap) =>
    tf.engine().runKernel(name, inputs, { ...attrs, ...extra } as unknown as tf.NamedAttrMap) as tf.Tensor;
  try {
    const second = layers[1] as (typeof layers)[number];
    const forward = layers.map((l) => time(() => tf.conv2d(l.x as tf.Tensor4D, l.k as tf.Tensor4D, 1, 'same')));
    const filter = layers.map((l) => time(() => run('Conv2DBackpropFilter', { x: l.x, dy: l.dy }, { filterShape: l.k.shape })));
    const input = time(() => run('Conv2DBackpropInput', { dy: second.dy, filter: second.k }, { inputShape: second.x.shape }));
    const sum = (ts: readonly { median: number; fastest: number }[], k: 'median' | 'fastest') => ts.reduce((a, t) => a + t[k], 0);
    const times = (k: 'median' | 'fastest') => ({ forward: sum(forward, k), filter: sum(filter, k), input: input[k] });
    return { median: times('median'), fastest: times('fastest') };
  } finally {
    tf.dispose(layers.flatMap((l) => [l.x, l.k, l.dy]));
  }
}

/** One row of the PyTorch table. */
interface TorchRow {
  readonly name: string;
  readonly kind: Workload['kind'];
  /** Ours: median over rounds of per-round medians, and the fastest run of all rounds. */
  readonly ours: number;
  readonly oursBest: number;
  /** PyTorch, the same statistics; null when PyTorch is unavailable. */
  readonly torch: number | null;
  readonly torchBest: number | null;
  /** PyTorch's convolution kernels alone in this row's layout (CNN rows). */
  readonly torchConvs: TorchConvs | null;
}

interface SideBySide {
  readonly rows: readonly TorchRow[];
  /** Our CNN's convolution kernels alone, timed in each round beside the steps. */
  readonly convs: ConvKernels;
  readonly torch: TorchRound | null;
  readonly losses: readonly number[];
}

/** Ours (wasm + fixes, 1 thread: the active backend) against PyTorch (1 thread) in alternating rounds. */
function sideBySide(): SideBySide {
  const dir = mkdtempSync(join(tmpdir(), 'longtail-backends-'));
  const ours: { step: number; best: number }[][] = [];
  const ourConvs: ConvKernels[] = [];
  const torch: TorchRound[] = [];
  try {
    writeTorchInputs(dir);
    for (let round = 0; round < ROUNDS; round++) {
      const p = torchRound(dir);
      if (p !== null) torch.push(p);
      const o = oursRound();
      ours.push(o);
      ourConvs.push(cnnConvKernels(seededRng('bench-backends/convs')));
      const line = WORKLOADS.map((w, i) => `${w.kind} ${ms(o[i]?.step as number)}${p === null ? '' : ` vs ${ms(p.workloads[i]?.step as number)}`} ms`);
      const cl = p === null ? '' : ` (cnn, PyTorch with heap-kept buffers: ${ms(p.cnnHeap.step)} ms)`;
      console.log(`round ${round + 1} (ours vs PyTorch): ${line.join(', ')}${cl}, load ${(loadavg()[0] ?? 0).toFixed(1)}`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const stats = (steps: (r: TorchRound) => TorchStep) =>
    torch.length === 0
      ? { torch: null, torchBest: null }
      : { torch: median(torch.map((r) => steps(r).step)), torchBest: Math.min(...torch.map((r) => steps(r).stepBest)) };
  const convStats = (convs: (r: TorchRound) => TorchConvs) =>
    torch.length === 0
      ? null
      : {
          forward: median(torch.map((r) => convs(r).forward)),
          backward: median(torch.map((r) => convs(r).backward)),
          forwardBest: Math.min(...torch.map((r) => convs(r).forwardBest)),
          backwardBest: Math.min(...torch.map((r) => convs(r).backwardBest)),
        };
  const rows: TorchRow[] = WORKLOADS.map((w, i) => ({
    name: w.name,
    kind: w.kind,
    ours: median(ours.map((r) => r[i]?.step as number)),
    oursBest: Math.min(...ours.map((r) => r[i]?.best as number)),
    ...stats((r) => r.workloads[i] as TorchStep),
    torchConvs: w.kind === 'cnn' ? convStats((r) => r.convs) : null,
  }));
  const cnn = rows.find((r) => r.kind === 'cnn') as TorchRow;
  rows.push({
    ...cnn,
    name: "the same CNN step; PyTorch with glibc's mmap threshold raised (buffers kept on the heap)",
    ...stats((r) => r.cnnHeap),
    torchConvs: convStats((r) => r.convsHeap),
  });
  const losses = initialLosses();
  const first = torch[0];
  if (first !== undefined) {
    const check = (what: string, theirs: number, mine: number) => {
      if (Math.abs(theirs - mine) > 1e-4 * Math.abs(theirs)) throw new Error(`${what}: initial loss differs from PyTorch's: ${mine} vs ${theirs}`);
    };
    WORKLOADS.forEach((w, i) => check(w.kind, first.workloads[i]?.loss as number, losses[i] as number));
    check('cnn (heap-kept buffers)', first.cnnHeap.loss, losses[WORKLOADS.indexOf(smallCnn)] as number);
  }
  const kernels = (k: 'median' | 'fastest', pick: (xs: number[]) => number): ConvKernelTimes => ({
    forward: pick(ourConvs.map((c) => c[k].forward)),
    filter: pick(ourConvs.map((c) => c[k].filter)),
    input: pick(ourConvs.map((c) => c[k].input)),
  });
  const convs = { median: kernels('median', median), fastest: kernels('fastest', (xs) => Math.min(...xs)) };
  return { rows, convs, torch: first ?? null, losses };
}

/**
 * The small-CNN budget against one PyTorch row: what the convolutions alone take on both sides, from the
 * medians, or from the fastest runs when only those miss the target.
 */
function cnnBudget(row: TorchRow, convs: ConvKernels, basis: 'median' | 'fastest'): string {
  const target = TORCH_TARGET.cnn as number;
  const fastest = basis === 'fastest';
  const torchStep = (fastest ? row.torchBest : row.torch) as number;
  const ourStep = fastest ? row.oursBest : row.ours;
  const c = row.torchConvs as TorchConvs;
  const theirs = fastest ? { forward: c.forwardBest, backward: c.backwardBest } : c;
  const ours = convs[basis];
  const budget = target * torchStep;
  const ourConvs = ours.forward + ours.filter + ours.input;
  const theirConvs = theirs.forward + theirs.backward;
  const stat = fastest ? 'fastest runs' : 'medians';
  return (
    `Small-CNN budget against ${row.name.includes('; ') ? row.name.replace(/^.*; /, '') : 'PyTorch as it runs by default'} (target missed${fastest ? ' on the fastest runs, so the budget uses those' : ''}): at ${target}× PyTorch's ${ms(torchStep)} ms our whole step may take ${ms(budget)} ms (ours: ${ms(ourStep)} ms). ` +
    `Its convolution kernels alone (${stat}, each timed alone at the step's shapes in every round) take ${ms(ourConvs)} ms on wasm + fixes, 1 thread (Conv2D of both layers ${ms(ours.forward)} ms, Conv2DBackpropFilter of both ${ms(ours.filter)} ms, Conv2DBackpropInput of the second ${ms(ours.input)} ms) ` +
    `vs ${ms(theirConvs)} ms for the same kernels in PyTorch (forward ${ms(theirs.forward)} ms, backward ${ms(theirs.backward)} ms; ours ${(ourConvs / theirConvs).toFixed(1)}×). ` +
    (ourConvs >= budget
      ? `So the convolutions alone already exceed the whole budget, by ${ms(ourConvs - budget)} ms: nothing outside them can meet the target. `
      : `So the convolutions alone take ${((100 * ourConvs) / budget).toFixed(0)}% of the budget and leave ${ms(budget - ourConvs)} ms for the rest. `) +
    `The rest of our step (bias, ReLU, max-pool and its gradient, dense layer, loss, SGD, tape, read-back) takes ${ms(Math.max(ourStep - ourConvs, 0))} ms vs ${ms(Math.max(torchStep - theirConvs, 0))} ms in PyTorch.`
  );
}

/** The PyTorch table, the notes under it and, for each missed target, its budget. */
function torchSection(side: SideBySide, floor: StepFloor): { md: string; config: JsonObject } {
  const convs = side.convs;
  const header = ['workload (ms)', 'longtail wasm + fixes, 1 thread', 'PyTorch, 1 thread', 'ratio', 'fastest runs: ours / PyTorch', 'target'];
  const ratio = (r: TorchRow) => (r.torch === null ? null : r.ours / r.torch);
  const best = (r: TorchRow) => (r.torchBest === null ? null : r.oursBest / r.torchBest);
  const missed = (r: TorchRow) => {
    const target = TORCH_TARGET[r.kind];
    const a = ratio(r);
    const b = best(r);
    return target === null || a === null || b === null ? null : { median: a > target, fastest: b > target };
  };
  const verdict = (r: TorchRow) => {
    const target = TORCH_TARGET[r.kind];
    const m = missed(r);
    if (target === null) return '—';
    if (m === null) return `≤ ${target}×`;
    return `≤ ${target}×: ${m.median ? 'missed' : 'met'}${m.median === m.fastest ? '' : ` (${m.fastest ? 'missed' : 'met'} on the fastest runs)`}`;
  };
  const rows = side.rows.map((r) => {
    const a = ratio(r);
    const b = best(r);
    return [
      r.name,
      ms(r.ours),
      r.torch === null ? 'n/a' : ms(r.torch),
      a === null ? 'n/a' : `${a.toFixed(2)}×`,
      b === null ? 'n/a' : `${ms(r.oursBest)} / ${ms(r.torchBest as number)} = ${b.toFixed(2)}×`,
      verdict(r),
    ];
  });
  const lines = [markdownTable(header, rows), ''];
  const config: JsonObject = {
    rounds: ROUNDS,
    runs: SIDE_RUNS as unknown as JsonObject,
    pytorch: side.torch === null ? null : (side.torch.versions as JsonObject),
    rows: side.rows.map((r) => ({ ...r, ratio: ratio(r), ratioFastest: best(r) })) as unknown as JsonObject,
    convs: convs as unknown as JsonObject,
  };
  if (side.torch === null) {
    lines.push(`PyTorch: not available (${PY_INSTALL_HINT}).`);
    return { md: lines.join('\n'), config };
  }
  const torch = side.torch;
  const cnnRows = side.rows.filter((r) => r.kind === 'cnn');
  lines.push(
    `Both sides run the same step from the same inputs and initial weights (written by the bench; PyTorch gets them in its layouts: NCHW images, OIHW kernels, [out, in] dense weights with the CNN's rows reordered for the channel-first flatten): forward, mean softmax cross-entropy, gradients, one SGD update (lr 0.01), loss read back; the CNN with 'same' 3×3 convolutions, bias, ReLU and 2×2 max-pooling. Same initial losses (${side.losses.map((l, i) => `${l.toFixed(4)} vs ${(torch.workloads[i]?.loss as number).toFixed(4)}`).join(', ')}). PyTorch ${String(torch.versions['torch'])} on ${String(torch.versions['threads'])} thread (\`torch.set_num_threads(1)\`, \`torch.optim.SGD\`) in a child /usr/bin/python3, then ours, ${ROUNDS} alternating rounds; medians over rounds of per-round medians (${SIDE_RUNS.linear.runs} / ${SIDE_RUNS.mlp.runs} / ${SIDE_RUNS.cnn.runs} runs), and the fastest single runs of all rounds (the least disturbed by other jobs).`,
    '',
    `The two PyTorch CNN rows differ only in glibc's allocator settings: by default glibc maps every buffer above its mmap threshold afresh and unmaps it on free, so each step pays page faults on PyTorch's multi-MB activations, which can be slow on a loaded machine (in a probe here PyTorch's first-layer convolution alone alternated between about 1 and 18 ms per call); the second row raises the threshold with \`mallopt\` in the same process (as jemalloc or tcmalloc would avoid the faults), i.e. PyTorch's cost without them (its two forward convolutions alone, medians: ${ms((cnnRows[0]?.torchConvs as TorchConvs).forward)} ms by default vs ${ms((cnnRows[1]?.torchConvs as TorchConvs).forward)} ms heap-kept). Ours is the same step in both rows. Load hits the two sides differently: in this run PyTorch's CNN medians are ${cnnRows.map((r) => `${((r.torch as number) / (r.torchBest as number)).toFixed(1)}×`).join(' and ')} its fastest runs, ours ${((cnnRows[0] as TorchRow).ours / (cnnRows[0] as TorchRow).oursBest).toFixed(1)}×; the fastest runs are the closer measure of what each side costs on an idle core.`,
  );
  for (const r of cnnRows) {
    const m = missed(r);
    if (m !== null && (m.median || m.fastest)) lines.push('', cnnBudget(r, convs, m.median ? 'median' : 'fastest'));
  }
  const head = side.rows[0] as TorchRow;
  const headMissed = missed(head);
  if (headMissed !== null && (headMissed.median || headMissed.fastest)) {
    const target = TORCH_TARGET.linear as number;
    const matmuls = floor.forward + floor.weightGradient;
    const torchStep = (headMissed.median ? head.torch : head.torchBest) as number;
    const ourStep = headMissed.median ? head.ours : head.oursBest;
    lines.push(
      '',
      `Linear-head budget against PyTorch (target missed${headMissed.median ? '' : ' on the fastest runs, so the budget uses those'}): at ${target}× PyTorch's ${ms(torchStep)} ms our whole step may take ${ms(target * torchStep)} ms (ours: ${ms(ourStep)} ms); its two matmuls alone take ${ms(matmuls)} ms (medians, see the budget above), the rest ${ms(Math.max(ourStep - matmuls, 0))} ms.`,
    );
  }
  return { md: lines.join('\n'), config };
}

async function main(): Promise<void> {
  const loadStart = loadavg()[0] ?? 0;
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
  const side = sideBySide();
  const k = side.convs.median;
  console.log(`small-CNN convolution kernels alone on wasm + fixes (medians): Conv2D ${ms(k.forward)} ms, Conv2DBackpropFilter ${ms(k.filter)} ms, Conv2DBackpropInput ${ms(k.input)} ms`);
  const vsTorch = torchSection(side, floor);

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
    `${environmentLine()}; 1-min load average ${loadStart.toFixed(1)} at start, ${(loadavg()[0] ?? 0).toFixed(1)} at end (2 cores shared with other jobs: read the ratios, measured in the same run).`,
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
    '',
    '### Against PyTorch (1 thread)',
    '',
    vsTorch.md,
  ].join('\n');
  console.log(`\n${markdown}`);
  writeBenchSection('backends', markdown, { torch: vsTorch.config });
}

await main();
