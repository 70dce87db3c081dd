/**
 * The rows of the Fashion-MNIST-LT benchmark. A row is one (model, method) cell of a results table: a
 * function `(split, seed) => Promise<EvaluationReport>` registered with {@link registerRow}. The harness
 * (bench/fmnist.ts) runs every selected row on every selected split and seed and writes the tables;
 * adding a method is adding a row here (or in another bench/fmnist-*.ts file imported by fmnist.ts).
 */
import {
  classWeighted,
  classifier,
  seededRng,
  trainer,
  crossEntropyLoss,
  linearHead,
  logitAdjustedLoss,
  mixupView,
  mlpBackbone,
  postHocAdjust,
  selectRows,
  type EvaluationReport,
  type Loss,
  type Model,
  type SamplerSpec,
} from '../src/index.js';
import { poolsByClass } from '../src/data/long-tail.js';
import type { BenchSplit, SplitName } from './fmnist-data.js';

/** Trains and evaluates one (model, method) on a split with a seed; top-1 etc. on the balanced test set. */
export type RowRun = (split: BenchSplit, seed: number) => Promise<EvaluationReport>;

/** One registered row. */
export interface BenchRow {
  /** Unique id, used by `--only` together with the model and method names. */
  readonly id: string;
  /** Which results table the row belongs to (see {@link TABLES}). */
  readonly table: string;
  /** Row label of the table (the architecture). */
  readonly model: string;
  /** Column label of the table (the method). */
  readonly method: string;
  /** The splits the row runs on. */
  readonly splits: readonly SplitName[];
  /** Top-1 (%) of the PyTorch reference for the same recipe, per split, when there is one. */
  readonly reference?: Partial<Record<SplitName, number>>;
  /**
   * Id of the row this (recipe) row is judged against in the checks, when it is not the cross-entropy row of
   * the same architecture; the named row is then a baseline, not judged itself.
   */
  readonly baselineRow?: string;
  /** Id of the row whose training run this row evaluates again (its time is that row's). */
  readonly sharesRunWith?: string;
  readonly run: RowRun;
}

/** A results table: rows (models) × columns (methods) of the rows registered under `id`. */
export interface BenchTable {
  readonly id: string;
  /** Heading above the table; `{split}` is replaced by the split label. */
  readonly title: string;
}

/** The tables, in output order. Recipe rows add their own table id here. */
export const TABLES: BenchTable[] = [
  { id: 'parity', title: '{split}: the reference recipes (parity with PyTorch)' },
  { id: 'upper', title: 'Balanced upper bound (all 60,000 training images, cross-entropy)' },
  { id: 'sameSize', title: 'Balanced data of the IF 100 size (14,886 of the 60,000 training images, cross-entropy, 30 epochs)' },
];

/** Every row, in registration order (which is also column order within a table). */
export const ROWS: BenchRow[] = [];

/** Adds a row; ids must be unique. */
export function registerRow(row: BenchRow): void {
  if (ROWS.some((r) => r.id === row.id)) throw new Error(`duplicate bench row id ${row.id}`);
  ROWS.push(row);
}

// ---------------------------------------------------------------------------------------------------
// The reference recipes: linear and MLP 784-256-10, Adam 1e-3 with L2 5e-4, batch 256.

/** Architectures of the reference runs. */
export type ReferenceModel = 'linear' | 'mlp';

/**
 * The reference architectures with PyTorch's `nn.Linear` initialisation (the library's default): linear =
 * one dense layer on the 784 standardised pixels; MLP = 784-256 ReLU, then a dense layer to 10.
 */
export function referenceModel(kind: ReferenceModel, seed: number): Model {
  const rng = seededRng(seed).fork('model');
  if (kind === 'linear') return classifier({ head: linearHead({ inputDim: 784, numClasses: 10, rng: rng.fork('head') }) });
  const backbone = mlpBackbone({ inputDim: 784, hiddenSizes: [256], rng: rng.fork('backbone') });
  return classifier({ backbone, head: linearHead({ inputDim: 256, numClasses: 10, rng: rng.fork('head') }) });
}

