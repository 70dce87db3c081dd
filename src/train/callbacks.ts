/** Training callbacks: hooks the trainer calls, plus the built-in progress bar and early stopping. */
import * as tf from '@tensorflow/tfjs';
import { invalid, LongTailError } from '../core/errors.js';
import { checkOptions, type OptionKeys } from '../core/options.js';
import { checkInteger, checkNonNegative, checkOneOf } from '../core/validate.js';
import type { Model } from '../models/types.js';

/** Numbers logged for a batch or an epoch (loss, named loss terms, learning rate, validation metrics). */
export interface Logs {
  readonly [metric: string]: number;
}

/** Lets a callback end training after the current epoch. */
export interface TrainingControl {
  /** Ends training after the current epoch; `reason` becomes `History.message`. */
  stop(reason: string): void;
}

/** What `onTrainBegin` receives. */
export interface TrainBeginInfo {
  readonly epochs: number;
  readonly startEpoch: number;
  /** Steps per epoch over real and synthetic samples (an epoch's own count comes with `onEpochBegin`). */
  readonly stepsPerEpoch: number;
  /** The model being trained, when the trainer passes it (for callbacks that read or restore weights). */
  readonly model?: Model;
}

/** Hooks called by `Trainer.fit`. Every hook is optional; async hooks are awaited (batch hooks are sync). */
export interface Callback {
  /** Before the first epoch of `fit` (or of a resumed run). */
  onTrainBegin?(info: TrainBeginInfo): void | Promise<void>;
  /**
   * Before each epoch (0-based). `info.steps`, when the trainer passes it, is that epoch's step count
   * (it can differ from `stepsPerEpoch` when the synthetic pool changes size).
   */
  onEpochBegin?(epoch: number, info?: { readonly steps?: number }): void | Promise<void>;
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
  /** Epochs in a row without improvement after which training stops (Keras' `patience`). Default 5. */
  readonly patience?: number;
  /** Smallest change that counts as improvement. Default 0. */
  readonly minDelta?: number;
  /**
   * When it stops training, put back the model weights (batch-norm statistics included) of the epoch with
   * the best `monitor` value, as Keras' `restore_best_weights`. Default false.
   */
  readonly restoreBestWeights?: boolean;
}

const EARLY_STOPPING_KEYS: OptionKeys<EarlyStoppingOptions> = { monitor: true, mode: true, patience: true, minDelta: true, restoreBestWeights: true };

/**
 * Stops training when `monitor` has not improved by `minDelta` for `patience` epochs in a row (Keras
 * EarlyStopping). A monitor that is not among the logged metrics is `MISSING_INPUT` at the first epoch's end. With `restoreBestWeights`, the weights of the best epoch are
 * kept (as host copies, taken when an epoch improves) and assigned back when it stops training.
 *
 * @example
 * ```ts
 * const loop = trainer({ ..., callbacks: [earlyStopping({ monitor: 'valBalancedAccuracy', mode: 'max', patience: 3, restoreBestWeights: true })] });
 * ```
 */
