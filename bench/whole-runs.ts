/**
 * `npm run bench:runs`: whole training runs through the public Trainer on the wasm backend, side by side
 * with the same protocol in PyTorch 1.13 CPU on one thread (scripts/bench/whole_runs.py through
 * /usr/bin/python3): Adam lr 1e-3 with L2 weight decay 5e-4, batch 256, softmax cross-entropy, a fresh
 * random order each epoch, the same deterministic data (seeded long-tailed Gaussian classes written to a
 * temporary folder for Python). Medians of 3 whole runs each; writes its section of docs/benchmarks.md
 * (`--no-write` to only print). For linear heads on features it also times the dedicated head step
 * (src/train/head-step.ts) through a thin local harness that does what `fit` does around a step.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import {
  classifier,
  optimizerFromConfig,
  seededRng,
  trainer,
  crossEntropyLoss,
  instanceSampler,
  linearHead,
  mlpBackbone,
  useBackend,
  type Rng,
} from '../src/index.js';
import { createHeadStep, headStepPlan, HOST_STACK_MAX_MACS, HOST_STEP_MAX_MACS } from '../src/train/head-step.js';
import { createGemmKernel } from '../src/core/wasm-gemm.js';
import { disposeSplit, loadSource, makeSplit, splitsDir } from './fmnist-data.js';
import { environmentLine, markdownTable, runPythonBench, timeMedian, writeBenchSection } from './util.js';

/** One whole run of the protocol. */
export interface RunSpec {
  readonly id: string;
  readonly title: string;
  readonly features: number;
  readonly classes: number;
  readonly samples: number;
  readonly epochs: number;
  readonly hidden: readonly number[];
  readonly batchSize: number;
  /**
   * Where the data comes from: seeded long-tailed Gaussian classes ({@link makeData}, default) or the
   * Fashion-MNIST-LT IF 100 split as bench:fmnist prepares it (needs `dataset-fashion-mnist`; the row is
   * skipped with the install hint when the images are absent).
   */
  readonly source?: 'gaussian' | 'fashion-mnist-lt';
}

const RUNS: readonly RunSpec[] = [
  { id: 'tabA-linear', title: 'tabular A (16 features, 26 classes), linear head', features: 16, classes: 26, samples: 42 * 256, epochs: 100, hidden: [], batchSize: 256 },
  { id: 'tabA-mlp128', title: 'tabular A, MLP 128', features: 16, classes: 26, samples: 42 * 256, epochs: 100, hidden: [128], batchSize: 256 },
  { id: 'tabB-mlp64', title: 'tabular B (9 features, 7 classes), MLP 64', features: 9, classes: 7, samples: 34 * 256, epochs: 100, hidden: [64], batchSize: 256 },
  { id: 'frozen512-10', title: 'frozen 512-d features, 10 classes, linear head', features: 512, classes: 10, samples: 20 * 256, epochs: 25, hidden: [], batchSize: 256 },
  { id: 'frozen512-100', title: 'frozen 512-d features, 100 classes, linear head', features: 512, classes: 100, samples: 20 * 256, epochs: 25, hidden: [], batchSize: 256 },
  { id: 'fmnist-mlp256', title: 'Fashion-MNIST-LT IF 100, MLP 256, 30 epochs', features: 784, classes: 10, samples: 14886, epochs: 30, hidden: [256], batchSize: 256, source: 'fashion-mnist-lt' },
];

const REPEATS = 3;
const argv = process.argv.slice(2);
const write = !argv.includes('--no-write');
const only = argv.includes('--only') ? (argv[argv.indexOf('--only') + 1] ?? '').split(',') : null;
const skipPython = argv.includes('--no-python');
const INSTALL_HINT = 'PyTorch baseline absent: install it with `sudo apt-get update && sudo apt-get install -y python3-torch python3-numpy` (Debian/Ubuntu; used through /usr/bin/python3); only the tfjs side is reported';

