/**
 * Rebuilding a recipe run from its `config`: `recipeFromConfig(run.config)` gives a run that trains to
 * the same numbers on the same data (the Keras get_config / from_config round trip, for whole methods).
 */
import { LongTailError, formatValue, invalid } from '../core/errors.js';
import type { ModelSpec } from '../models/export.js';
import { backboneFromConfig } from '../models/export.js';
import type { Backbone } from '../models/types.js';
import { checkOptionsObject } from './common.js';
import { decoupled, type DecoupledOptions } from './decoupled.js';
import { granularity, type GranularityOptions } from './granularity.js';
import { ltls, type LtlsOptions } from './ltls.js';
import { sau, type SauOptions } from './sau.js';
import { synLt, type SynLtOptions } from './synlt.js';
import type { RecipeRun } from './types.js';

/** The recipes `recipeFromConfig` rebuilds, by `config.kind`. */
export type RecipeKind = 'ltls' | 'decoupled' | 'granularity' | 'synLt' | 'sau';

const RECIPES: Readonly<Record<RecipeKind, (options: never) => RecipeRun>> = {
  ltls: (o: LtlsOptions) => ltls(o),
  decoupled: (o: DecoupledOptions) => decoupled(o),
  granularity: (o: GranularityOptions) => granularity(o),
  synLt: (o: SynLtOptions) => synLt(o),
  sau: (o: SauOptions) => sau(o),
};

/**
 * What `recipeFromConfig` takes besides the JSON config: every option a recipe accepts, for the parts
 * JSON cannot hold (listed in `config.external`: an `encoder`, `auxiliary` or `synthetic` data, a
 * `Synthesizer` instance, custom views, a backbone wrapping user code) and for run settings that are
 * not part of a config (`callbacks`, `checkpoint`, `progress`). An override replaces the config's value.
 */
export type RecipeOverrides = Readonly<Partial<LtlsOptions & DecoupledOptions & SynLtOptions> & Partial<Omit<GranularityOptions, 'tau'>> & Partial<Omit<SauOptions, 'augmentation'>> & Readonly<Record<string, unknown>>>;

/**
 * Rebuilds a recipe run from its JSON `config` (`run.config`, or `history.manifest.recipe.config`): the
 * recipe named by `config.kind` is called with the config's options, then `overrides`. The run's
 * `fit` on the same data gives bit-identical history numbers (on the same backend).
 *
 * A config holds every option the run resolved (defaults filled in) except what JSON cannot hold; those
 * option names are listed in `config.external` and must be given in `overrides`. A user backbone is
 * stored as its `{ kind, config }` when it has one (`mlp`, `cnn`, `identity`) and rebuilt with
 * `backboneFromConfig`, whose initial weights come from a fixed stream: the numbers match when the
 * original backbone was built from that stream (`seededRng(0)`), otherwise pass the same freshly built
 * backbone as `overrides.backbone`. Callbacks, checkpoints and progress output are not part of a config.
 *
 * @throws LongTailError `UNKNOWN_KIND` (not a recipe kind), `MISSING_INPUT` (an `external` option not in
 *   `overrides`), `UNKNOWN_OPTION` (a config key the recipe does not take), and whatever the recipe
 *   throws for bad values; all before any tensor is made.
 * @example
 * ```ts
 * const run = ltls({ seed: 0, numClasses: 10, featureDim: 64, epochs: 5 });
 * await run.fit(train);
 * const again = recipeFromConfig(JSON.parse(JSON.stringify(run.config)));
 * await again.fit(train); // the same history numbers
 * const withEncoder = recipeFromConfig(otherRun.config, { encoder }); // config.external: ['encoder']
 * ```
 */
export function recipeFromConfig(config: Readonly<Record<string, unknown>>, overrides: RecipeOverrides = {}): RecipeRun {
  checkOptionsObject(config);
  if (overrides === null || typeof overrides !== 'object') throw invalid('INVALID_OPTION', 'overrides to be an options object', 'overrides', overrides);
  const { kind, external = [], ...options } = config as { kind?: unknown; external?: unknown } & Record<string, unknown>;
  if (typeof kind !== 'string' || !Object.prototype.hasOwnProperty.call(RECIPES, kind)) {
    throw new LongTailError('UNKNOWN_KIND', `expected a recipe kind, one of ${Object.keys(RECIPES).join(', ')}. Received: kind=${formatValue(kind)}`, { family: 'recipe' });
  }
  if (!Array.isArray(external) || external.some((e) => typeof e !== 'string')) throw invalid('INVALID_OPTION', 'config.external to be an array of option names', 'config.external', external);
  for (const name of external as string[]) {
    if ((overrides as Record<string, unknown>)[name] === undefined) {
      throw new LongTailError('MISSING_INPUT', `expected overrides.${name} (the ${kind} run was given a ${name} that JSON cannot hold). Received: overrides.${name}=undefined`, { name });
    }
  }
  let built: Backbone | null = null;
  const spec = options['backbone'];
  if (spec !== undefined && (overrides as Record<string, unknown>)['backbone'] === undefined) {
    built = backboneFromConfig(spec as ModelSpec);
  }
  try {
    return RECIPES[kind as RecipeKind]({ ...options, ...(built === null ? {} : { backbone: built }), ...overrides } as never);
  } catch (e) {
    built?.dispose();
    throw e;
  }
}