export function earlyStopping(options: EarlyStoppingOptions): Callback {
  checkOptions('earlyStopping options', options, EARLY_STOPPING_KEYS);
  if (typeof options.monitor !== 'string' || options.monitor.length === 0) throw invalid('INVALID_OPTION', 'monitor to be a logged metric name', 'monitor', options.monitor);
  checkOneOf('mode', options.mode, ['min', 'max']);
  const patience = checkInteger('patience', options.patience ?? 5, { min: 0 });
  const minDelta = checkNonNegative('minDelta', options.minDelta ?? 0);
  const restore = options.restoreBestWeights ?? false;
  if (typeof restore !== 'boolean') throw invalid('INVALID_OPTION', 'restoreBestWeights to be a boolean', 'restoreBestWeights', restore);
  let best = options.mode === 'max' ? -Infinity : Infinity;
  let wait = 0;
  let model: Model | undefined;
  let bestWeights: Float32Array[] | null = null;
  return {
    onTrainBegin(info) {
      best = options.mode === 'max' ? -Infinity : Infinity;
      wait = 0;
      bestWeights = null;
      model = info.model;
      if (restore && model === undefined) {
        throw new LongTailError('MISSING_INPUT', 'expected a trainer that passes its model to callbacks for restoreBestWeights. Received: onTrainBegin info without model');
      }
    },
    onEpochEnd(_epoch, logs, control) {
      const value = logs[options.monitor];
      if (value === undefined) {
        // A metric that is never logged (a typo, or val* without validation data) would silently disable
        // early stopping; Keras warns, we refuse.
        throw new LongTailError('MISSING_INPUT', `expected earlyStopping's monitor among the logged metrics ${Object.keys(logs).join(', ')}. Received: monitor=${JSON.stringify(options.monitor)}`, {
          name: 'monitor',
        });
      }
      const improved = options.mode === 'max' ? value > best + minDelta : value < best - minDelta;
      if (improved) {
        best = value;
        wait = 0;
        if (restore && model !== undefined) bestWeights = model.variables.map((v) => Float32Array.from(v.dataSync() as Float32Array));
      } else if (++wait >= Math.max(1, patience)) {
        // Keras: stop once `patience` epochs in a row have not improved (patience 0 stops at the first).
        control.stop(`early stopping: ${options.monitor} did not improve for ${wait} epoch${wait === 1 ? '' : 's'}`);
        if (bestWeights !== null && model !== undefined) {
          const saved = bestWeights;
          tf.tidy(() => model?.variables.forEach((v, i) => v.assign(tf.tensor(saved[i] as Float32Array, v.shape, 'float32'))));
        }
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
 * How training reports progress: `'bar'` redraws one line per epoch in place (epoch, step of steps, ETA,
 * running mean loss; validation metrics when the epoch ends), `'epoch'` writes one line per epoch (Keras'
 * `verbose=2`), `'auto'` picks `'bar'` on a TTY and `'epoch'` otherwise, `'none'` writes nothing.
 */
export type ProgressMode = 'auto' | 'bar' | 'epoch' | 'none';

/** Every {@link ProgressMode}. */
export const PROGRESS_MODES: readonly ProgressMode[] = ['auto', 'bar', 'epoch', 'none'];

/** Options of {@link progressLogger}. */
export interface ProgressOptions {
  /** @defaultValue `'auto'` */
  readonly mode?: ProgressMode;
  /** Prefix of every line, e.g. `'stage 1/2'`. @defaultValue none */
  readonly label?: string;
  /**
   * Where to write. @defaultValue `process.stderr` in Node; elsewhere (browsers) nothing is written unless
   * a stream is given (the library never writes to the console itself)
   */
  readonly stream?: TextSink;
  /** Characters of the bar. @defaultValue 20 */
  readonly width?: number;
  /** Clock in milliseconds, for the epoch time and the ETA (inject a fake one in tests). @defaultValue `performance.now` */
  readonly now?: () => number;
}

const PROGRESS_KEYS: OptionKeys<ProgressOptions> = { mode: true, label: true, stream: true, width: true, now: true };

/** Minimum time between two redraws of the bar (the last step of an epoch is always drawn). */
const REDRAW_MS = 100;

function defaultSink(): TextSink {
  if (typeof process !== 'undefined' && process.stderr !== undefined) return process.stderr as TextSink;
  // No process (browsers): no default destination; pass `stream` (e.g. one appending to a page element).
  return { isTTY: false, write: () => undefined };
}

/** Seconds as `0.4s`, `12s`, `3m05s`, `2h01m`. */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '?';
  if (seconds < 10) return `${seconds.toFixed(1)}s`;
  const s = Math.round(seconds);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

/**
 * `loss` then the validation metrics (`val*`) of an epoch's logs, as ` - name value` pairs; a NaN
 * validation metric (a shot group without classes) is left out.
 */
function epochMetrics(logs: Logs): string {
  const keys = Object.keys(logs).filter((k) => k === 'loss' || (k.startsWith('val') && !Number.isNaN(logs[k])));
  return keys.map((k) => ` - ${k} ${(logs[k] as number).toFixed(4)}`).join('');
}

/**
 * Writes training progress (Keras' `ProgbarLogger`): with `mode: 'bar'` one line per epoch redrawn in
 * place with `\r` — `epoch 3/30 [███████░░░] 28/40 ETA 1.4s - loss 0.8123` (loss is the running mean of
 * the epoch's step losses) — and completed at the end of the epoch with its time, mean loss and validation
 * metrics; with `mode: 'epoch'` only that completed line, one per epoch
 * (`epoch 3/30 - 1.2s - loss 0.8123 - valBalancedAccuracy 0.7012`); `'auto'` (default) draws the bar when
 * the stream is a TTY and epoch lines otherwise; `'none'` writes nothing. Accepts a mode or an options
 * object. The trainer adds one from its `progress` option; recipes label their stages with `label`.
 *
 * @throws LongTailError `INVALID_OPTION` for an unknown mode, a non-string label or a bad width;
 *   `UNKNOWN_OPTION` for an unknown key.
 * @example
 * ```ts
 * trainer({ ...config, progress: 'epoch' });                      // one line per epoch
 * trainer({ ...config, progress: 'none', callbacks: [progressLogger({ mode: 'bar', label: 'warm-up' })] });
 * ```
 */
export function progressLogger(options: ProgressMode | ProgressOptions = {}): Callback {
  const o = typeof options === 'string' ? { mode: options } : checkOptions('progressLogger options', options, PROGRESS_KEYS);
  const requested = checkOneOf('progress', o.mode ?? 'auto', PROGRESS_MODES);
  if (o.label !== undefined && typeof o.label !== 'string') throw invalid('INVALID_OPTION', 'label to be a string', 'label', o.label);
  const width = checkInteger('width', o.width ?? 20, { min: 1 });
  if (requested === 'none') return {};
  const stream = o.stream ?? defaultSink();
  const now = o.now ?? (() => performance.now());
  const mode = requested === 'auto' ? (stream.isTTY === true ? 'bar' : 'epoch') : requested;
  const prefix = o.label === undefined || o.label === '' ? '' : `${o.label} · `;
  let epochs = 0;
  let announced = 1;
  let steps = 1;
  let epoch = 0;
  let done = 0;
  let lossSum = 0;
  let started = 0;
  let lastDraw = -Infinity;
  let drawnLength = 0;
  let open = false;

  const head = () => `${prefix}epoch ${epoch + 1}/${epochs}`;
  const draw = (line: string, end: string) => {
    // Pad over the previous, longer line: \r returns the cursor but does not clear.
    stream.write(`\r${line}${' '.repeat(Math.max(0, drawnLength - line.length))}${end}`);
    drawnLength = end === '' ? line.length : 0;
    open = end === '';
  };
  return {
    onTrainBegin(info) {
      epochs = info.epochs;
      announced = Math.max(1, info.stepsPerEpoch);
    },
    onEpochBegin(e, info) {
      epoch = e;
      steps = info?.steps !== undefined && info.steps > 0 ? info.steps : announced;
      done = 0;
      lossSum = 0;
      started = now();
      lastDraw = -Infinity;
    },
    onBatchEnd(_step, logs) {
      done += 1;
      lossSum += logs['loss'] ?? NaN;
      // More steps than announced (e.g. a grown synthetic pool): the total follows the count.
      if (done > steps) steps = done;
      if (mode !== 'bar') return;
      const t = now();
      if (t - lastDraw < REDRAW_MS && done < steps) return;
      lastDraw = t;
      const filled = Math.round((width * done) / steps);
      const bar = `[${'█'.repeat(filled)}${'░'.repeat(width - filled)}]`;
      const eta = ((t - started) / 1000 / done) * (steps - done);
      const digits = String(steps).length;
      draw(`${head()} ${bar} ${String(done).padStart(digits)}/${steps} ETA ${formatDuration(eta)} - loss ${(lossSum / done).toFixed(4)}`, '');
    },
    onEpochEnd(_e, logs) {
      const line = `${head()} - ${formatDuration((now() - started) / 1000)}${epochMetrics(logs)}`;
      if (mode === 'bar') draw(line, '\n');
      else stream.write(`${line}\n`);
    },
    onTrainEnd() {
      // An abort mid-epoch leaves the bar open: end its line.
      if (open) stream.write('\n');
      open = false;
      drawnLength = 0;
    },
  };
}

/**
 * The progress bar of earlier versions: {@link progressLogger} in `'auto'` mode.
 * @deprecated Use `progressLogger({ mode: 'bar' })`, or the trainer's `progress` option.
 */
export function progressBar(options: { readonly stream?: TextSink; readonly width?: number } = {}): Callback {
  return progressLogger({ ...options, mode: 'auto' });
}