/** Long-tailed Gaussian classes: n_c ∝ 100^(−c/(C−1)) (imbalance factor 100), means N(0, 1.5²), unit noise. */
export function makeData(run: RunSpec, rng: Rng): { x: Float32Array; y: Int32Array } {
  const { features: d, classes: c, samples: n } = run;
  const weights = Array.from({ length: c }, (_, j) => Math.pow(100, -j / Math.max(1, c - 1)));
  const total = weights.reduce((a, b) => a + b, 0);
  const counts = weights.map((w) => Math.max(1, Math.floor((w / total) * n)));
  let k = 0;
  while (counts.reduce((a, b) => a + b, 0) < n) counts[k++ % c]! += 1;
  const means = Float32Array.from({ length: c * d }, () => 1.5 * rng.normal());
  const x = new Float32Array(n * d);
  const y = new Int32Array(n);
  let i = 0;
  for (let j = 0; j < c; j++) {
    for (let t = 0; t < (counts[j] as number) && i < n; t++, i++) {
      y[i] = j;
      for (let f = 0; f < d; f++) x[i * d + f] = (means[j * d + f] as number) + rng.normal();
    }
  }
  return { x, y };
}

/**
 * The run's training data: {@link makeData}, or the standardised Fashion-MNIST-LT IF 100 images of
 * bench:fmnist (an Error naming the install command when the dataset is absent).
 */
async function runData(run: RunSpec): Promise<{ x: Float32Array; y: Int32Array }> {
  if ((run.source ?? 'gaussian') === 'gaussian') return makeData(run, seededRng(`whole-runs:${run.id}`));
  const split = await makeSplit('ir100', await loadSource(undefined), { splitsDir: splitsDir(undefined), epochs: run.epochs, batchSize: run.batchSize });
  try {
    const x = Float32Array.from(await split.train.x.data());
    if (split.train.y.length !== run.samples || x.length !== run.samples * run.features) throw new Error(`${run.id}: expected ${run.samples} rows of ${run.features} features, got ${split.train.y.length}`);
    return { x, y: Int32Array.from(split.train.y) };
  } finally {
    disposeSplit(split);
  }
}

/** Optimizer steps of a whole run (the last batch of an epoch may be partial). */
function stepsOf(run: RunSpec): number {
  return Math.ceil(run.samples / run.batchSize) * run.epochs;
}

/** Forward and backward multiply-adds of one step of `run` (x·W, xᵀ·G per layer, G·Wᵀ below the top) × 2 = FLOP. */
function stepFlops(run: RunSpec): number {
  const widths = [run.features, ...run.hidden, run.classes];
  return widths.slice(1).reduce((sum, w, l) => sum + 2 * run.batchSize * (widths[l] as number) * w * (l > 0 ? 3 : 2), 0);
}

/** Side of the square product timed for each side's peak rate ({@link peakGflops}, whole_runs.py). */
const PEAK_SIZE = 1024;

/** Our backend's matmul rate on a large square product (XNNPACK on wasm, one thread), GFLOP/s. */
function peakGflops(): number {
  const a = tf.randomNormal([PEAK_SIZE, PEAK_SIZE]);
  const b = tf.randomNormal([PEAK_SIZE, PEAK_SIZE]);
  const ms = timeMedian(() => tf.tidy(() => tf.matMul(a, b).shape.length), { warmup: 2, runs: 9 });
  tf.dispose([a, b]);
  return (2 * PEAK_SIZE ** 3) / (ms * 1e6);
}

/** Whether the dedicated step applies to `run`'s model and loss. */
function dedicatedApplies(run: RunSpec): boolean {
  const m = makeModel(run, 0);
  try {
    return headStepPlan(m, crossEntropyLoss()) !== null;
  } finally {
    m.dispose();
  }
}

