
import { checkOptions } from '../core/options.js';
import { SUPCON_LOSS_KEYS } from './option-keys.js';
import { checkOneOf, checkPositive } from '../core/validate.js';
import { defineLoss } from './define.js';
import { supervisedContrastive, viewMajorLabels } from './functional/supCon.js';
import type { LossObjectOptions } from './classification.js';
import type { Loss } from './types.js';

/** Which anchors are positives: same label (`supervised`) or other views of the same sample (`simclr`). */
export type SupConMode = 'supervised' | 'simclr';

/** Options of {@link supConLoss}. */
export interface SupConLossOptions extends LossObjectOptions {
  /** @defaultValue 0.07 */
  readonly temperature?: number;
  /** @defaultValue 0.07 (pass the temperature for T/T_base = 1, as SAU does) */
  readonly baseTemperature?: number;
  /** @defaultValue 'supervised' */
  readonly mode?: SupConMode;
}

/**
 * Supervised contrastive loss object over `inputs.projections` ([N, V, d] or [N, d]). Its term carries
 * the view-major anchor labels and the no-positive weights, so `meanReducer()` excludes anchors without a
 * positive and `classWeighted` weights anchors by their label. For an extra contrast set (prototypes),
 * call {@link supervisedContrastive} with `contrast` inside a {@link defineLoss}.
 * @see {@link supervisedContrastive}
 * @example
 * ```ts
 * const loss = supConLoss({ temperature: 0.1, baseTemperature: 0.1 });
 * loss.compute({ projections, labels });
 * ```
 */
export function supConLoss(options: SupConLossOptions = {}): Loss<'projections'> {
  checkOptions('supConLoss options', options, SUPCON_LOSS_KEYS);
  const temperature = checkPositive('temperature', options.temperature ?? 0.07);
  const baseTemperature = checkPositive('baseTemperature', options.baseTemperature ?? 0.07);
  const mode = checkOneOf('mode', options.mode ?? 'supervised', ['supervised', 'simclr']);
  const validate = options.validate ?? true;
  return defineLoss({
    kind: 'supCon',
    config: { temperature, baseTemperature, mode, validate },
    requires: ['projections'],
    ...(options.reducer === undefined ? {} : { reducer: options.reducer }),
    terms: ({ projections, labels, labelValues }) => {
      const { values, weights } = supervisedContrastive(projections, {
        temperature,
        baseTemperature,
        validate,
        ...(mode === 'supervised' ? { labels, ...(labelValues === undefined ? {} : { labelValues }) } : {}),
      });
      const views = projections.shape.length === 3 ? (projections.shape[1] as number) : 1;
      const anchorLabels = viewMajorLabels(labels, views);
      const anchorValues = labelValues === undefined ? {} : { labelValues: tileHost(labelValues, views) };
      return { supCon: { kind: 'perSample', values, weights, labels: anchorLabels, ...anchorValues } };
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
