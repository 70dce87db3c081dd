/**
 * Run manifests: what produced a number. Every `fit` returns one (`History.manifest`) and `save` writes it
 * beside the checkpoint as `manifest.json`: library and tfjs versions, backend and its capabilities, seed,
 * a fingerprint of the data, class counts, the full serialised trainer configuration, a hash of the
 * model's initial weights, and the run's logs. `replayManifest` (train/replay.ts) trains again from a
 * manifest and says whether it reproduces the same numbers.
 */
import * as tf from '@tensorflow/tfjs';
import { capabilities } from '../backends/use.js';
import { fnv1a } from '../core/hash.js';
import type { Json, JsonObject } from '../core/json.js';
import { toConfig } from '../core/registry.js';
import type { LabeledData } from '../data/types.js';
import type { Loss } from '../losses/types.js';
import type { Sampler } from '../samplers/types.js';
import type { Logs } from './callbacks.js';
import type { History, TrainerConfig } from './config.js';

/** The library's version (kept equal to package.json's by a test). */
export const LIBRARY_VERSION = '0.1.0';

/** A cheap fingerprint of training data: sizes, an FNV-1a hash of the labels, and Σx, Σx² of the inputs. */
export interface DataFingerprint {
  readonly rows: number;
  readonly sampleShape: readonly number[];
  readonly labelsHash: string;
  readonly sum: number;
  readonly sumOfSquares: number;
}

/** Everything needed to tell which configuration produced a run's numbers, and to replay it. */
export interface RunManifest {
  readonly format: 'longtail-run-manifest';
  readonly version: 1;
  readonly library: { readonly name: 'longtail'; readonly version: string };
  readonly tfjs: string;
  readonly backend: JsonObject;
  readonly seed: number;
  readonly data: DataFingerprint;
  readonly classCounts: readonly number[];
  /** The serialised trainer configuration (components as `{ kind, config }`). */
  readonly config: JsonObject;
  /** FNV-1a hash of the model's weights when the trainer was created. */
  readonly initialWeights: string;
  /** Why the run cannot be replayed from the manifest alone (functions in the config); empty when it can. */
  readonly notReplayable: readonly string[];
  readonly history: readonly Logs[];
  /** The recipe that built the trainer, when a recipe ran it (`run.kind`, `run.config`). */
  readonly recipe?: { readonly kind: string; readonly config: JsonObject };
  /** How the run ended; `'running'` in a manifest saved with a checkpoint before the last epoch. */
  readonly stopReason: History['stopReason'] | 'running';
}


/** Hash of every variable's float32 bytes, in order. */
export function weightsHash(variables: readonly tf.Variable[]): string {
  let h = 0x811c9dc5;
  for (const v of variables) {
    const values = v.dataSync() as Float32Array;
    h = parseInt(fnv1a(new Uint8Array(values.buffer, values.byteOffset, values.byteLength), h), 16);
  }
  return h.toString(16).padStart(8, '0');
}

/** {@link DataFingerprint} of labelled data (one read of two sums). */
export function fingerprintData(data: LabeledData): DataFingerprint {
  const [sum, sumOfSquares] = tf.tidy(() => {
    const x = tf.cast(data.x, 'float32');
    return tf.stack([tf.sum(x), tf.sum(tf.square(x))]).dataSync();
  });
  return {
    rows: data.y.length,
    sampleShape: data.x.shape.slice(1),
    labelsHash: fnv1a(new Uint8Array(data.y.buffer, data.y.byteOffset, data.y.byteLength)),
    sum: sum as number,
    sumOfSquares: sumOfSquares as number,
  };
}

/** `{ kind, config }` of a component as plain JSON (null when absent). */
export function serialised(value: { readonly kind: string; readonly config?: unknown } | undefined): Json {
  return value === undefined ? null : (JSON.parse(JSON.stringify({ kind: value.kind, config: value.config ?? null })) as Json);
}

/**
 * The trainer configuration as JSON, and what in it cannot be rebuilt from JSON (functions: a custom
 * objective, augmentation, a learning-rate function, loss-weight functions, a model without a config).
 */
export function serialiseTrainerConfig(config: TrainerConfig): { config: JsonObject; notReplayable: string[] } {
  const notReplayable: string[] = [];
  const model = config.model;
  if (model.config === undefined) notReplayable.push(`model ${model.kind} has no config`);
  if (config.objective !== undefined) notReplayable.push('a custom objective (a function)');
  if (config.augment !== undefined) notReplayable.push('augment (a function)');
  if (typeof config.learningRate === 'function') notReplayable.push('learningRate (a function)');
  if (config.trainable !== undefined) notReplayable.push('trainable (a variable list)');
  if (config.views !== undefined && Object.keys(config.views).length > 0) notReplayable.push('views (functions)');
  const loss = config.loss === undefined ? null : (toConfig(config.loss as Loss) as unknown as JsonObject);
  if (loss !== null && JSON.stringify(loss).includes('"kind":"function"')) notReplayable.push('a loss weight schedule function');
  const sampler = config.sampler === undefined ? { kind: 'instance' } : typeof (config.sampler as Sampler).batches === 'function' ? serialised(config.sampler as Sampler) : config.sampler;
  const syn = config.synthesis;
  const out: Record<string, Json> = {
    model: serialised(model),
    loss,
    seed: config.seed,
    epochs: config.epochs,
    batchSize: config.batchSize,
    sampler: sampler as Json,
    optimizer: (config.optimizer ?? null) as Json,
    learningRate: typeof config.learningRate === 'function' ? { kind: 'function' } : ((config.learningRate ?? null) as Json),
    synthesis:
      syn === undefined
        ? null
        : {
            synthesizer: serialised(syn.synthesizer),
            startEpoch: syn.startEpoch ?? 0,
            refreshEvery: syn.refreshEvery ?? 0,
            topUp: (syn.topUp ?? { kind: 'toMax' }) as Json,
            space: syn.space ?? 'latent',
            ...((syn.space ?? 'latent') === 'latent' ? { source: syn.source ?? 'embeddings' } : {}),
          },
    evalBatchSize: config.evalBatchSize ?? 512,
    dropLast: config.dropLast ?? 'auto',
    classCounts: config.classCounts === undefined ? null : Array.from(config.classCounts),
  };
  return { config: out as JsonObject, notReplayable };
}

/** Assembles a manifest (the trainer calls this at the end of `fit`). */
export function buildManifest(args: {
  readonly config: TrainerConfig;
  readonly data: DataFingerprint;
  readonly classCounts: ArrayLike<number>;
  readonly initialWeights: string;
  readonly history: readonly Logs[];
  readonly stopReason: RunManifest['stopReason'];
}): RunManifest {
  const { config, notReplayable } = serialiseTrainerConfig(args.config);
  return {
    format: 'longtail-run-manifest',
    version: 1,
    library: { name: 'longtail', version: LIBRARY_VERSION },
    tfjs: tf.version_core,
    backend: JSON.parse(JSON.stringify(capabilities())) as JsonObject,
    seed: args.config.seed,
    data: args.data,
    classCounts: Array.from(args.classCounts),
    config,
    initialWeights: args.initialWeights,
    notReplayable,
    history: args.history.map((l) => ({ ...l })),
    stopReason: args.stopReason,
  };
}