/** Builds the run's model (linear head, or MLP backbone + linear head) from `seed`. */
export function makeModel(run: RunSpec, seed: number) {
  const rng = seededRng(seed);
  if (run.hidden.length === 0) return classifier({ head: linearHead({ inputDim: run.features, numClasses: run.classes, rng: rng.fork('head') }) });
  const backbone = mlpBackbone({ inputDim: run.features, hiddenSizes: [...run.hidden], rng: rng.fork('backbone') });
  return classifier({ backbone, head: linearHead({ inputDim: run.hidden[run.hidden.length - 1] as number, numClasses: run.classes, rng: rng.fork('head') }) });
}

async function trainerRunSeconds(run: RunSpec, data: { x: Float32Array; y: Int32Array }, seed: number): Promise<{ seconds: number; loss: number }> {
  const x = tf.tensor2d(data.x, [run.samples, run.features]);
  const model = makeModel(run, seed);
  const loop = trainer({ model, loss: crossEntropyLoss(), seed, epochs: run.epochs, batchSize: run.batchSize, optimizer: { kind: 'adam', learningRate: 1e-3, weightDecay: 5e-4 }, progress: 'none' });
  const t0 = performance.now();
  const history = await loop.fit({ x, y: data.y });
  const seconds = (performance.now() - t0) / 1000;
  loop.dispose();
  model.dispose();
  x.dispose();
  return { seconds, loss: history.epochs[history.epochs.length - 1]?.['loss'] ?? NaN };
}

/**
 * The head step through a thin local harness doing what `fit` does around each step: the instance
 * sampler's epoch order from the run's seed, host labels of the batch, one step, an event-loop yield;
 * mean loss per epoch. (How the trainer would call it: see src/train/head-step.ts, `headStepPlan`.)
 */
