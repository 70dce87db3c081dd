import type { Disposable } from '../core/tensors.js';
import type { LabeledData } from '../data/types.js';
import type { EvaluationReport } from '../metrics/report.js';
import type { Model } from '../models/types.js';
import type { EvaluateOptions, FitOptions, History, Trainer } from '../train/trainer.js';

/**
 * A published method, ready to run: the model and trainer(s) it configured, plus `fit`/`evaluate` that
 * run the method's full schedule (all stages) and its inference rule (post-hoc adjustment, masked heads).
 * Disposing a recipe disposes everything it created, never the caller's data.
 */
export interface RecipeRun extends Disposable {
  readonly kind: string;
  /** The recipe's resolved options, as JSON, for logging and replay. */
  readonly config: Readonly<Record<string, unknown>>;
  readonly model: Model;
  /** The trainer of the current (last) stage. */
  readonly trainer: Trainer;
  /** Runs every stage of the method on `train` (the caller keeps ownership of the data). */
  fit(train: LabeledData, options?: FitOptions): Promise<History>;
  /** Evaluates with the method's inference rule (post-hoc adjustment, masked heads, ...). */
  evaluate(test: LabeledData, options?: EvaluateOptions): EvaluationReport;
  /** Frees every tensor and variable the recipe created; idempotent. */
  dispose(): void;
}
