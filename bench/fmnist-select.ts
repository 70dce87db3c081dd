/**
 * Hyperparameter selection for the Fashion-MNIST-LT benchmark without the test set: each seed carves a
 * stratified validation split from its training images ({@link VALIDATION_FRACTION} of every class, at least
 * one image), trains every candidate on the rest, scores it by balanced accuracy on the validation images,
 * then retrains the best candidate on the whole training split and evaluates it once on the test set. The
 * candidates' validation scores and the choice go into the run's record (`selection`) and the report.
 */
import { trainValidationSplit, type EvaluationReport } from '../src/index.js';
import { disposeSplit, type BenchSplit } from './fmnist-data.js';

/** Share of each class's training images held out for selection (the rows' own seed shuffles them). */
export const VALIDATION_FRACTION = 0.2;

/** One configuration a selected row may pick. */
export interface Candidate<C> {
  /** Short label shown in the report, unique within the row. */
  readonly name: string;
  readonly config: C;
}

/** What the selection saw: balanced validation accuracy (%) of every candidate, and the pick. */
export interface Selection {
  readonly chosen: string;
  readonly scores: Readonly<Record<string, number>>;
  /** Images held out for validation (the candidates trained on the others). */
  readonly validationSize: number;
}

/** A test report with the selection that produced it. */
export type SelectedReport = EvaluationReport & { readonly selection: Selection };

/**
 * Trains and evaluates configurations on one split (train → `split.train`, evaluate → `split.test`), one
 * report per configuration in order; it may share work across them (e.g. one frozen encoder).
 */
export type EvaluateCandidates<C> = (split: BenchSplit, seed: number, configs: readonly C[]) => Promise<EvaluationReport[]>;

function countsOf(y: Int32Array, numClasses: number): Float64Array {
  const counts = new Float64Array(numClasses);
  for (const v of y) counts[v] = (counts[v] as number) + 1;
  return counts;
}

/**
 * The selection split of a training split: train = the kept images, test = the held-out ones (new tensors;
 * free with `disposeSplit`). Stratified, seeded by the split and the run's seed.
 */
export function validationSplit(split: BenchSplit, seed: number): BenchSplit {
  const parts = trainValidationSplit(split.train, { validationFraction: VALIDATION_FRACTION, seed: `fmnist-validation:${split.name}:${seed}` });
  return {
    name: split.name,
    train: parts.train,
    test: parts.validation,
    counts: countsOf(parts.train.y, split.counts.length),
    epochs: split.epochs,
    batchSize: split.batchSize,
  };
}

/**
 * Picks the candidate with the highest balanced validation accuracy (the first on a tie), then trains it on
 * the whole training split and returns its test report with the selection attached.
 */
export async function selectThenTest<C>(
  split: BenchSplit,
  seed: number,
  candidates: readonly Candidate<C>[],
  evaluate: EvaluateCandidates<C>,
): Promise<SelectedReport> {
  if (candidates.length === 0) throw new Error('selectThenTest needs at least one candidate');
  const val = validationSplit(split, seed);
  let scores: number[];
  try {
    scores = (await evaluate(val, seed, candidates.map((c) => c.config))).map((r) => 100 * r.balancedAccuracy);
  } finally {
    disposeSplit(val);
  }
  let best = 0;
  scores.forEach((s, i) => {
    if (s > (scores[best] as number)) best = i;
  });
  const chosen = candidates[best] as Candidate<C>;
  console.log(`    (validation, balanced %: ${candidates.map((c, i) => `${c.name} ${(scores[i] as number).toFixed(2)}`).join(', ')} → ${chosen.name})`);
  const [report] = await evaluate(split, seed, [chosen.config]);
  if (report === undefined) throw new Error('evaluate returned no report');
  const selection: Selection = {
    chosen: chosen.name,
    scores: Object.fromEntries(candidates.map((c, i) => [c.name, scores[i] as number])),
    validationSize: split.train.y.length - val.train.y.length,
  };
  return { ...report, selection };
}

/** The selection attached to a row's report, if the row selected on validation. */
export function selectionOf(report: EvaluationReport): Selection | undefined {
  return (report as Partial<SelectedReport>).selection;
}