async function headRunSeconds(run: RunSpec, data: { x: Float32Array; y: Int32Array }, seed: number): Promise<{ seconds: number; loss: number }> {
  const model = makeModel(run, seed);
  const loss = crossEntropyLoss();
  const plan = headStepPlan(model, loss);
  const optimizer = optimizerFromConfig({ kind: 'adam', learningRate: 1e-3, weightDecay: 5e-4 });
  const head = plan === null ? null : createHeadStep({ ...plan, optimizer });
  if (head === null) throw new Error(`head step not applicable to ${run.id}`);
  const sampler = instanceSampler();
  const root = seededRng(seed);
  let epochLoss = NaN;
  const t0 = performance.now();
  for (let epoch = 0; epoch < run.epochs; epoch++) {
    let sum = 0;
    let seen = 0;
    const batches = [...sampler.batches(data.y, { epoch, totalEpochs: run.epochs, batchSize: run.batchSize, rng: root.fork(`epoch:${epoch}`).fork('sampler') })];
    for (const rows of batches) {
      const labels = new Int32Array(rows.length);
      for (let i = 0; i < rows.length; i++) labels[i] = data.y[rows[i] as number] as number;
      const r = head.step({ x: data.x, rows, labels, learningRate: 1e-3 });
      if (r.bad !== -1) throw new Error(`non-finite step (${r.bad}) in ${run.id}`);
      sum += r.loss * rows.length;
      seen += rows.length;
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
    epochLoss = sum / seen;
  }
  const seconds = (performance.now() - t0) / 1000;
  head.dispose();
  optimizer.dispose();
  model.dispose();
  return { seconds, loss: epochLoss };
}

/**
 * The compute floor of one step of `run` on wasm: its matrix products alone (forward x·W per layer,
 * weight gradients xᵀ·g, input gradients g·Wᵀ below the top layer), XNNPACK through tfjs matMul on one
 * thread (kernel launches included, no read-back), in ms.
 */
function productsMs(run: RunSpec): number {
  const widths = [run.features, ...run.hidden, run.classes];
  const b = run.batchSize;
  const ws = widths.slice(1).map((w, l) => tf.randomNormal([widths[l] as number, w]));
  const acts = widths.map((w) => tf.randomNormal([b, w]));
  const ms = timeMedian(() => tf.tidy(() => {
    const outs: tf.Tensor[] = [];
    ws.forEach((w, l) => {
      outs.push(tf.matMul(acts[l] as tf.Tensor, w));
      outs.push(tf.matMul(acts[l] as tf.Tensor, acts[l + 1] as tf.Tensor, true, false));
      if (l > 0) outs.push(tf.matMul(acts[l + 1] as tf.Tensor, w, false, true));
    });
    // wasm kernels run synchronously: the products are done here. No read-back (the step reads none
    // of these outputs back; a dataSync per product made this "floor" exceed whole steps).
    return outs.length;
  }), { warmup: 10, runs: 51 });
  tf.dispose([...ws, ...acts]);
  return ms;
}

/**
 * The dedicated step's products alone on the library's f32x4 kernel (src/core/wasm-gemm.ts), laid out
 * as src/train/head-step.ts lays them out (forward x·W per layer, weight gradients xᵀ·G, input gradients
 * G·Wᵀ below the top layer), in ms; null when the step would use XNNPACK for the run's size.
 */
function simdProductsMs(run: RunSpec): number | null {
  const b = run.batchSize;
  const widths = [run.features, ...run.hidden, run.classes];
  const macs = widths.slice(1).reduce((sum, w, l) => sum + b * (widths[l] as number) * w, 0);
  if (run.hidden.length === 0 ? macs > HOST_STEP_MAX_MACS : macs > HOST_STACK_MAX_MACS) return null;
  const g = createGemmKernel();
  if (g === null) return null;
  const w4 = widths.map((w) => Math.ceil(w / 4) * 4);
  const acts = w4.map((w) => g.alloc(b * w));
  const grads = w4.map((w) => g.alloc(b * w));
  const layers = w4.slice(1).map((out, l) => ({ inn: w4[l] as number, out, w: g.alloc((w4[l] as number) * out), wT: g.alloc((w4[l] as number) * out), dw: g.alloc((w4[l] as number) * out) }));
  const gc = g.alloc(b * run.classes);
  return timeMedian(() => {
    layers.forEach(({ inn, out, w }, l) => g.axpyGrid(acts[l] as number, w, acts[l + 1] as number, b, inn, out / 4, 0, out * 4, out * 4, 0));
    layers.forEach(({ inn, out, wT, dw }, l) => {
      const d = widths[l] as number;
      const c = widths[l + 1] as number;
      // A linear head computes dWᵀ (vectors along D) when C < D, as the head step does.
      if (run.hidden.length === 0 && c < d) g.axpyGrid(gc, acts[0] as number, dw, b, c, inn / 4, inn * 4, 0, 0, inn * 4);
      else g.axpyGrid(acts[l] as number, grads[l + 1] as number, dw, b, inn, out / 4, out * 4, 0, 0, out * 4);
      if (l > 0) g.axpyGrid(grads[l + 1] as number, wT, grads[l] as number, b, out, inn / 4, 0, inn * 4, inn * 4, 0);
    });
  }, { warmup: 20, runs: 101 });
}

interface PythonResult {
  readonly versions: Record<string, string | number>;
  readonly runs: Record<string, { seconds: number[]; loss: number }>;
  /** torch.mm on {@link PEAK_SIZE}² float32 matrices, one thread, GFLOP/s. */
  readonly peakGflops: number;
}

/** Why there is no PyTorch side (null: it is available). */
function pythonMissing(): string | null {
  const py = '/usr/bin/python3';
  if (skipPython) return 'PyTorch baseline skipped (--no-python)';
  if (!existsSync(py)) return INSTALL_HINT;
  try {
    execFileSync(py, ['-c', 'import torch, numpy'], { stdio: 'ignore' });
  } catch {
    return INSTALL_HINT;
  }
  return null;
}

/** Writes the runs' data for Python once; returns the folder (removed by the caller). */
function writeForPython(runs: readonly RunSpec[], datasets: readonly { x: Float32Array; y: Int32Array }[]): string {
  const dir = mkdtempSync(join(tmpdir(), 'longtail-runs-'));
  const spec = {
    repeats: 1,
    peakSize: PEAK_SIZE,
    runs: runs.map((run, i) => {
      const data = datasets[i] as { x: Float32Array; y: Int32Array };
      writeFileSync(join(dir, `${run.id}.x.f32`), new Uint8Array(data.x.buffer, data.x.byteOffset, data.x.byteLength));
      writeFileSync(join(dir, `${run.id}.y.i32`), new Uint8Array(data.y.buffer, data.y.byteOffset, data.y.byteLength));
      return { ...run, x: `${run.id}.x.f32`, y: `${run.id}.y.i32` };
    }),
  };
  writeFileSync(join(dir, 'spec.json'), JSON.stringify(spec));
  return dir;
}

/** One PyTorch round (every run once) on one thread, in a child /usr/bin/python3. */
function pythonRound(dir: string): PythonResult | string {
  try {
    return runPythonBench<PythonResult>('whole_runs.py', dir, { stderr: 'inherit', env: { OMP_NUM_THREADS: '1', MKL_NUM_THREADS: '1' } });
  } catch (e) {
    return `PyTorch baseline failed: ${(e as Error).message.split('\n')[0]}`;
  }
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] as number;
}