/** What a reference-recipe run varies. */
export interface RecipeSpec {
  readonly model: ReferenceModel;
  readonly loss: () => Loss<'logits'>;
  readonly sampler?: SamplerSpec;
  /** The learning-rate schedule: the protocol's constant rate, or cosine decay to 0 over the run. @defaultValue 'constant' */
  readonly schedule?: 'constant' | 'cosine';
  /** MixUp of the training batches with λ ~ Beta(α, α) (soft targets); absent: no MixUp. */
  readonly mixupAlpha?: number;
}

/** A trained model's evaluations: plain arg-max, and after post-hoc logit adjustment (τ = 1). */
export interface RecipeResult {
  readonly plain: EvaluationReport;
  readonly postHoc: EvaluationReport;
}

/**
 * Trains one reference recipe through the library's Trainer (Adam lr 1e-3, L2 weight decay 5e-4 added to
 * the gradient as PyTorch's `Adam(weight_decay=…)`, the split's epochs and batch size, the run's seed; the
 * spec's schedule and MixUp when it sets them) and evaluates the final model on the balanced test set, plainly and with z − log π.
 */
export async function trainRecipe(split: BenchSplit, seed: number, spec: RecipeSpec): Promise<RecipeResult> {
  const model = referenceModel(spec.model, seed);
  const loop = trainer({
    model,
    loss: spec.loss(),
    seed,
    epochs: split.epochs,
    batchSize: split.batchSize,
    optimizer: { kind: 'adam', learningRate: 1e-3, weightDecay: 5e-4 },
    ...(spec.sampler === undefined ? {} : { sampler: spec.sampler }),
    ...(spec.schedule === 'cosine' ? { learningRate: { kind: 'cosine' } } : {}),
    ...(spec.mixupAlpha === undefined ? {} : { augment: mixupView({ numClasses: split.counts.length, alpha: spec.mixupAlpha }) }),
    progress: 'none',
  });
  try {
    await loop.fit(split.train);
    const plain = loop.evaluate(split.test);
    const postHoc = loop.evaluate(split.test, { adjustLogits: (z) => postHocAdjust(z, { classCounts: split.counts, tau: 1 }) });
    return { plain, postHoc };
  } finally {
    loop.dispose();
    model.dispose();
  }
}

/**
 * Runs shared between rows (the cross-entropy model is also the post-hoc model), keyed by recipe, split,
 * seed and epochs. The harness clears it after each (split, seed) so finished runs are not kept.
 */
const sharedRuns = new Map<string, Promise<RecipeResult>>();

/** Forgets the shared runs. */
export function clearSharedRuns(): void {
  sharedRuns.clear();
}

/**
 * The run of `spec` shared by the rows that read it (e.g. cross-entropy and its post-hoc adjustment), trained
 * once per (key, split, seed, epochs) until {@link clearSharedRuns}.
 */
export function sharedRun(key: string, split: BenchSplit, seed: number, spec: RecipeSpec): Promise<RecipeResult> {
  const full = `${key}|${split.name}|${seed}|${split.epochs}`;
  let run = sharedRuns.get(full);
  if (run === undefined) {
    run = trainRecipe(split, seed, spec);
    sharedRuns.set(full, run);
  }
  return run;
}

/** Row labels of the reference architectures. */
export const MODEL_LABELS: Readonly<Record<ReferenceModel, string>> = { linear: 'linear', mlp: 'MLP 256' };

/** Top-1 of the PyTorch reference (docs/benchmarks.md, PyTorch reference rows), per model and method. */
const REFERENCE: Readonly<Record<ReferenceModel, Readonly<Record<string, Partial<Record<SplitName, number>>>>>> = {
  linear: {
    ce: { ir100: 77.46, ir10: 82.16, full: 84.38 },
    postHoc: { ir100: 81.51, ir10: 83.14 },
    laLoss: { ir100: 81.72, ir10: 83.11 },
    cbWeights: { ir100: 81.25, ir10: 83.14 },
    cbSampling: { ir100: 80.8, ir10: 82.89 },
  },
  mlp: {
    ce: { ir100: 80.86, ir10: 86.32, full: 88.34 },
    postHoc: { ir100: 83.7, ir10: 86.76 },
    laLoss: { ir100: 83.69, ir10: 86.92 },
    cbWeights: { ir100: 82.8, ir10: 86.52 },
    cbSampling: { ir100: 81.92, ir10: 86.81 },
  },
};

/** Training images of the IF 100 split (its total; the classes' counts differ). */
const IF100_SIZE = 14_886;

