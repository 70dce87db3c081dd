/** Replaying a run from its manifest (train/manifest.ts) and checking it gives the same numbers. */
import { capabilities } from '../backends/use.js';
import { formatValue, invalid, LongTailError } from '../core/errors.js';
import type { Json } from '../core/json.js';
import { checkOptions } from '../core/options.js';
import type { LabeledData } from '../data/types.js';
import { lossRegistry } from '../losses/registry.js';
import type { Model } from '../models/types.js';
import { recipeFromConfig, type RecipeOverrides } from '../recipes/config.js';
import { samplerRegistry } from '../samplers/registry.js';
import { synthRegistry } from '../synth/registry.js';
import type { History } from './config.js';
import { fingerprintData, serialised, weightsHash, type RunManifest } from './manifest.js';
import { trainer } from './trainer.js';

/** Options of {@link replayManifest}. */
export interface ReplayOptions {
  /**
   * A freshly built model with the run's initial weights (checked against the manifest's hash). Not
   * needed (and not allowed) for a recipe's manifest (`manifest.recipe`): the recipe rebuilds its model.
   */
  readonly model?: Model;
  /** A recipe's manifest: the options its config lists in `external` (see `recipeFromConfig`). */
  readonly overrides?: RecipeOverrides;
  /** The training data (checked against the manifest's fingerprint). */
  readonly data: LabeledData;
  /** The validation data of the original run, if it had one (its metrics are compared too). */
  readonly validation?: LabeledData;
}

/** What {@link replayManifest} found. */
export interface ReplayResult {
  /** True when every logged number of every epoch is identical. */
  readonly reproduced: boolean;
  /** One line per difference (`epoch 3 loss: 0.41 vs 0.42`) or precondition that differs. */
  readonly differences: readonly string[];
  readonly history: History;
}

/**
 * Trains again from a manifest and compares every logged number with the original run's. The model must
 * be built by the caller (a manifest records its architecture and a hash of its initial weights, not the
 * weights), and the data must match the manifest's fingerprint; the loss, sampler, optimizer, schedule and
 * synthesizer are rebuilt from the manifest's config. Numbers are reproducible on the backend that
 * produced them (`manifest.backend`); another backend is reported as a difference, not an error.
 *
 * @throws LongTailError `INVALID_OPTION` for a manifest that cannot be replayed (`notReplayable`), a model
 *   whose architecture or initial weights differ, or data with another fingerprint.
 * @example
 * ```ts
 * const history = await trainer.fit(train);
 * const again = await replayManifest(history.manifest, { model: buildModel(), data: train });
 * again.reproduced; // true on the same backend
 * ```
 */
