import type * as tf from '@tensorflow/tfjs';
import { LongTailError } from '../core/errors.js';
import { checkOptions } from '../core/options.js';
import { SUPCON_LOSS_KEYS } from './option-keys.js';
import { checkOneOf, checkPositive } from '../core/validate.js';
import type { Requirement } from '../models/types.js';
import { defineLoss } from './define.js';
import { supervisedContrastive, viewMajorLabels } from './functional/supCon.js';
import type { LossObjectOptions } from './classification.js';
import type { Loss, LossInputs, LossTerm } from './types.js';

/** Which anchors are positives: same label (`supervised`) or other views of the same sample (`simclr`). */
export type SupConMode = 'supervised' | 'simclr';

/** The model output a contrastive loss reads: the projection head's output, or the backbone's embeddings. */
export type ContrastiveFeatures = Exclude<Requirement, 'logits'>;

/**
 * Anchors without a positive (a class seen once in the batch, one view):
 * - `'zero'`: they count in the mean with loss 0, as SupContrast since its fix 72fd989 (and gm4lt's SCL);
 * - `'exclude'`: they leave the mean (weight 0), as pytorch-metric-learning's `AvgNonZeroReducer` and
 *   the previous default here.
 */
export type NoPositivePolicy = 'zero' | 'exclude';

/** Options of {@link supConLoss}. */
export interface SupConLossOptions<F extends ContrastiveFeatures = ContrastiveFeatures> extends LossObjectOptions {
  /** @defaultValue 0.07 */
  readonly temperature?: number;
  /**
   * The loss is scaled by T / T_base. SupContrast's `SupConLoss(temperature=0.07, base_temperature=0.07)`
   * is `{ temperature: 0.07, baseTemperature: 0.07 }`.
   * @defaultValue the temperature (scale 1, as pytorch-metric-learning's `SupConLoss`)
   */
  readonly baseTemperature?: number;
  /** @defaultValue 'supervised' */
  readonly mode?: SupConMode;
  /**
   * The model output to contrast: `'projections'` ([N, V, d] or [N, d]) or `'embeddings'` ([N, D], one
   * view, e.g. a plain classifier's features as in PML's `SupConLoss()(embeddings, labels)`). `requires`
   * follows the choice. @defaultValue 'projections'
   */
  readonly features?: F;
  /** @defaultValue 'zero' (SupContrast) */
  readonly noPositive?: NoPositivePolicy;
}

/**
 * Supervised contrastive loss object (Khosla et al. 2020; SupContrast `SupConLoss`) over the model output
 * named by `features`. Its term carries the view-major anchor labels (when there are labels) and, with
 * `noPositive: 'exclude'`, the no-positive weights, so `meanReducer()` gives SupContrast's mean over all
 * anchors by default, and `classWeighted` weights anchors by their label. SimCLR mode needs no labels:
 * `supConLoss({ mode: 'simclr' }).compute({ projections })`. For an extra contrast set (prototypes), call
 * {@link supervisedContrastive} with `contrast` inside a {@link defineLoss}.
 * @see {@link supervisedContrastive}
 * @example
 * ```ts
 * supConLoss({ temperature: 0.1 }).compute({ projections, labels });           // PML SupConLoss(temperature=0.1)
 * supConLoss({ temperature: 0.07, baseTemperature: 0.07 });                      // SupContrast's defaults
 * sumLosses([{ loss: crossEntropyLoss() }, { loss: supConLoss({ features: 'embeddings' }), weight: 0.5 }]);
 * ```
 */
export function supConLoss<F extends ContrastiveFeatures = 'projections'>(options: SupConLossOptions<F> = {}): Loss<F> {
  checkOptions('supConLoss options', options, SUPCON_LOSS_KEYS);
  const temperature = checkPositive('temperature', options.temperature ?? 0.07);
  const baseTemperature = checkPositive('baseTemperature', options.baseTemperature ?? temperature);
  const mode = checkOneOf('mode', options.mode ?? 'supervised', ['supervised', 'simclr']);
  const features = checkOneOf<ContrastiveFeatures>('features', options.features ?? 'projections', ['projections', 'embeddings']) as F;
  const noPositive = checkOneOf('noPositive', options.noPositive ?? 'zero', ['zero', 'exclude']);
  const validate = options.validate ?? true;
  return defineLoss<F>({
    kind: 'supCon',
    config: { temperature, baseTemperature, mode, features, noPositive, validate },
    requires: [features],
    ...(options.reducer === undefined ? {} : { reducer: options.reducer }),
    terms: (inputs: LossInputs<F>) => {
      const x = (inputs as unknown as Record<ContrastiveFeatures, tf.Tensor2D | tf.Tensor3D | undefined>)[features];
      if (x === undefined) {
        throw new LongTailError('MISSING_INPUT', `expected ${features} for supConLoss({ features: '${features}' }). Received: ${features}=undefined`, { name: features });
      }
      const { labels, labelValues } = inputs;
      if (mode === 'simclr' && (x.shape.length !== 3 || (x.shape[1] as number) < 2)) {
        // With one view no anchor has a positive, and the loss would be 0 whatever the features.
        throw new LongTailError('SHAPE_MISMATCH', `expected ${features} of shape [N, V ≥ 2, d] in mode 'simclr' (each sample's other views are its positives). Received: ${features}.shape=[${x.shape.join(', ')}]`, { name: features });
      }
      if (mode === 'supervised' && labels === undefined) {
        throw new LongTailError('MISSING_INPUT', "expected labels for supConLoss in mode 'supervised' (mode 'simclr' needs none). Received: labels=undefined", { name: 'labels' });
      }
      const { values, weights } = supervisedContrastive(x, {
        temperature,
        baseTemperature,
        validate,
        ...(mode === 'supervised' ? { labels, ...(labelValues === undefined ? {} : { labelValues }) } : {}),
      });
      const views = x.shape.length === 3 ? (x.shape[1] as number) : 1;
      const term: LossTerm = {
        kind: 'perSample',
        values,
        ...(noPositive === 'exclude' ? { weights } : {}),
        ...(labels === undefined ? {} : { labels: viewMajorLabels(labels, views) }),
        ...(labels === undefined || labelValues === undefined ? {} : { labelValues: tileHost(labelValues, views) }),
      };
      return { supCon: term };
    },
  });
}

/** `values` repeated `views` times, the host twin of {@link viewMajorLabels}. */
function tileHost(values: Int32Array, views: number): Int32Array {
  const out = new Int32Array(values.length * views);
  for (let v = 0; v < views; v++) out.set(values, v * values.length);
  return out;
}

/** Re-exported so users can reduce SupCon outputs by hand. */
export type { SupConOutput } from './functional/supCon.js';
