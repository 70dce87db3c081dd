/** Training callbacks: hooks the trainer calls, plus the built-in progress bar and early stopping. */
import { checkInteger, checkNonNegative } from '../core/validate.js';

/** Numbers logged for a batch or an epoch (loss, named loss terms, learning rate, validation metrics). */
export interface Logs {
  readonly [metric: string]: number;
}

/** Lets a callback end training after the current epoch. */
export interface TrainingControl {
  /** Ends training after the current epoch; `reason` becomes `History.message`. */
  stop(reason: string): void;
}

/** Hooks called by `Trainer.fit`. Every hook is optional; async hooks are awaited (batch hooks are sync). */
export interface Callback {
  /** Before the first epoch of `fit` (or of a resumed run). */
  onTrainBegin?(info: { readonly epochs: number; readonly startEpoch: number; readonly stepsPerEpoch: number }): void | Promise<void>;
  /** Before each epoch (0-based). */
  onEpochBegin?(epoch: number): void | Promise<void>;
  /** Called after every step, synchronously: keep it cheap. */
  onBatchEnd?(step: number, logs: Logs): void;
  /** After each epoch, with its logs (loss, terms, learning rate, validation metrics). */
  onEpochEnd?(epoch: number, logs: Logs, control: TrainingControl): void | Promise<void>;
  /** After the last epoch, an abort or a stop. */
  onTrainEnd?(logs: { readonly epochs: readonly Logs[]; readonly stopReason: string }): void | Promise<void>;
}

/** Options of {@link earlyStopping}. */
export interface EarlyStoppingOptions {
  /** Logged metric to watch, e.g. `'valBalancedAccuracy'` or `'loss'`. */
  readonly monitor: string;
  /** Whether larger (`'max'`) or smaller (`'min'`) is better. */
  readonly mode: 'min' | 'max';
  /** Epochs without improvement before stopping. Default 5. */
  readonly patience?: number;
  /** Smallest change that counts as improvement. Default 0. */
  readonly minDelta?: number;
}

/**
 * Stops training when `monitor` has not improved by `minDelta` for `patience` epochs (Keras EarlyStopping).
 * A missing metric is ignored for that epoch.
 */
export function earlyStopping(options: EarlyStoppingOptions): Callback {
  const patience = checkInteger('patience', options.patience ?? 5, { min: 0 });
  const minDelta = checkNonNegative('minDelta', options.minDelta ?? 0);
  let best = options.mode === 'max' ? -Infinity : Infinity;
  let wait = 0;
  return {
    onTrainBegin() {
      best = options.mode === 'max' ? -Infinity : Infinity;
      wait = 0;
    },
    onEpochEnd(_epoch, logs, control) {
      const value = logs[options.monitor];
      if (value === undefined) return;
      const improved = options.mode === 'max' ? value > best + minDelta : value < best - minDelta;
      if (improved) {
        best = value;
        wait = 0;
      } else if (++wait > patience) {
        control.stop(`early stopping: ${options.monitor} did not improve for ${patience} epochs`);
      }
    },
  };
}

/** A writable text stream (process.stderr in Node). */
export interface TextSink {
  /** Writes text without a newline. */
  write(text: string): unknown;
  readonly isTTY?: boolean;
}

/**
 * A one-line progress bar redrawn on a TTY (epoch, step, loss). Silent when `stream` is not a TTY, so logs
 * and CI output stay clean.
 */
export function progressBar(options: { readonly stream?: TextSink; readonly width?: number } = {}): Callback {
  const stream = options.stream ?? (typeof process !== 'undefined' ? (process.stderr as TextSink) : undefined);
  const width = options.width ?? 24;
  let epochs = 0;
  let perEpoch = 1;
  let epoch = 0;
  let inEpoch = 0;
  const active = stream !== undefined && stream.isTTY === true;
  return {
    onTrainBegin(info) {
      epochs = info.epochs;
      perEpoch = Math.max(1, info.stepsPerEpoch);
    },
    onEpochBegin(e) {
      epoch = e;
      inEpoch = 0;
    },
    onBatchEnd(_step, logs) {
      if (!active) return;
      inEpoch += 1;
      const filled = Math.round((width * Math.min(inEpoch, perEpoch)) / perEpoch);
      const bar = `${'█'.repeat(filled)}${'░'.repeat(Math.max(0, width - filled))}`;
      stream.write(`\repoch ${epoch + 1}/${epochs} ${bar} loss ${(logs['loss'] ?? NaN).toFixed(4)}`);
    },
    onEpochEnd() {
      if (active) stream.write('\n');
    },
  };
}