export async function replayManifest(manifest: RunManifest, options: ReplayOptions): Promise<ReplayResult> {
  checkOptions('replayManifest options', options, { model: true, data: true, validation: true, overrides: true });
  if (manifest?.format !== 'longtail-run-manifest' || manifest.version !== 1) throw invalid('INVALID_OPTION', 'a longtail-run-manifest version 1', 'manifest.format', manifest?.format);
  if (manifest.recipe !== undefined) return replayRecipe(manifest, options);
  if (manifest.notReplayable.length > 0) {
    throw new LongTailError('INVALID_OPTION', `expected a manifest without functions in its config. Received: ${manifest.notReplayable.join('; ')}`);
  }
  const c = manifest.config as Record<string, Json>;
  if (options.model === undefined) throw new LongTailError('MISSING_INPUT', 'expected options.model (a trainer manifest records the architecture, not the weights). Received: model=undefined');
  const model = options.model;
  if (JSON.stringify(serialised(model)) !== JSON.stringify(c['model'])) {
    throw invalid('INVALID_OPTION', `a model of the manifest's architecture ${JSON.stringify(c['model'])}`, 'model', serialised(model));
  }
  const initial = weightsHash(model.variables);
  if (initial !== manifest.initialWeights) throw invalid('INVALID_OPTION', `a model with the run's initial weights (hash ${manifest.initialWeights})`, 'weights hash', initial);
  const fp = fingerprintData(options.data);
  if (JSON.stringify(fp) !== JSON.stringify(manifest.data)) throw invalid('INVALID_OPTION', `the run's data ${JSON.stringify(manifest.data)}`, 'data', fp);
  const differences: string[] = [];
  const backendNow = capabilities().backend;
  if (backendNow !== manifest.backend['backend']) differences.push(`backend: ${String(manifest.backend['backend'])} then, ${backendNow} now (numbers are reproducible on one backend)`);
  const syn = c['synthesis'] as Record<string, Json> | null;
  const synthesizer = syn === null ? null : synthRegistry.fromConfig(syn['synthesizer'] as never);
  try {
    const loop = trainer({
      model,
      loss: lossRegistry.fromConfig(c['loss'] as never),
      seed: manifest.seed,
      epochs: c['epochs'] as number,
      batchSize: c['batchSize'] as number,
      sampler: samplerRegistry.fromConfig(c['sampler'] as never),
      ...(c['optimizer'] === null ? {} : { optimizer: c['optimizer'] as never }),
      ...(c['learningRate'] === null ? {} : { learningRate: c['learningRate'] as never }),
      ...(synthesizer === null || syn === null
        ? {}
        : { synthesis: { synthesizer, startEpoch: syn['startEpoch'] as number, refreshEvery: syn['refreshEvery'] as number, topUp: syn['topUp'] as never, source: syn['source'] as 'embeddings' | 'inputs' } }),
      evalBatchSize: c['evalBatchSize'] as number,
      dropLast: c['dropLast'] as 'auto',
      ...(c['classCounts'] === null ? {} : { classCounts: c['classCounts'] as number[] }),
      progress: 'none',
    });
    try {
      const history = await loop.fit(options.data, options.validation === undefined ? {} : { validation: options.validation });
      compareEpochs(manifest.history, history, differences);
      return { reproduced: differences.length === 0, differences, history };
    } finally {
      loop.dispose();
    }
  } finally {
    synthesizer?.dispose?.();
  }
}

/** Appends one line per logged number that differs between the manifest's epochs and `history`'s. */
function compareEpochs(then: RunManifest['history'], history: History, differences: string[]): void {
  if (history.epochs.length !== then.length) differences.push(`epochs: ${then.length} then, ${history.epochs.length} now`);
  history.epochs.forEach((logs, e) => {
    const old = then[e] ?? {};
    for (const key of new Set([...Object.keys(old), ...Object.keys(logs)])) {
      const a = old[key];
      const b = logs[key];
      if (!Object.is(a, b)) differences.push(`epoch ${e} ${key}: ${formatValue(a)} then, ${formatValue(b)} now`);
    }
  });
}

/**
 * A recipe's manifest: the recipe is rebuilt from `manifest.recipe.config` (`recipeFromConfig`, with
 * `options.overrides`), fitted on the data, and its history (every stage) compared with the recorded one.
 */
async function replayRecipe(manifest: RunManifest, options: ReplayOptions): Promise<ReplayResult> {
  if (options.model !== undefined) throw invalid('INVALID_OPTION', "no model for a recipe's manifest (the recipe rebuilds its own)", 'model', options.model.kind);
  const recipe = manifest.recipe as NonNullable<RunManifest['recipe']>;
  const fp = fingerprintData(options.data);
  if (JSON.stringify(fp) !== JSON.stringify(manifest.data)) throw invalid('INVALID_OPTION', `the run's data ${JSON.stringify(manifest.data)}`, 'data', fp);
  const differences: string[] = [];
  const backendNow = capabilities().backend;
  if (backendNow !== manifest.backend['backend']) differences.push(`backend: ${String(manifest.backend['backend'])} then, ${backendNow} now (numbers are reproducible on one backend)`);
  const run = recipeFromConfig({ ...recipe.config, kind: recipe.kind }, { progress: 'none', ...(options.overrides ?? {}) });
  try {
    const history = await run.fit(options.data, options.validation === undefined ? {} : { validation: options.validation });
    const then = history.manifest?.recipe?.config;
    if (JSON.stringify(then) !== JSON.stringify(recipe.config)) differences.push(`recipe config: ${JSON.stringify(recipe.config)} then, ${JSON.stringify(then)} now`);
    compareEpochs(manifest.history, history, differences);
    return { reproduced: differences.length === 0, differences, history };
  } finally {
    run.dispose();
  }
}