/**
 * A class-balanced draw of {@link IF100_SIZE} training images from the balanced split (1,488 or 1,489 per
 * class, seeded), trained for the long-tailed protocol's epochs (30; the balanced split's 15 doubled, so an
 * `--epochs` override applies as well): what re-balancing could reach at best with the long-tailed split's
 * amount of data. The caller disposes `train.x` (the test set is shared).
 */
function balancedSubset(split: BenchSplit, seed: number): BenchSplit {
  const numClasses = split.counts.length;
  const rng = seededRng(seed).fork('same-size');
  const rows: number[] = [];
  poolsByClass(split.train.y, numClasses).forEach((members, c) => {
    const take = Math.floor(IF100_SIZE / numClasses) + (c < IF100_SIZE % numClasses ? 1 : 0);
    rows.push(...rng.shuffle(members).subarray(0, take));
  });
  rows.sort((a, b) => a - b);
  const train = selectRows(split.train, rows);
  const counts = new Float64Array(numClasses);
  for (const c of train.y) counts[c] = (counts[c] as number) + 1;
  return { ...split, train, counts, epochs: split.epochs * 2 };
}

function registerReferenceRows(): void {
  const ce = (): Loss<'logits'> => crossEntropyLoss();
  for (const model of ['linear', 'mlp'] as const) {
    const ref = REFERENCE[model];
    const label = MODEL_LABELS[model];
    const lt: SplitName[] = ['ir100', 'ir10'];
    const ceSpec: RecipeSpec = { model, loss: ce };
    registerRow({
      id: `${model}/ce`,
      table: 'parity',
      model: label,
      method: 'cross-entropy',
      splits: lt,
      reference: ref['ce'] ?? {},
      run: async (split, seed) => (await sharedRun(`${model}/ce`, split, seed, ceSpec)).plain,
    });
    registerRow({
      id: `${model}/post-hoc`,
      table: 'parity',
      model: label,
      method: 'post-hoc logit adj.',
      splits: lt,
      reference: ref['postHoc'] ?? {},
      sharesRunWith: `${model}/ce`,
      run: async (split, seed) => (await sharedRun(`${model}/ce`, split, seed, ceSpec)).postHoc,
    });
    registerRow({
      id: `${model}/la-loss`,
      table: 'parity',
      model: label,
      method: 'logit-adjusted loss',
      splits: lt,
      reference: ref['laLoss'] ?? {},
      run: async (split, seed) => (await trainRecipe(split, seed, { model, loss: () => logitAdjustedLoss({ tau: 1 }) })).plain,
    });
    registerRow({
      id: `${model}/cb-weights`,
      table: 'parity',
      model: label,
      method: 'class-balanced (β 0.9999)',
      splits: lt,
      reference: ref['cbWeights'] ?? {},
      run: async (split, seed) =>
        (await trainRecipe(split, seed, { model, loss: () => crossEntropyLoss({ reducer: classWeighted({ beta: 0.9999 }) }) })).plain,
    });
    registerRow({
      id: `${model}/cb-sampling`,
      table: 'parity',
      model: label,
      method: 'class-balanced sampling',
      splits: lt,
      reference: ref['cbSampling'] ?? {},
      run: async (split, seed) => (await trainRecipe(split, seed, { model, loss: ce, sampler: { kind: 'classBalanced' } })).plain,
    });
  }
  registerRow({
    id: 'mlp/same-size',
    table: 'sameSize',
    model: MODEL_LABELS.mlp,
    method: 'cross-entropy',
    splits: ['full'],
    run: async (split, seed) => {
      const subset = balancedSubset(split, seed);
      try {
        return (await trainRecipe(subset, seed, { model: 'mlp', loss: () => crossEntropyLoss() })).plain;
      } finally {
        subset.train.x.dispose();
      }
    },
  });
  for (const model of ['linear', 'mlp'] as const) {
    registerRow({
      id: `${model}/upper`,
      table: 'upper',
      model: MODEL_LABELS[model],
      method: 'cross-entropy',
      splits: ['full'],
      reference: { full: REFERENCE[model]['ce']?.full ?? NaN },
      run: async (split, seed) => (await trainRecipe(split, seed, { model, loss: () => crossEntropyLoss() })).plain,
    });
  }
}

registerReferenceRows();