const s = (v: number): string => (v >= 10 ? v.toFixed(1) : v.toFixed(2));
const ratio = (a: number, b: number | undefined): string => (b === undefined ? 'n/a' : `${(a / b).toFixed(2)}×`);

async function main(): Promise<void> {
  const loadStart = os.loadavg()[0] ?? NaN;
  const caps = await useBackend('wasm');
  const runs: RunSpec[] = [];
  const datasets: { x: Float32Array; y: Int32Array }[] = [];
  const skipped: string[] = [];
  for (const run of only === null ? RUNS : RUNS.filter((r) => only.includes(r.id))) {
    try {
      datasets.push(await runData(run));
      runs.push(run);
    } catch (e) {
      skipped.push(`- ${run.title}: not run (${(e as Error).message.split('\n')[0]})`);
    }
  }
  const ourPeak: number[] = [];
  const torchPeak: number[] = [];
  const trainerTimes: number[][] = runs.map(() => []);
  const headTimes: (number[] | null)[] = runs.map((r) => (dedicatedApplies(r) ? [] : null));
  const losses: Record<string, { trainer: number; head?: number; pytorch?: number }> = {};
  const missing = pythonMissing();
  const dir = missing === null ? writeForPython(runs, datasets) : null;
  const torchSeconds: Record<string, number[]> = {};
  let torchVersions: Record<string, string | number> | null = null;
  let py: string | null = missing;
  // Rounds alternate the variants (and PyTorch) so machine load affects them alike.
  for (let r = 0; r < REPEATS; r++) {
    ourPeak.push(peakGflops());
    for (let i = 0; i < runs.length; i++) {
      const run = runs[i] as RunSpec;
      const data = datasets[i] as { x: Float32Array; y: Int32Array };
      const t = await trainerRunSeconds(run, data, r);
      trainerTimes[i]!.push(t.seconds);
      losses[run.id] = { ...losses[run.id], trainer: t.loss };
      const head = headTimes[i];
      if (head !== null && head !== undefined) {
        const h = await headRunSeconds(run, data, r);
        head.push(h.seconds);
        losses[run.id] = { ...losses[run.id], trainer: t.loss, head: h.loss };
      }
      console.log(`round ${r + 1}/${REPEATS} ${run.id}: trainer ${s(t.seconds)} s${head ? `, dedicated step ${s(head[head.length - 1] as number)} s` : ''} (tensors ${tf.memory().numTensors})`);
    }
    if (dir !== null && py === null) {
      const round = pythonRound(dir);
      if (typeof round === 'string') py = round;
      else {
        torchVersions = round.versions;
        torchPeak.push(round.peakGflops);
        for (const [id, v] of Object.entries(round.runs)) {
          (torchSeconds[id] ??= []).push(...v.seconds);
          if (losses[id] !== undefined) losses[id] = { ...losses[id], pytorch: v.loss };
        }
        console.log(`round ${r + 1}/${REPEATS} PyTorch: ${Object.entries(round.runs).map(([id, v]) => `${id} ${s(v.seconds[0] as number)} s`).join(', ')}`);
      }
    }
  }
  if (dir !== null) rmSync(dir, { recursive: true, force: true });
  const torch = py === null && torchVersions !== null ? { versions: torchVersions, runs: Object.fromEntries(Object.entries(torchSeconds).map(([id, seconds]) => [id, { seconds, loss: NaN }])) } : null;
  if (py !== null) console.log(py);
  const budgets: string[] = [];
  const peaks = { ours: median(ourPeak), torch: torchPeak.length === 0 ? null : median(torchPeak) };
  /** What the products of a step need at the peak rates: the compute floor of both sides. */
  const peakLine = (run: RunSpec, allowedMs: number): string => {
    const mflop = stepFlops(run) / 1e6;
    const need = mflop / allowedMs; // MFLOP per ms = GFLOP/s
    const floorOurs = mflop / peaks.ours;
    const torchPart = peaks.torch === null ? '' : `, PyTorch's ${(mflop / peaks.torch).toFixed(2)} ms at its ${peaks.torch.toFixed(1)} GFLOP/s`;
    const verdict = need > peaks.ours
      ? ` Even with nothing else in the step, the target needs the products at ${need.toFixed(1)} GFLOP/s, ${(need / peaks.ours).toFixed(1)}× the best rate our backend reaches on this machine: out of reach with WebAssembly SIMD here.`
      : '';
    return ` Compute floor: ${mflop.toFixed(2)} MFLOP of products per step, ${floorOurs.toFixed(2)} ms at our peak ${peaks.ours.toFixed(1)} GFLOP/s${torchPart}.${verdict}`;
  };
  const rows = runs.map((run, i) => {
    const steps = stepsOf(run);
    const tr = median(trainerTimes[i] as number[]);
    const hd = headTimes[i] === null ? undefined : median(headTimes[i] as number[]);
    const pt = torch?.runs[run.id] === undefined ? undefined : median(torch.runs[run.id]!.seconds);
    if (pt !== undefined) {
      const perStep = (v: number) => (1000 * v) / steps;
      const simd = hd === undefined ? null : simdProductsMs(run);
      const xnn = productsMs(run);
      // The products as the dedicated step computes them (f32x4 kernel for small sizes, else XNNPACK
      // through tfjs matMul, which includes its kernel launches and packing of the changing operands).
      const floor = simd ?? xnn;
      const floorName = simd !== null ? `the library's f32x4 kernel, as the dedicated step runs them; XNNPACK through tfjs, weights packed once: ${xnn.toFixed(2)} ms` : 'XNNPACK through tfjs matMul, one thread, weights packed once (the step repacks its changed weights every step)';
      const target = run.hidden.length === 0 ? 0.5 : 1.0;
      const best = hd === undefined ? tr : Math.min(tr, hd);
      if (best / pt > target) {
        const allowed = target * perStep(pt);
        const rest = perStep(best) - floor;
        budgets.push(
          `- ${run.title}: target ${target}× = ${allowed.toFixed(2)} ms per step; ${hd === undefined ? 'Trainer' : 'best path'} ${perStep(best).toFixed(2)} ms, of which the matrix products alone (${floorName}) take ${floor.toFixed(2)} ms` +
            (floor >= allowed
              ? ` — already over the target, so it is out of reach with these products (PyTorch's whole step: ${perStep(pt).toFixed(2)} ms)`
              : `, leaving ${(allowed - floor).toFixed(2)} ms for everything else (now ${rest >= 0 ? rest.toFixed(2) : `${rest.toFixed(2)}: the products timed alone exceed the step's share in the run, timing noise`} ms)`) +
            '.' +
            peakLine(run, allowed),
        );
      }
    }
    return [
      run.title,
      steps.toLocaleString('en-US'),
      s(tr),
      hd === undefined ? '—' : s(hd),
      pt === undefined ? 'n/a' : s(pt),
      ratio(tr, pt),
      hd === undefined ? '—' : ratio(hd, pt),
      `${(1000 * tr / steps).toFixed(2)} / ${hd === undefined ? '—' : (1000 * hd / steps).toFixed(2)} / ${pt === undefined ? 'n/a' : (1000 * pt / steps).toFixed(2)}`,
    ];
  });
  const manifest = {
    backend: caps.backend,
    simd: caps.simd,
    threads: caps.threads,
    fixes: caps.fixes.length,
    tfjs: caps.tfjsVersion,
    node: process.version,
    cpus: os.cpus().length,
    pytorch: torch?.versions ?? null,
    repeats: REPEATS,
    peakGflops: { ours: peaks.ours, pytorch: peaks.torch, size: PEAK_SIZE },
    losses,
  };
  const text = [
    `${environmentLine()}; medians of ${REPEATS} whole runs (s); 1-min load average ${loadStart.toFixed(1)} at start, ${os.loadavg()[0]?.toFixed(1)} at end (2 cores shared with other jobs: read the ratios).`,
    '',
    markdownTable(['run', 'steps', 'Trainer.fit (wasm)', 'dedicated step, harness (wasm)', 'PyTorch 1 thread', 'Trainer / PyTorch', 'dedicated / PyTorch', 'ms per step: Trainer / dedicated / PyTorch'], rows),
    '',
    'Targets (issue 18): every Trainer run ≤ 1.0× PyTorch; the frozen-feature linear head ≤ 0.5×. Budgets of the missed targets (per step; products timed alone in this run):',
    '',
    ...(budgets.length === 0 ? ['- none missed'] : budgets),
    ...(skipped.length === 0 ? [] : ['', 'Runs left out:', '', ...skipped]),
    '',
    `Peak rates (float32 ${PEAK_SIZE}×${PEAK_SIZE} by ${PEAK_SIZE}×${PEAK_SIZE} product, one thread, median of the rounds): ours (wasm, XNNPACK through tfjs matMul) ${peaks.ours.toFixed(1)} GFLOP/s, PyTorch (torch.mm) ${peaks.torch === null ? 'n/a' : `${peaks.torch.toFixed(1)} GFLOP/s`}. 128-bit WebAssembly SIMD without fused multiply-add against PyTorch's native BLAS (AVX2 with FMA where the CPU has it): steps made of large products cannot run faster than this ratio allows.`,
    '',
    "Products are medians of warm repetitions (little affected by other processes); whole runs are wall time including the time slices other processes take, so under load the 'everything else' part is inflated most.",
    '',
    'The dedicated step is src/train/head-step.ts (linear heads, and small MLPs without dropout or batch norm, on the library\'s f32x4 WebAssembly kernel; XNNPACK for the products of large heads) called by a thin harness in this bench that does what `fit` does around a step (sampler order, host labels, one event-loop yield). `Trainer.fit` uses the same step for these runs; the Trainer column is the public `trainer(...).fit` on the same data, and its difference to the harness is the per-fit fixed cost (data fingerprint, manifest, first-step set-up) and the per-step bookkeeping (batch split, callbacks, result objects).',
    '',
    py === null ? 'PyTorch ran in a child process after each round of the tfjs runs (1 thread, same data and protocol).' : `${py}.`,
    'Run manifest:',
    '',
    '```json',
    JSON.stringify(manifest, null, 1),
    '```',
  ].join('\n');
  console.log(text);
  if (write) writeBenchSection('whole-runs', `### Whole runs against PyTorch (bench:runs)\n\n${text}`);
}

void main();
